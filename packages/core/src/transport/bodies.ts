import { Readable } from "node:stream";
import type { Dispatcher } from "undici";
import type { RequestBody } from "./types.js";

/** A request body ready to be handed to undici, once per attempt. */
export interface PreparedBody {
  /** The body for one attempt. */
  forAttempt(): string | Uint8Array | AsyncIterable<Uint8Array> | null;
  /** Whether another attempt may send the body again (a stream that has begun cannot be replayed). */
  readonly replayable: boolean;
  /** Frees a stream body that was never sent (after the request failed for good). */
  discard(reason: unknown): void;
}

const NO_BODY: PreparedBody = {
  forAttempt: () => null,
  replayable: true,
  discard: () => {},
};

class FixedBody implements PreparedBody {
  readonly replayable = true;
  readonly #value: string | Uint8Array;
  constructor(value: string | Uint8Array) {
    this.#value = value;
  }
  forAttempt(): string | Uint8Array {
    return this.#value;
  }
  discard(): void {}
}

/**
 * A streamed body. Each attempt gets a fresh async generator over the same source; the source is
 * only pulled when undici starts writing the body, so an attempt that failed before that (a refused
 * connection) leaves the source untouched and the next attempt can still send it.
 */
class StreamBody implements PreparedBody {
  #started = false;
  readonly #source: AsyncIterable<Uint8Array>;
  constructor(source: AsyncIterable<Uint8Array>) {
    this.#source = source;
  }
  get replayable(): boolean {
    return !this.#started;
  }
  forAttempt(): AsyncIterable<Uint8Array> {
    const source = this.#source;
    const mark = (): void => {
      this.#started = true;
    };
    return (async function* pull() {
      mark();
      yield* source;
    })();
  }
  discard(reason: unknown): void {
    if (!this.#started && this.#source instanceof Readable && !this.#source.destroyed) {
      this.#source.destroy(reason instanceof Error ? reason : undefined);
    }
  }
}

/** Prepares `body` for sending, possibly more than once. */
export function prepareBody(body: RequestBody | undefined): PreparedBody {
  if (body === undefined) return NO_BODY;
  if (typeof body === "string" || body instanceof Uint8Array) return new FixedBody(body);
  return new StreamBody(body);
}

type BodyReadable = Dispatcher.ResponseData["body"];

function noop(): void {}

/** Drops a body we will not read (undici then closes its connection); never raises an unhandled error. */
export function discardBody(body: BodyReadable): void {
  if (body.destroyed) return;
  body.on("error", noop);
  body.destroy();
}

/** Thrown by {@link readBody} past the limit (the caller turns it into a `ProtocolError`). */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`the response body is larger than ${limit} bytes`);
  }
}

/**
 * Reads a whole body, up to `limit` bytes. A declared `content-length` above the limit fails
 * before anything is read; without one, reading stops (and the connection is dropped) as soon as
 * the limit is passed.
 */
export async function readBody(body: BodyReadable, limit: number, contentLength: string | string[] | undefined): Promise<Buffer> {
  const declared = typeof contentLength === "string" ? Number(contentLength) : Number.NaN;
  if (Number.isFinite(declared)) {
    if (declared > limit) {
      discardBody(body);
      throw new BodyTooLargeError(limit);
    }
    const bytes = await body.bytes();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    total += chunk.byteLength;
    if (total > limit) {
      discardBody(body);
      throw new BodyTooLargeError(limit);
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

/**
 * Reads at most `limit` bytes of a body (for an error excerpt) and drops the rest. Never throws:
 * a body that breaks half-way gives what arrived.
 */
export async function readHead(body: BodyReadable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      const room = limit - total;
      if (chunk.byteLength >= room) {
        chunks.push(chunk.subarray(0, room));
        total += room;
        break;
      }
      chunks.push(chunk);
      total += chunk.byteLength;
    }
  } catch {
    // Keep what arrived.
  } finally {
    discardBody(body);
  }
  return Buffer.concat(chunks, total);
}

/** {@link readBody} decoded as UTF-8 (undefined bytes become U+FFFD). */
export function readText(body: BodyReadable, limit: number, contentLength: string | string[] | undefined): Promise<string> {
  const declared = typeof contentLength === "string" ? Number(contentLength) : Number.NaN;
  if (Number.isFinite(declared) && declared <= limit) return body.text();
  return readBody(body, limit, contentLength).then((bytes) => bytes.toString("utf8"));
}
