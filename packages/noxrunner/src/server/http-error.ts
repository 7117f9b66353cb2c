/**
 * The error codes of the NoxRunner wire protocol (protocol file §3.1), plus the few this server
 * adds where the reference server has none (marked).
 */
export const ERROR_CODES = {
  BAD_REQUEST: "BAD_REQUEST",
  SERVICE_KEY_MISSING: "SERVICE_KEY_MISSING",
  SERVICE_KEY_INVALID: "SERVICE_KEY_INVALID",
  POD_NOT_FOUND: "POD_NOT_FOUND",
  UPLOAD_TOO_LARGE: "UPLOAD_TOO_LARGE",
  INVALID_ENV_KEY: "INVALID_ENV_KEY",
  INVALID_WORKDIR: "INVALID_WORKDIR",
  INVALID_PATH: "INVALID_PATH",
  UPLOAD_VALIDATION_FAILED: "UPLOAD_VALIDATION_FAILED",
  POD_CREATE_FAILED: "POD_CREATE_FAILED",
  POD_DELETE_FAILED: "POD_DELETE_FAILED",
  POD_PATCH_FAILED: "POD_PATCH_FAILED",
  K8S_EXEC_FAILED: "K8S_EXEC_FAILED",
  UPLOAD_EXEC_FAILED: "UPLOAD_EXEC_FAILED",
  DOWNLOAD_EXEC_FAILED: "DOWNLOAD_EXEC_FAILED",
  POD_NOT_READY: "POD_NOT_READY",
  NOT_READY: "NOT_READY",
  EXEC_TIMEOUT: "EXEC_TIMEOUT",
  /** Added: a JSON body over `maxJsonBytes` (413). */
  BODY_TOO_LARGE: "BODY_TOO_LARGE",
  /** Added: an unexpected failure of the server itself (500). */
  INTERNAL_ERROR: "INTERNAL_ERROR",
  /** Added: the download `src` does not exist in the sandbox (404; the reference server sends an empty 200). */
  PATH_NOT_FOUND: "PATH_NOT_FOUND",
} as const;

/** One of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/**
 * An answer the server gives instead of the normal response: a status, a protocol error code
 * and a message that is safe to show (no host paths, no secrets). Thrown inside handlers and
 * written by the dispatcher as the error body of §3.1.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, string | number | boolean>> | undefined;
  /** Close the connection after answering (the request body was not read). */
  readonly closeConnection: boolean;

  constructor(
    status: number,
    code: ErrorCode,
    message: string,
    options: { readonly details?: Readonly<Record<string, string | number | boolean>> | undefined; readonly closeConnection?: boolean | undefined } = {},
  ) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.code = code;
    this.details = options.details;
    this.closeConnection = options.closeConnection ?? false;
  }
}

/** `400 BAD_REQUEST` with `message`. */
export function badRequest(message: string): HttpError {
  return new HttpError(400, ERROR_CODES.BAD_REQUEST, message);
}
