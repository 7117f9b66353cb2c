import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { readBoundedBody, sendJson as sendJsonBody } from "@sandkit/core/server-kit";
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

/** Writes a JSON body with its length and a trailing newline, like Go's `json.Encoder`. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  sendJsonBody(res, status, body, { headers, trailingNewline: true });
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
  return readBoundedBody(req, limit, tooLarge);
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, ERROR_CODES.BODY_TOO_LARGE, `request body is larger than ${limit} bytes`, { closeConnection: true });
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
