import { Readable } from "node:stream";
import { pipeline } from "node:stream";
import { createGzip, gunzipSync } from "node:zlib";
import { FileNotFoundError } from "@sandkit/core";
import { BACKEND_NAME } from "./constants.js";

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

/** Whether `bytes` start with gzip's magic number. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 2 && bytes[0] === GZIP_MAGIC_0 && bytes[1] === GZIP_MAGIC_1;
}

function noop(): void {}

/**
 * Makes sure an upload body is gzip-compressed: the reference server unpacks uploads with
 * `tar -xz` and fails on a plain tar (`500 UPLOAD_EXEC_FAILED`). A source that already starts with
 * gzip's magic number passes through untouched; anything else is compressed on the fly (level 1:
 * the point is the format, not the ratio). Streams with backpressure; an error of the source
 * fails the result with that same error.
 */
export function ensureGzip(source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  return (async function* gzipped(): AsyncGenerator<Uint8Array> {
    const iterator = source[Symbol.asyncIterator]();
    const head: Uint8Array[] = [];
    let headBytes = 0;
    let ended = false;
    while (headBytes < 2) {
      const next = await iterator.next();
      if (next.done === true) {
        ended = true;
        break;
      }
      head.push(next.value);
      headBytes += next.value.byteLength;
    }
    const first = head.length === 1 ? head[0]! : Buffer.concat(head);
    const rest = async function* (): AsyncGenerator<Uint8Array> {
      if (first.byteLength > 0) yield first;
      if (ended) return;
      for (;;) {
        const next = await iterator.next();
        if (next.done === true) return;
        yield next.value;
      }
    };
    try {
      if (isGzip(first)) {
        yield* rest();
        return;
      }
      const gzip = createGzip({ level: 1, chunkSize: 64 * 1024 });
      pipeline(Readable.from(rest(), { objectMode: false }), gzip, noop);
      yield* gzip as AsyncIterable<Uint8Array>;
    } finally {
      // Stopped early (the request failed): let the source free what it holds.
      if (!ended) await iterator.return?.().catch(noop);
    }
  })();
}

/** How much of a download is looked at before deciding whether it is empty. */
const PEEK_BYTES = 1024;

/**
 * Opens a downloaded archive: reads its first bytes and fails with `FileNotFoundError` when the
 * server sent no archive at all. A NoxRunner server streams `tar -cz` of `src` after it has already
 * answered 200, so a `src` that does not exist (or is not a readable directory) comes back as a
 * 200 with an empty body, or with a gzip stream that holds no bytes. A real directory, even an
 * empty one, always gives a non-empty archive (its `./` entry and the end-of-archive blocks).
 * Everything else is returned as a stream, to be extracted as hostile input.
 */
export async function openDownload(body: Readable, src: string, sandboxId: string): Promise<AsyncIterable<Uint8Array>> {
  const iterator = body[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  const head: Uint8Array[] = [];
  let headBytes = 0;
  let ended = false;
  try {
    while (headBytes < PEEK_BYTES) {
      const next = await iterator.next();
      if (next.done === true) {
        ended = true;
        break;
      }
      head.push(next.value);
      headBytes += next.value.byteLength;
    }
  } catch (error) {
    body.destroy();
    throw error;
  }
  if (ended && holdsNothing(Buffer.concat(head, headBytes))) {
    throw new FileNotFoundError(`${src} does not exist in the sandbox, or is not a readable directory (the server sent no archive)`, {
      path: src,
      backend: BACKEND_NAME,
      operation: "files.download",
      sandboxId,
    });
  }
  return (async function* archive(): AsyncGenerator<Uint8Array> {
    try {
      yield* head;
      if (ended) return;
      for (;;) {
        const next = await iterator.next();
        if (next.done === true) return;
        yield next.value;
      }
    } finally {
      // Also when the reader stops early: free the connection and the request's deadline.
      if (!body.destroyed) body.destroy();
    }
  })();
}

/** Whether a whole (small) body is empty, or a gzip stream that decompresses to nothing. */
function holdsNothing(bytes: Buffer): boolean {
  if (bytes.byteLength === 0) return true;
  if (!isGzip(bytes)) return false;
  try {
    return gunzipSync(bytes, { maxOutputLength: 1024 * 1024 }).byteLength === 0;
  } catch {
    // Corrupt or too large: let the extractor say what is wrong with it.
    return false;
  }
}
