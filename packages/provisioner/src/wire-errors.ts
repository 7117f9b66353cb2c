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
import { BACKEND_NAME } from "./constants.js";

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

function field(value: unknown, key: string): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value) || !Object.hasOwn(value, key)) return undefined;
  return (value as Record<string, unknown>)[key];
}

/**
 * The words of a control-plane error body: FastAPI's `{"detail": "<text>"}`, pydantic's
 * `{"detail": [{"loc", "msg"}, ...]}` (the first item), or plain text (`Unauthorized`,
 * `Internal Server Error`). One redacted line, or `undefined`.
 */
export function detailOf(json: unknown, bodyText: string): string | undefined {
  const detail = field(json, "detail");
  if (typeof detail === "string") return detail.trim() === "" ? undefined : oneLine(detail);
  if (Array.isArray(detail) && detail.length > 0) {
    const first = detail[0] as unknown;
    const loc = field(first, "loc");
    const msg = field(first, "msg");
    const where = Array.isArray(loc) ? loc.filter((part) => typeof part === "string" || typeof part === "number").join(".") : "";
    const text = typeof msg === "string" ? msg : "invalid request";
    return oneLine(where === "" ? text : `${where}: ${text}`);
  }
  // Envelope bodies of the data plane: {"success": false, "message": "..."}.
  const message = field(json, "message");
  if (typeof message === "string" && message.trim() !== "") return oneLine(message);
  if (json !== undefined) return undefined;
  const text = bodyText.trim();
  return text === "" ? undefined : oneLine(text);
}

function withDetail(info: HttpErrorInfo): string {
  const detail = detailOf(info.json, info.bodyText);
  return detail === undefined ? info.summary : `${info.summary}: ${detail}`;
}

/** Statuses every plane maps the same way: throttling, gateways and other server errors. */
function common(info: HttpErrorInfo, message: string): SandboxError | undefined {
  const { context, status } = info;
  if (status === 429 || (status === 503 && info.retryAfterMs !== undefined)) return new RateLimitError(message, { ...context, status, retryAfterMs: info.retryAfterMs });
  if (status === 422 || status === 400) return new ValidationError(message, { ...context, field: "request" });
  if (status >= 500) return new ServerError(message, { ...context, status, bodyExcerpt: info.excerpt, retryable: status === 502 || status === 503 || status === 504 });
  return undefined;
}

/**
 * The transport's `mapError` for the provisioner (the control plane):
 *
 * - 401 (plain text `Unauthorized`) → `AuthenticationError` with a hint: the key is wrong, or the
 *   provisioner has none configured (it then refuses every request).
 * - 404 with FastAPI's `{"detail": "Sandbox '<id>' not found"}` → `SandboxNotFoundError`; a 404
 *   with any other body (an unknown route, a proxy) → `ProtocolError`, since the URL is wrong.
 * - 400 (bad extra mounts) and 422 (body validation) → `ValidationError`.
 * - 500 (`Pod creation failed`, `Partial cleanup`, the text `Internal Server Error`) → `ServerError`;
 *   502/503/504 are retryable; 429 → `RateLimitError`.
 */
export const mapProvisionerError: HttpErrorMapper = (info) => {
  const message = withDetail(info);
  const { context, status } = info;
  if (status === 401 || status === 403) {
    return new AuthenticationError(message, {
      ...context,
      status,
      reason: status === 401 ? "unauthenticated" : "forbidden",
      suggestion: "The provisioner refused the API key. Check that apiKey (PROVISIONER_API_KEY) matches the provisioner's PROVISIONER_API_KEY; a provisioner with no key configured refuses every request.",
    });
  }
  if (status === 404) {
    const detail = field(info.json, "detail");
    if (typeof detail === "string" && info.sandboxId !== undefined && detail === `Sandbox '${info.sandboxId}' not found`) {
      return new SandboxNotFoundError(message, { ...context });
    }
    return new ProtocolError(message, {
      ...context,
      status,
      bodyExcerpt: info.excerpt,
      suggestion: "The server answered 404 without the provisioner's not-found body: check that url points at a DeerFlow provisioner (without /api).",
    });
  }
  return common(info, message) ?? new ProtocolError(message, { ...context, status, bodyExcerpt: info.excerpt });
};

/**
 * The transport's `mapError` for the AIO sandbox API (the data plane). A 404 here is an endpoint
 * this image does not have (older images have no `/v1/bash/*`): `ProtocolError` with
 * `protocolCode: "UNSUPPORTED_ROUTE"`. 401/403 (images run with `JWT_PUBLIC_KEY`) →
 * `AuthenticationError`; 400/422 → `ValidationError`; 5xx → `ServerError`.
 */
export const mapSandboxApiError: HttpErrorMapper = (info) => {
  const message = withDetail(info);
  const { context, status } = info;
  if (status === 401 || status === 403) {
    return new AuthenticationError(message, {
      ...context,
      status,
      reason: status === 401 ? "unauthenticated" : "forbidden",
      suggestion: "The sandbox requires a JWT bearer token: pass sandboxToken.",
    });
  }
  if (status === 404) {
    return new ProtocolError(message, {
      ...context,
      status,
      protocolCode: UNSUPPORTED_ROUTE,
      bodyExcerpt: info.excerpt,
      suggestion: "This sandbox image does not serve this endpoint; upgrade the AIO sandbox image.",
    });
  }
  return common(info, message) ?? new ProtocolError(message, { ...context, status, bodyExcerpt: info.excerpt });
};

/** `protocolCode` of a data-plane 404: the image has no such endpoint. */
export const UNSUPPORTED_ROUTE = "UNSUPPORTED_ROUTE";

/** `protocolCode` of an HTTP 200 whose envelope said `success: false` without a file error. */
export const ENVELOPE_FAILURE = "SUCCESS_FALSE";

/** The `error_type` values of the AIO API's `FileOperationError`. */
export type FileErrorType =
  | "not_found"
  | "permission_denied"
  | "invalid_target"
  | "already_exists"
  | "invalid_path"
  | "read_only_filesystem"
  | "no_space_left"
  | "decode_error"
  | "io_error";

const VALIDATION_TYPES: ReadonlySet<string> = new Set(["invalid_target", "already_exists", "invalid_path", "decode_error"]);
const ERROR_TYPE = /^[a-z_]{1,40}$/;

/** Where a failure happened, for the error's fields. */
export interface FailureSite {
  readonly operation: string;
  readonly sandboxId: string;
  /** The sandbox path the call named, for file calls. */
  readonly path?: string | undefined;
}

/**
 * The error for an HTTP 200 whose envelope says `success: false` (never a silent success). A
 * `FileOperationError` payload is typed by its `error_type`: `not_found` → `FileNotFoundError`;
 * `invalid_target`, `already_exists`, `invalid_path`, `decode_error` → `ValidationError` (field
 * `path`); the rest (`permission_denied`, `read_only_filesystem`, `no_space_left`, `io_error`,
 * unknown types) → `ServerError` with the type as `protocolCode`. Without one: `ServerError` with
 * `protocolCode: "SUCCESS_FALSE"`.
 */
export function envelopeFailure(envelope: unknown, site: FailureSite): SandboxError {
  const where = { backend: BACKEND_NAME, operation: site.operation, sandboxId: site.sandboxId };
  const data = field(envelope, "data");
  const rawType = field(data, "error_type");
  const errorType = typeof rawType === "string" && ERROR_TYPE.test(rawType) ? rawType : undefined;
  const words = detailOf(envelope, "") ?? (typeof field(data, "message") === "string" ? oneLine(field(data, "message") as string) : undefined);
  const path = site.path ?? "";
  const message = `${BACKEND_NAME} ${site.operation}${path === "" ? "" : ` of ${path}`}: the sandbox answered success: false${errorType === undefined ? "" : ` (${errorType})`}${words === undefined ? "" : `: ${words}`}`;
  if (errorType === "not_found") return new FileNotFoundError(message, { ...where, path });
  if (errorType !== undefined && VALIDATION_TYPES.has(errorType)) return new ValidationError(message, { ...where, field: "path" });
  return new ServerError(message, {
    ...where,
    protocolCode: errorType ?? ENVELOPE_FAILURE,
    bodyExcerpt: words,
    retryable: field(data, "retryable") === true,
  });
}
