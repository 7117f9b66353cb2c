import type { ServerResponse } from "node:http";

/** Extra response headers; the ones a helper sets itself (`Content-Type`, `Content-Length`) win. */
export type ResponseHeaders = Readonly<Record<string, string>>;

/** How {@link sendJson} writes its body. */
export interface JsonResponseOptions {
  /** Extra response headers. */
  readonly headers?: ResponseHeaders;
  /** Whether the body ends with `\n` (Go's `json.Encoder` does; Django and FastAPI do not). Default `false`. */
  readonly trailingNewline?: boolean;
}

/** Writes `body` as JSON with `Content-Type: application/json` and its `Content-Length`, and ends the response. */
export function sendJson(res: ServerResponse, status: number, body: unknown, options: JsonResponseOptions = {}): void {
  const text = JSON.stringify(body);
  const bytes = Buffer.from(options.trailingNewline === true ? `${text}\n` : text, "utf8");
  res.writeHead(status, { ...options.headers, "Content-Type": "application/json", "Content-Length": String(bytes.byteLength) });
  res.end(bytes);
}

/** How {@link sendText} writes its body. */
export interface TextResponseOptions {
  /** Extra response headers. */
  readonly headers?: ResponseHeaders;
  /**
   * Whether to send `Content-Type: text/plain; charset=utf-8` with `X-Content-Type-Options: nosniff`
   * (default `true`). `false` sends neither, like Starlette's bare `Response`.
   */
  readonly contentType?: boolean;
}

/** Writes a plain-text body with its `Content-Length`, and ends the response. */
export function sendText(res: ServerResponse, status: number, text: string, options: TextResponseOptions = {}): void {
  const bytes = Buffer.from(text, "utf8");
  const headers: Record<string, string> = { ...options.headers };
  if (options.contentType !== false) {
    headers["Content-Type"] = "text/plain; charset=utf-8";
    headers["X-Content-Type-Options"] = "nosniff";
  }
  headers["Content-Length"] = String(bytes.byteLength);
  res.writeHead(status, headers);
  res.end(bytes);
}

/**
 * Writes a response without a body and ends it. A `204` or `304` gets no `Content-Length` (RFC
 * 9110 forbids it on 204); any other status gets `Content-Length: 0`.
 */
export function sendEmpty(res: ServerResponse, status: number, headers: ResponseHeaders = {}): void {
  if (status === 204 || status === 304) res.writeHead(status, { ...headers });
  else res.writeHead(status, { ...headers, "Content-Length": "0" });
  res.end();
}
