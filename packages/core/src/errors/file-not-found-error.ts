import { defineErrorMarker, SandboxError, type SandboxErrorOptions } from "./sandbox-error.js";

/** Options of {@link FileNotFoundError}. */
export interface FileNotFoundErrorOptions extends SandboxErrorOptions {
  /** The sandbox path that does not exist. */
  readonly path: string;
}

/** A file or directory the operation needs does not exist in the sandbox. */
export class FileNotFoundError extends SandboxError {
  static override readonly code = "FILE_NOT_FOUND";
  readonly path: string;
  constructor(message: string, options: FileNotFoundErrorOptions) {
    super(message, options);
    this.path = options.path;
  }
}
defineErrorMarker(FileNotFoundError, "FileNotFoundError");
