import type { ServerResponse } from "node:http";
import { FileNotFoundError, SandboxError, ValidationError } from "@sandkit/core";
import { sendJson } from "@sandkit/core/server-kit";

/** The AIO response envelope. */
export interface AioEnvelope<T> {
  readonly success: boolean;
  readonly message: string | null;
  readonly data: T | null;
}

/** The `data` of a handled file-tool failure (AIO API ≥ 1.9). */
export interface FileOperationError {
  readonly path: string;
  readonly operation: string;
  readonly message: string;
  readonly error_type:
    | "not_found"
    | "permission_denied"
    | "invalid_target"
    | "already_exists"
    | "invalid_path"
    | "read_only_filesystem"
    | "no_space_left"
    | "decode_error"
    | "io_error";
  readonly retryable: boolean;
  readonly errno: number | null;
  readonly errno_name: string | null;
  readonly exception_type: string | null;
}

/** Answers `200 {"success":true,"message":...,"data":...}`. */
export function sendOk(res: ServerResponse, data: unknown, message = "Operation successful"): void {
  sendJson(res, 200, { success: true, message, data });
}

/** Answers `status {"success":false,"message":...,"data":...}`. */
export function sendFailure(res: ServerResponse, status: number, message: string, data: unknown = null): void {
  sendJson(res, status, { success: false, message, data });
}

/** Thrown by file handlers; answered `200` with `success: false` and a {@link FileOperationError}. */
export class FileOperationFailure extends Error {
  readonly data: FileOperationError;

  constructor(data: FileOperationError) {
    super(data.message);
    this.name = "FileOperationFailure";
    this.data = data;
  }
}

/** A {@link FileOperationFailure} of `errorType` for `path`. */
export function fileFailure(path: string, operation: string, errorType: FileOperationError["error_type"], message: string, errno: { readonly errno?: number; readonly name?: string } = {}): FileOperationFailure {
  return new FileOperationFailure({
    path,
    operation,
    message,
    error_type: errorType,
    retryable: errorType === "io_error",
    errno: errno.errno ?? null,
    errno_name: errno.name ?? null,
    exception_type: null,
  });
}

/** Classifies a backend failure of a file operation on `path` (the AIO path the client sent). */
export function fileFailureOf(error: unknown, path: string, operation: string): FileOperationFailure {
  if (error instanceof FileOperationFailure) return error;
  if (FileNotFoundError.isInstance(error)) return fileFailure(path, operation, "not_found", `No such file or directory: ${path}`, { errno: 2, name: "ENOENT" });
  // The backend refused the target itself (a directory where a file is needed, a link out of the
  // workspace, a name too long): AIO's closest kind is `invalid_target`.
  if (ValidationError.isInstance(error)) return fileFailure(path, operation, "invalid_target", `${operation} cannot use ${path}`);
  if (SandboxError.isInstance(error) && error.code === "PERMISSION_DENIED") return fileFailure(path, operation, "permission_denied", `Permission denied: ${path}`, { errno: 13, name: "EACCES" });
  if (SandboxError.isInstance(error) && error.code === "NO_SPACE") return fileFailure(path, operation, "no_space_left", `No space left on device: ${path}`, { errno: 28, name: "ENOSPC" });
  const name = SandboxError.isInstance(error) ? error.code : "error";
  return fileFailure(path, operation, "io_error", `${operation} failed for ${path} (${name})`);
}
