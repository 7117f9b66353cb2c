import { pipeline, Readable } from "node:stream";
import { createGunzip } from "node:zlib";

/** Thrown through the archive layer when the gzip layer of an upload is corrupt. */
export class CorruptGzipError extends Error {
  constructor(cause: unknown) {
    super("the archive is not valid gzip", { cause });
    this.name = "CorruptGzipError";
  }
}

const BLOCK = 512;

/**
 * Passes a tar or tar.gz stream on as plain tar, with one change: when the first entry is a
 * directory named `/` (or only slashes), as in archives made by Python's `tarfile.add("/")` (the
 * upstream test archives hold one), it is renamed `./`, the archive root, which is what Python
 * makes of it. Every other entry, including a later `/`, is left to the archive layer's checks,
 * which refuse absolute names. A corrupt gzip layer fails the stream with {@link CorruptGzipError}
 * and sets `corruptGzip()` (told by the flag: the archive layer may wrap what its source threw).
 */
export function tolerateRootEntry(source: AsyncIterable<Uint8Array>): { readonly chunks: AsyncGenerator<Uint8Array>; readonly corruptGzip: () => boolean } {
  let corrupt = false;
  const chunks = rootTolerant(source, () => {
    corrupt = true;
  });
  return { chunks, corruptGzip: () => corrupt };
}

async function* rootTolerant(source: AsyncIterable<Uint8Array>, onCorrupt: () => void): AsyncGenerator<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headBytes = 0;
  let done = false;
  while (headBytes < 2) {
    const next = await iterator.next();
    if (next.done === true) {
      done = true;
      break;
    }
    head.push(Buffer.from(next.value));
    headBytes += next.value.byteLength;
  }
  const rest = async function* (): AsyncGenerator<Uint8Array> {
    yield* head;
    if (done) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) return;
      yield next.value;
    }
  };
  const first = Buffer.concat(head);
  const gzipped = first.byteLength >= 2 && first[0] === 0x1f && first[1] === 0x8b;
  let tar: AsyncIterable<Uint8Array> = rest();
  if (gzipped) {
    // pipeline: when the reader stops early (limits), destroying the gunzip also ends the source.
    tar = pipeline(Readable.from(rest(), { objectMode: false }), createGunzip(), () => undefined);
  }
  let pending: Buffer = Buffer.alloc(0);
  let patched = false;
  try {
    for await (const chunk of tar) {
      if (patched) {
        yield chunk;
        continue;
      }
      pending = Buffer.concat([pending, chunk as Buffer]);
      if (pending.byteLength < BLOCK) continue;
      patchRootHeader(pending.subarray(0, BLOCK));
      patched = true;
      yield pending;
    }
  } catch (error) {
    if (gzipped && String((error as { code?: unknown }).code).startsWith("Z_")) {
      onCorrupt();
      throw new CorruptGzipError(error);
    }
    throw error;
  }
  if (!patched && pending.byteLength > 0) yield pending;
}

/** Renames a first header that is a directory named only slashes to `./`, fixing its checksum. */
function patchRootHeader(header: Buffer): void {
  const nul = header.indexOf(0);
  const name = header.subarray(0, nul === -1 || nul > 100 ? 100 : nul).toString("latin1");
  const typeflag = String.fromCharCode(header[156]!);
  const ustar = header.subarray(257, 262).toString("latin1") === "ustar";
  const prefix = ustar ? header.subarray(345, 500).toString("latin1").replace(/\0.*$/s, "") : "";
  if (!/^\/+$/.test(name) || typeflag !== "5" || prefix !== "") return;
  header.fill(0, 0, 100);
  header.write("./", 0, "latin1");
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
}
