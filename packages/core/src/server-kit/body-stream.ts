import type { IncomingMessage } from "node:http";

/**
 * The request body as chunks, read with backpressure. Unlike iterating the request itself,
 * leaving the loop early does not destroy the request (and with it the socket), so the rest of
 * the body can still be drained and an answer written. Throws when the request is aborted
 * before its end.
 */
export async function* bodyChunks(req: IncomingMessage): AsyncGenerator<Buffer> {
  for (;;) {
    const chunk = req.read() as Buffer | null;
    if (chunk !== null) {
      yield chunk;
      continue;
    }
    if (req.readableEnded) return;
    if (req.destroyed) throw new Error("the request was aborted");
    await nextReadable(req);
  }
}

/** Resolves when `req` has data or has ended; rejects when it fails or closes first. */
function nextReadable(req: IncomingMessage): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      req.off("readable", onReady);
      req.off("end", onReady);
      req.off("error", onError);
      req.off("close", onClose);
    };
    const onReady = (): void => {
      cleanup();
      resolve();
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onClose = (): void => {
      cleanup();
      if (req.readableEnded) resolve();
      else reject(new Error("the request was aborted"));
    };
    req.on("readable", onReady);
    req.on("end", onReady);
    req.on("error", onError);
    req.on("close", onClose);
  });
}

/** The request's `Content-Length`, when it sent a valid one (1 to 16 decimal digits). */
export function declaredLength(req: IncomingMessage): number | undefined {
  const raw = req.headers["content-length"];
  if (raw === undefined || !/^\d{1,16}$/.test(raw)) return undefined;
  return Number(raw);
}

/**
 * Reads a whole request body of at most `limit` bytes. A declared `Content-Length` over the
 * limit is refused before anything is read; a chunked body is counted as it arrives and refused
 * as soon as it passes the limit. The refusal is the error `tooLarge(limit)` makes, so each
 * server answers in its own wire format (it should close the connection: the body was not read
 * to its end).
 */
export async function readBoundedBody(req: IncomingMessage, limit: number, tooLarge: (limit: number) => Error): Promise<Buffer> {
  const declared = declaredLength(req);
  if (declared !== undefined && declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of bodyChunks(req)) {
    total += chunk.byteLength;
    if (total > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

/**
 * Reads and throws away what is left of a request body, up to `limit` bytes, so that a client
 * that sends its whole body before reading (like Python's urllib) sees the answer rather than a
 * reset. Resolves `true` when the body ended, `false` when it was longer or broke (the caller
 * then closes the connection).
 */
export async function drainBody(req: IncomingMessage, limit: number): Promise<boolean> {
  if (req.readableEnded || req.complete) return true;
  let total = 0;
  try {
    for await (const chunk of bodyChunks(req)) {
      total += chunk.byteLength;
      if (total > limit) return false;
    }
    return true;
  } catch {
    return false;
  }
}
