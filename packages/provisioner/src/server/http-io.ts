import type { IncomingMessage, ServerResponse } from "node:http";
import { readBoundedBody, sendJson, sendText } from "@sandkit/core/server-kit";

/**
 * A failure a handler answers with: the status and the body it gets. `json` bodies are sent as
 * they are; a string is sent as plain text.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly body: unknown;
  /** Whether the connection is closed after the answer (the rest of the request body was not read). */
  readonly closeConnection: boolean;

  constructor(status: number, body: unknown, options: { readonly closeConnection?: boolean } = {}) {
    super(typeof body === "string" ? body : `HTTP ${status}`);
    this.name = "HttpError";
    this.status = status;
    this.body = body;
    this.closeConnection = options.closeConnection ?? false;
  }
}

/** One entry of a FastAPI/pydantic v2 validation error list. */
export interface ValidationDetail {
  readonly type: string;
  readonly loc: readonly (string | number)[];
  readonly msg: string;
  readonly input?: unknown;
}

/** `422 {"detail":[...]}`, the body FastAPI gives a request that fails schema validation. */
export function unprocessable(details: readonly ValidationDetail[]): HttpError {
  return new HttpError(422, { detail: details });
}

/** `{"detail": message}` with `status`, the body of FastAPI's `HTTPException`. */
export function detailError(status: number, message: string): HttpError {
  return new HttpError(status, { detail: message });
}

/** Writes the answer of an {@link HttpError}. */
export function sendHttpError(res: ServerResponse, error: HttpError): void {
  const headers: Record<string, string> = error.closeConnection ? { Connection: "close" } : {};
  if (typeof error.body === "string") sendText(res, error.status, error.body, { headers });
  else sendJson(res, error.status, error.body, { headers });
}

/**
 * Reads a whole request body of at most `limit` bytes. A declared `Content-Length` over the
 * limit is refused before reading (`413`, connection closed); a chunked body is counted as it arrives.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return readBoundedBody(req, limit, tooLarge);
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, { detail: `request body is larger than ${limit} bytes` }, { closeConnection: true });
}

/**
 * Reads a JSON object body the way FastAPI does for a pydantic model: a body that is not JSON
 * gives `422 json_invalid`, one that is not an object gives `422 model_attributes_type`, a
 * missing body gives `422 missing`. A `Content-Type` other than JSON (when one is sent) is `422`.
 */
export async function readJsonObject(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const contentType = req.headers["content-type"];
  const body = await readBody(req, limit);
  if (body.byteLength === 0) throw unprocessable([{ type: "missing", loc: ["body"], msg: "Field required", input: null }]);
  if (contentType !== undefined && !/^application\/(?:[\w.+-]*\+)?json\b/i.test(contentType)) {
    throw unprocessable([{ type: "model_attributes_type", loc: ["body"], msg: "Input should be a valid dictionary or object to extract fields from", input: body.toString("utf8").slice(0, 200) }]);
  }
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8"));
  } catch {
    throw unprocessable([{ type: "json_invalid", loc: ["body", 0], msg: "JSON decode error" }]);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw unprocessable([{ type: "model_attributes_type", loc: ["body"], msg: "Input should be a valid dictionary or object to extract fields from", input: value }]);
  }
  return value as Record<string, unknown>;
}
