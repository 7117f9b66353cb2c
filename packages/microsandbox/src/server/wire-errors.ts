/**
 * The two error shapes of the legacy microsandbox server (protocol §4.3).
 *
 * Shape A is a JSON-RPC error envelope; shape B is `{"error": text, "code": n}` with no `jsonrpc`.
 */

/** A shape-B failure: HTTP status, app code and the text the client sees. */
export class HttpAppError extends Error {
  /** The HTTP status. */
  readonly status: number;
  /** The app code (1001, 1004, 2001, 3001, 5002). */
  readonly code: number;
  constructor(status: number, code: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "HttpAppError";
    this.status = status;
    this.code = code;
  }
}

/** A shape-A failure: a JSON-RPC error envelope with its HTTP status. */
export class RpcEnvelopeError extends Error {
  /** The HTTP status (400 or 404). */
  readonly status: number;
  /** The JSON-RPC code (-32600, -32601). */
  readonly code: number;
  constructor(status: number, code: number, message: string) {
    super(message);
    this.name = "RpcEnvelopeError";
    this.status = status;
    this.code = code;
  }
}

/** 400/2001 with the given text. */
export function validation(message: string): HttpAppError {
  return new HttpAppError(400, 2001, message);
}

/** 500/5002 `Internal server error`; the cause is kept for the server log only. */
export function internal(cause?: unknown): HttpAppError {
  return new HttpAppError(500, 5002, "Internal server error", { cause });
}

/** 401/1001 `Invalid credentials`. */
export const invalidCredentials = (): HttpAppError => new HttpAppError(401, 1001, "Invalid credentials");
/** 401/1004 `Invalid or expired token`. */
export const invalidToken = (): HttpAppError => new HttpAppError(401, 1004, "Invalid or expired token");
/** 403/3001 `Access denied`. */
export const accessDenied = (): HttpAppError => new HttpAppError(403, 3001, "Access denied");
