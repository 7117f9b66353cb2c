import { FileNotFoundError, SandboxError, ValidationError } from "@sandkit/core";

/** The backend's name, as errors and `info.backend` carry it. */
export const BACKEND_NAME = "local";

/** Where an error happened: the operation and, when known, the sandbox. */
export interface ErrorSite {
  readonly operation: string;
  readonly sandboxId?: string | undefined;
}

/** A `ValidationError` of this backend naming `field`. */
export function invalid(message: string, field: string, site: ErrorSite): ValidationError {
  return new ValidationError(message, { field, backend: BACKEND_NAME, ...site });
}

/** A {@link FileNotFoundError} for the sandbox path `path`. */
export function notFound(path: string, site: ErrorSite): FileNotFoundError {
  return new FileNotFoundError(`no such file or directory: ${JSON.stringify(path)}`, { backend: BACKEND_NAME, ...site, path });
}

/** The errno code of a Node.js system error, if it is one. */
export function errnoOf(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Turns a file-system error met while working on the sandbox path `path` into the typed error
 * that says what happened. Messages name the sandbox path, never the host path.
 *
 * - `ENOENT`, `ENOTDIR`: {@link FileNotFoundError};
 * - `EISDIR`, `ELOOP`, `ENAMETOOLONG`, `EEXIST`: {@link ValidationError} on `field`;
 * - `EACCES`, `EPERM`: a `SandboxError` with code `PERMISSION_DENIED`;
 * - `ENOSPC`, `EDQUOT`: a `SandboxError` with code `NO_SPACE`;
 * - anything else: a `SandboxError` with code `IO_ERROR` and the original as `cause`.
 * A `SandboxError` passes through unchanged.
 */
export function fileSystemError(error: unknown, path: string, field: string, site: ErrorSite): SandboxError {
  if (SandboxError.isInstance(error)) return error;
  const where = { backend: BACKEND_NAME, ...site };
  const shown = JSON.stringify(path);
  switch (errnoOf(error)) {
    case "ENOENT":
    case "ENOTDIR":
      return notFound(path, site);
    case "EISDIR":
      return new ValidationError(`${shown} is a directory`, { ...where, field });
    case "ELOOP":
      return new ValidationError(`${shown} leads through a symbolic link where none is allowed`, { ...where, field });
    case "ENAMETOOLONG":
      return new ValidationError(`${shown} is too long`, { ...where, field });
    case "EEXIST":
      return new ValidationError(`${shown} already exists`, { ...where, field });
    case "EACCES":
    case "EPERM":
      return new SandboxError(`permission denied: ${shown}`, { ...where, cause: error }, "PERMISSION_DENIED");
    case "ENOSPC":
    case "EDQUOT":
      return new SandboxError(`no space left for ${shown}`, { ...where, cause: error }, "NO_SPACE");
    default:
      return new SandboxError(`file operation on ${shown} failed`, { ...where, cause: error }, "IO_ERROR");
  }
}
