import {
  AuthenticationError,
  FileNotFoundError,
  type HttpErrorInfo,
  type HttpErrorMapper,
  ProtocolError,
  RateLimitError,
  redactSecrets,
  type SandboxError,
  SandboxNotFoundError,
  ServerError,
  ValidationError,
} from "@sandkit/core";

/**
 * An error body as NoxRunner servers send it, in any of its three shapes:
 * - the reference server: `{"error": {"code", "message", "requestId"?, "details"?}}`;
 * - `SPECS.md` and later servers: `{"error": "<message>"}`;
 * - plain text (Go's default 404, proxies).
 * Every field is hostile input: codes and request ids must look like codes and ids, messages are
 * cut to one short, redacted line.
 */
export interface WireError {
  /** The protocol code, e.g. `"POD_NOT_FOUND"`, when the body had a well-formed one. */
  readonly code: string | undefined;
  /** The server's message, as one redacted line of at most 300 characters. */
  readonly message: string | undefined;
  /** The request id the server echoed, when well formed. */
  readonly requestId: string | undefined;
  /** Whether the body was JSON (as every sandbox route of a NoxRunner server answers). */
  readonly json: boolean;
}

const CODE = /^[A-Z][A-Z0-9_]{0,63}$/;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const MESSAGE_CHARS = 300;

/** One short, single, redacted line of hostile text. */
export function oneLine(text: string): string {
  const flat = text
    .slice(0, MESSAGE_CHARS * 4)
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, " ")
    .trim();
  const redacted = redactSecrets(flat);
  return redacted.length > MESSAGE_CHARS ? `${redacted.slice(0, MESSAGE_CHARS)}…` : redacted;
}

function stringField(value: unknown, key: string): string | undefined {
  if (typeof value !== "object" || value === null || !Object.hasOwn(value, key)) return undefined;
  const field = (value as Record<string, unknown>)[key];
  return typeof field === "string" ? field : undefined;
}

/** Reads an error body in any of the three shapes (see {@link WireError}). */
export function parseWireError(json: unknown, bodyText: string): WireError {
  if (typeof json === "object" && json !== null && !Array.isArray(json)) {
    const error = Object.hasOwn(json, "error") ? (json as Record<string, unknown>).error : undefined;
    const holder = typeof error === "object" && error !== null ? error : json;
    const code = stringField(holder, "code");
    const message = typeof error === "string" ? error : stringField(holder, "message");
    const requestId = stringField(holder, "requestId");
    return {
      code: code !== undefined && CODE.test(code) ? code : undefined,
      message: message === undefined || message.trim() === "" ? undefined : oneLine(message),
      requestId: requestId !== undefined && REQUEST_ID.test(requestId) ? requestId : undefined,
      json: true,
    };
  }
  const text = bodyText.trim();
  return { code: undefined, message: text === "" ? undefined : oneLine(text), requestId: undefined, json: json !== undefined };
}

/** The message of a mapped error: the transport's summary, then the server's code, words and request id. */
function messageOf(info: HttpErrorInfo, wire: WireError): string {
  let message = info.summary;
  if (wire.code !== undefined) message += ` ${wire.code}`;
  if (wire.message !== undefined) message += `: ${wire.message}`;
  if (wire.requestId !== undefined) message += ` (request id ${wire.requestId})`;
  return message;
}

/** The sandbox path a file request named (`src` or `dest`), for `FileNotFoundError.path`. */
function pathOf(url: string): string {
  try {
    const query = new URL(url).searchParams;
    return query.get("src") ?? query.get("dest") ?? "";
  } catch {
    return "";
  }
}

/** Codes for a sandbox that is starting, or a server not ready: worth repeating. */
const NOT_READY_CODES: ReadonlySet<string> = new Set(["POD_NOT_READY", "NOT_READY", "CONFIG_NOT_LOADED", "POD_READY_TIMEOUT"]);

/** Where a validation code points, for `ValidationError.field`. */
const VALIDATION_FIELDS: Readonly<Record<string, string>> = {
  BAD_REQUEST: "request",
  INVALID_ENV_KEY: "env",
  INVALID_WORKDIR: "cwd",
  INVALID_PATH: "path",
  UPLOAD_TOO_LARGE: "archive",
  UPLOAD_VALIDATION_FAILED: "archive",
};

const SUGGESTIONS: Readonly<Record<string, string>> = {
  INVALID_ENV_KEY: "The reference server accepts only upper-case variable names (A-Z, 0-9, _; not starting with a digit).",
  INVALID_WORKDIR: "The reference server runs commands only in /workspace or below it.",
  INVALID_PATH: "The reference server moves files only in /workspace or below it.",
  UPLOAD_TOO_LARGE: "The server caps one upload (50 MiB on the reference server); upload the tree in smaller parts.",
  UPLOAD_VALIDATION_FAILED: "The server refused the archive: it holds a link, a special file or a name that leaves the destination.",
  POD_NOT_READY: "The sandbox is starting (or, on servers that do not create sandboxes implicitly, it is gone); retry, or create it again.",
};

/**
 * The transport's `mapError` for NoxRunner: turns the server's error codes into sandkit's typed
 * errors (`POD_NOT_FOUND` → `SandboxNotFoundError`, `PATH_NOT_FOUND` → `FileNotFoundError`
 * (sandkit's server; the reference one sends an empty 200), `SERVICE_KEY_*` → `AuthenticationError`,
 * `INVALID_*`, `BAD_REQUEST` and `UPLOAD_*` → `ValidationError`, `POD_NOT_READY` and the other
 * not-ready codes → a retryable `ServerError`, other 5xx codes → `ServerError` with the code),
 * and falls back on the status for bodies without a code. A 404 whose body is not JSON comes
 * from something that is not a NoxRunner sandbox route (a wrong URL): `ProtocolError`.
 */
export const mapNoxRunnerError: HttpErrorMapper = (info: HttpErrorInfo): SandboxError | undefined => {
  const wire = parseWireError(info.json, info.bodyText);
  const message = messageOf(info, wire);
  const { context, status } = info;
  const code = wire.code;
  const suggestion = code === undefined ? undefined : SUGGESTIONS[code];
  const withSuggestion = suggestion === undefined ? {} : { suggestion };
  switch (code) {
    case "POD_NOT_FOUND":
      return new SandboxNotFoundError(message, { ...context });
    case "PATH_NOT_FOUND":
    case "FILE_NOT_FOUND":
      return new FileNotFoundError(message, { ...context, path: pathOf(info.url) });
    case "SERVICE_KEY_MISSING":
    case "SERVICE_KEY_INVALID":
      return new AuthenticationError(message, { ...context, status, reason: "unauthenticated" });
    case undefined:
      break;
    default: {
      const field = VALIDATION_FIELDS[code];
      if (field !== undefined) return new ValidationError(message, { ...context, field, ...withSuggestion });
      if (NOT_READY_CODES.has(code)) {
        return new ServerError(message, { ...context, status, protocolCode: code, retryable: true, ...withSuggestion });
      }
      if (status >= 500) return new ServerError(message, { ...context, status, protocolCode: code, retryable: status === 502 || status === 503 });
    }
  }
  if (status === 401 || status === 403) {
    return new AuthenticationError(message, { ...context, status, reason: status === 401 ? "unauthenticated" : "forbidden" });
  }
  if (status === 404) {
    if (wire.json) return new SandboxNotFoundError(message, { ...context });
    return new ProtocolError(message, {
      ...context,
      status,
      protocolCode: code,
      suggestion: "The server answered 404 without a NoxRunner error body: check that url points at a NoxRunner server (without /v1).",
    });
  }
  if (status === 429 || (status === 503 && info.retryAfterMs !== undefined)) {
    return new RateLimitError(message, { ...context, status, retryAfterMs: info.retryAfterMs });
  }
  if (status === 400 || status === 413 || status === 422) return new ValidationError(message, { ...context, field: "request" });
  if (status >= 500) return new ServerError(message, { ...context, status, protocolCode: code, retryable: status === 502 || status === 503 || status === 504 });
  return new ProtocolError(message, { ...context, status, protocolCode: code });
};
