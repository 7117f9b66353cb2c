import { AuthenticationError } from "../errors/authentication-error.js";
import { ConnectionError } from "../errors/connection-error.js";
import { ProtocolError } from "../errors/protocol-error.js";
import { RateLimitError } from "../errors/rate-limit-error.js";
import { RequestTimeoutError } from "../errors/request-timeout-error.js";
import type { SandboxError } from "../errors/sandbox-error.js";
import { SandboxNotFoundError } from "../errors/sandbox-not-found-error.js";
import { ServerError } from "../errors/server-error.js";
import { ValidationError } from "../errors/validation-error.js";
import { redactSecrets } from "../internal/redact.js";

/** Response headers as undici gives them: lower-case names. */
export type HttpHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** The fields an adapter spreads into the options of the error it builds in a mapper. */
export interface HttpErrorContext {
  readonly backend: string | undefined;
  readonly operation: string;
  readonly sandboxId: string | undefined;
}

/**
 * What an error mapper sees of a response whose status is not a success. `bodyText` and `json` are
 * the server's raw words (hostile input, possibly echoing a credential): branch on them, but put
 * `excerpt` (redacted) in messages.
 */
export interface HttpErrorInfo {
  readonly operation: string;
  readonly backend: string | undefined;
  readonly sandboxId: string | undefined;
  readonly method: string;
  /** The URL without credentials or credential-like query values. */
  readonly url: string;
  readonly status: number;
  readonly headers: HttpHeaders;
  /** The start of the body (up to 64 KiB), decoded as UTF-8. */
  readonly bodyText: string;
  /** The body parsed as JSON, or `undefined` when it is not JSON. */
  readonly json: unknown;
  /** A short, single-line, redacted excerpt of the body, for messages. */
  readonly excerpt: string;
  /** The `Retry-After` header in milliseconds, when present and readable. */
  readonly retryAfterMs: number | undefined;
  /** `"<backend> <operation>: <METHOD> <url> answered <status>"`, a ready start for a message. */
  readonly summary: string;
  /** Spread into the error's options: `new SandboxNotFoundError(msg, { ...info.context })`. */
  readonly context: HttpErrorContext;
}

/**
 * Turns a non-success response into the error to throw, from the adapter's protocol codes; return
 * `undefined` to fall back to the transport's table (see `docs/transport.md`). For example,
 * NoxRunner's `{"error":{"code":"POD_NOT_FOUND"}}` or a JSON-RPC error code.
 */
export type HttpErrorMapper = (info: HttpErrorInfo) => SandboxError | undefined;

/** The HTTP facts every transport error carries, under its `http` property. */
export interface HttpErrorDetails {
  readonly method: string;
  /** The URL without credentials or credential-like query values. */
  readonly url: string;
  /** The response status, when a response arrived. */
  readonly status?: number | undefined;
  /** A short redacted excerpt of the response body, when there was one. */
  readonly bodyExcerpt?: string | undefined;
  /** The attempt that failed (1 = the first). */
  readonly attempt: number;
}

const DETAILS = "http";

/** Records the HTTP facts on an error (as an enumerable `http` property, so `toJSON` shows them). */
export function attachHttpDetails(error: SandboxError, details: HttpErrorDetails): void {
  try {
    Object.defineProperty(error, DETAILS, { value: details, enumerable: true, configurable: true, writable: false });
  } catch {
    // A frozen error from a mapper: it keeps its own message, which is enough.
  }
}

/** The HTTP facts of an error the transport raised, or `undefined`. */
export function httpDetailsOf(error: unknown): HttpErrorDetails | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const value = (error as Record<string, unknown>)[DETAILS];
  return typeof value === "object" && value !== null && "method" in value && "url" in value ? (value as HttpErrorDetails) : undefined;
}

const EXCERPT_CHARS = 300;

/**
 * A short single-line excerpt of a body: control characters replaced, known secrets and
 * credential-shaped text (and the given header values) redacted.
 */
export function bodyExcerpt(text: string, alsoHide: readonly string[] = []): string {
  let out = text.length > EXCERPT_CHARS * 4 ? text.slice(0, EXCERPT_CHARS * 4) : text;
  for (const secret of alsoHide) {
    if (secret.length >= 4 && out.includes(secret)) out = out.split(secret).join("[redacted]");
  }
  out = out.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, " ").trim();
  out = redactSecrets(out);
  return out.length > EXCERPT_CHARS ? `${out.slice(0, EXCERPT_CHARS)}…` : out;
}

/** The transport's own status table, used when no mapper claimed the response. */
export function defaultStatusError(info: HttpErrorInfo, retryable: boolean): SandboxError {
  const { status } = info;
  const tail = info.excerpt === "" ? "" : `: ${info.excerpt}`;
  const message = `${info.summary}${tail}`;
  const base = { ...info.context, retryable };
  const withBody = { ...base, status, bodyExcerpt: info.excerpt === "" ? undefined : info.excerpt };
  if (status === 401 || status === 403) {
    return new AuthenticationError(message, { ...base, status, reason: status === 401 ? "unauthenticated" : "forbidden" });
  }
  if (status === 404) return new SandboxNotFoundError(message, base);
  if (status === 429 || (status === 503 && info.retryAfterMs !== undefined)) {
    return new RateLimitError(message, { ...base, status, retryAfterMs: info.retryAfterMs });
  }
  if (status === 400 || status === 422) return new ValidationError(message, base);
  if (status >= 500 && status <= 599) return new ServerError(message, withBody);
  return new ProtocolError(message, withBody);
}

/** Codes of failures before the socket connected: the request provably never reached the server. */
const CONNECT_PHASE = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EAI_FAIL",
  "EAI_NODATA",
  "EAI_NONAME",
  "UND_ERR_CONNECT_TIMEOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ENETDOWN",
  "EADDRNOTAVAIL",
]);

/** Codes of a connection that broke (possibly after the server got the request). */
const BROKEN = new Set([
  "ECONNRESET",
  "EPIPE",
  "ECONNABORTED",
  "ETIMEDOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
]);

/** Codes that mean the dispatcher was closed or destroyed under the request. */
const CLOSED = new Set(["UND_ERR_CLOSED", "UND_ERR_DESTROYED"]);

/** Whether an errno or undici code is a network failure that an attempt may be repeated after. */
export function isRetryableNetworkCode(code: string | undefined): boolean {
  return code !== undefined && (CONNECT_PHASE.has(code) || BROKEN.has(code));
}

/** Whether a code says the connection was never established. */
export function isConnectPhaseCode(code: string | undefined): boolean {
  return code !== undefined && CONNECT_PHASE.has(code);
}

function codeOf(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const code = (value as { code?: unknown }).code;
  return typeof code === "string" && code !== "" ? code : undefined;
}

/**
 * The errno or undici code of a failure: the first known code found walking `cause` (and the
 * `errors` of an `AggregateError`, as a happy-eyeballs connect raises), else the first code seen.
 */
export function findErrno(error: unknown): string | undefined {
  let first: string | undefined;
  const queue: unknown[] = [error];
  for (let seen = 0; seen < 16 && queue.length > 0; seen += 1) {
    const current = queue.shift();
    const code = codeOf(current);
    if (code !== undefined) {
      if (CONNECT_PHASE.has(code) || BROKEN.has(code) || CLOSED.has(code) || code.startsWith("UND_ERR_") || code.startsWith("HPE_")) {
        return code;
      }
      first ??= code;
    }
    if (typeof current === "object" && current !== null) {
      const { cause, errors } = current as { cause?: unknown; errors?: unknown };
      if (Array.isArray(errors)) queue.push(...errors.slice(0, 4));
      if (cause !== undefined) queue.push(cause);
    }
  }
  return first;
}

/** Whether the chain holds undici's parser error (the server's bytes are not HTTP); returns its code. */
function parserErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && typeof current === "object" && current !== null; depth += 1) {
    const { name, code, cause } = current as { name?: unknown; code?: unknown; cause?: unknown };
    if (name === "HTTPParserError" || (typeof code === "string" && code.startsWith("HPE_"))) {
      return typeof code === "string" && code !== "" ? code : "HPE_INVALID";
    }
    current = cause;
  }
  return undefined;
}

/** Where an attempt was when the failure happened. */
export interface FailurePhase {
  /** The request was written (or being written) to a connected socket. */
  readonly sent: boolean;
  /** Response headers had arrived. */
  readonly responded: boolean;
}

/**
 * Maps a failure without a usable response (an errno chain, an undici error) to a typed error.
 * `idempotent` sets `retryable`: a broken connection after the request was sent is only safe to
 * repeat for an idempotent call.
 */
export function networkError(
  error: unknown,
  phase: FailurePhase,
  where: { readonly summary: string; readonly context: HttpErrorContext; readonly idempotent: boolean },
): SandboxError {
  const { summary, context } = where;
  const parserCode = parserErrorCode(error);
  if (parserCode !== undefined) {
    return new ProtocolError(`${summary}: the server's answer is not valid HTTP (${parserCode})`, { ...context, cause: error, protocolCode: parserCode });
  }
  const errno = findErrno(error);
  const code = errno === undefined ? "" : ` (${errno})`;
  switch (errno) {
    case "UND_ERR_HEADERS_OVERFLOW":
      return new ProtocolError(`${summary}: the response headers are too large`, { ...context, cause: error, protocolCode: errno });
    case "UND_ERR_INVALID_ARG":
    case "UND_ERR_REQ_CONTENT_LENGTH_MISMATCH":
    case "UND_ERR_NOT_SUPPORTED":
      return new ValidationError(`${summary}: the request is invalid${code}`, { ...context, cause: error });
    case "UND_ERR_HEADERS_TIMEOUT":
    case "UND_ERR_BODY_TIMEOUT":
      return new RequestTimeoutError(`${summary}: the dispatcher's own timeout passed${code}`, { ...context, cause: error });
    default:
      break;
  }
  const sent = phase.sent && !isConnectPhaseCode(errno);
  const retryable = (where.idempotent || !sent) && isRetryableNetworkCode(errno);
  const options = { ...context, cause: error, errno, requestSent: sent, retryable };
  if (!sent) {
    return new ConnectionError(
      isConnectPhaseCode(errno) ? `${summary}: could not connect${code}` : `${summary}: the connection failed before the request was sent${code}`,
      options,
    );
  }
  if (errno !== undefined && CLOSED.has(errno)) {
    return new ConnectionError(`${summary}: the HTTP client was closed while the request was in flight${code}`, { ...options, retryable: false });
  }
  if (!phase.responded) {
    return new ConnectionError(`${summary}: the server closed the connection without a response${code}`, options);
  }
  return new ConnectionError(`${summary}: the connection broke while the response was being read${code}`, options);
}
