import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { ERROR_CODES, HttpError } from "./http-error.js";

/** The request id of one request: the one the client sent (echoed in error bodies), or a generated one. */
export interface RequestIds {
  /** What goes in the `X-Request-Id` response header. */
  readonly header: string;
  /** What goes in error bodies as `requestId`: only an id the client sent, like the reference server. */
  readonly echo: string | undefined;
}

/** Request-id headers the reference server reads, in order (Node lower-cases names, so `X-Request-ID` is the first). */
const REQUEST_ID_HEADERS = ["x-request-id", "request-id"] as const;
/** What a client's request id may look like to be echoed: visible ASCII, 1 to 128 characters. */
const REQUEST_ID_PATTERN = /^[\x21-\x7e]{1,128}$/;

/** The request's id: the client's when it is sane, else a fresh UUID that is not echoed in bodies. */
export function requestIdsOf(req: IncomingMessage): RequestIds {
  for (const name of REQUEST_ID_HEADERS) {
    const value = req.headers[name];
    if (typeof value === "string" && REQUEST_ID_PATTERN.test(value)) return { header: value, echo: value };
  }
  return { header: randomUUID(), echo: undefined };
}

/** Writes a JSON body with its length. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const bytes = Buffer.from(`${JSON.stringify(body)}\n`, "utf8");
  res.writeHead(status, { ...headers, "Content-Type": "application/json", "Content-Length": String(bytes.byteLength) });
  res.end(bytes);
}

/** Writes a response without a body (200 empty, 204). */
export function sendEmpty(res: ServerResponse, status: number): void {
  if (status === 204) res.writeHead(204);
  else res.writeHead(status, { "Content-Length": "0" });
  res.end();
}

/** Writes a plain-text body, like Go's `http.Error`. */
export function sendText(res: ServerResponse, status: number, text: string): void {
  const bytes = Buffer.from(text, "utf8");
  res.writeHead(status, {
    "Content-Type": "text/plain; charset=utf-8",
    "X-Content-Type-Options": "nosniff",
    "Content-Length": String(bytes.byteLength),
  });
  res.end(bytes);
}

/** Writes the error body of the reference server: `{"error":{"code","message","requestId"?,"details"?}}`. */
export function sendError(res: ServerResponse, error: HttpError, ids: RequestIds): void {
  const body: { code: string; message: string; requestId?: string; details?: Readonly<Record<string, unknown>> } = {
    code: error.code,
    message: error.message,
  };
  if (ids.echo !== undefined) body.requestId = ids.echo;
  if (error.details !== undefined && Object.keys(error.details).length > 0) body.details = error.details;
  sendJson(res, error.status, { error: body }, error.closeConnection ? { Connection: "close" } : {});
}

/**
 * Reads a whole request body of at most `limit` bytes. A declared `Content-Length` over the
 * limit is refused before reading (`413 BODY_TOO_LARGE`, connection closed); a chunked body is
 * counted as it arrives.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
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
 * The request body as chunks, read with backpressure. Unlike iterating the request itself,
 * leaving the loop early does not destroy the request (and with it the socket), so the rest of
 * the body can still be drained and an answer written.
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

function tooLarge(limit: number): HttpError {
  return new HttpError(413, ERROR_CODES.BODY_TOO_LARGE, `request body is larger than ${limit} bytes`, { closeConnection: true });
}

/** The request's `Content-Length`, when it sent a valid one. */
export function declaredLength(req: IncomingMessage): number | undefined {
  const raw = req.headers["content-length"];
  if (raw === undefined || !/^\d{1,16}$/.test(raw)) return undefined;
  return Number(raw);
}

/** Parses a JSON object body; anything else (empty, not JSON, not an object) is `400 BAD_REQUEST`. */
export function parseJsonObject(body: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8"));
  } catch {
    throw new HttpError(400, ERROR_CODES.BAD_REQUEST, body.byteLength === 0 ? "invalid JSON body: the body is empty" : "invalid JSON body");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HttpError(400, ERROR_CODES.BAD_REQUEST, "invalid JSON body: expected an object");
  }
  return value as Record<string, unknown>;
}

/**
 * Reads and throws away what is left of a request body, up to `limit` bytes, so that a client
 * that sends its whole body before reading (like Python's urllib) sees the answer rather than a
 * reset. Resolves `true` when the body ended, `false` when it was longer (the caller then closes
 * the connection).
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
