import type { IncomingMessage, ServerResponse } from "node:http";

/** An answer the server gives on purpose: a status and a plain-text body (upstream style). */
export class HttpError extends Error {
  /** The HTTP status. */
  readonly status: number;
  /** Extra response headers (e.g. `Allow`). */
  readonly headers: Readonly<Record<string, string>>;
  /** Whether the connection must be closed (the body was not read to its end). */
  readonly closeConnection: boolean;
  constructor(status: number, message: string, options: { readonly headers?: Readonly<Record<string, string>>; readonly closeConnection?: boolean } = {}) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.headers = options.headers ?? {};
    this.closeConnection = options.closeConnection ?? false;
  }
}

/** Writes a JSON body with its length (Django's `JsonResponse`: no trailing newline). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const bytes = Buffer.from(JSON.stringify(body), "utf8");
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": String(bytes.byteLength) });
  res.end(bytes);
}

/**
 * Writes a plain-text error body. Upstream sends these with `text/html; charset=utf-8`; this
 * server says `text/plain` (the bytes are the same, and a browser must not render them as HTML).
 */
export function sendText(res: ServerResponse, status: number, text: string, headers: Readonly<Record<string, string>> = {}): void {
  const bytes = Buffer.from(text, "utf8");
  res.writeHead(status, {
    ...headers,
    "Content-Type": "text/plain; charset=utf-8",
    "X-Content-Type-Options": "nosniff",
    "Content-Length": String(bytes.byteLength),
  });
  res.end(bytes);
}

/** Writes a response with no body. */
export function sendEmpty(res: ServerResponse, status: number, headers: Readonly<Record<string, string>> = {}): void {
  res.writeHead(status, { ...headers, "Content-Length": "0" });
  res.end();
}

/**
 * The request body as chunks, read with backpressure. Leaving the loop early does not destroy
 * the request, so the rest can still be drained and an answer written.
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

/** The request's `Content-Length`, when it sent a valid one. */
export function declaredLength(req: IncomingMessage): number | undefined {
  const raw = req.headers["content-length"];
  if (raw === undefined || !/^\d{1,16}$/.test(raw)) return undefined;
  return Number(raw);
}

/**
 * Reads and throws away what is left of a request body, up to `limit` bytes, so a client that
 * sends its whole body before reading sees the answer rather than a reset. `false` when the
 * body was longer or broke (the caller then closes the connection).
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
