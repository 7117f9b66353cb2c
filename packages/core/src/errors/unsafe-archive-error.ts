import { defineErrorMarker, SandboxError, type SandboxErrorOptions } from "./sandbox-error.js";

/** Options of {@link UnsafeArchiveError}. */
export interface UnsafeArchiveErrorOptions extends SandboxErrorOptions {
  /** The entry's name as the archive gave it (control characters escaped). */
  readonly entry?: string | undefined;
  /** What was wrong, as a stable word. */
  readonly reason:
    | "absolute-path"
    | "path-traversal"
    | "link-escape"
    | "special-file"
    | "entry-too-large"
    | "too-many-entries"
    | "too-many-bytes"
    | "invalid-name"
    | "corrupt";
}

/** An archive from a sandbox or server tried to do something unsafe, or broke a limit. Nothing outside the destination was written. */
export class UnsafeArchiveError extends SandboxError {
  static override readonly code = "UNSAFE_ARCHIVE";
  readonly entry: string | undefined;
  readonly reason: UnsafeArchiveErrorOptions["reason"];
  constructor(message: string, options: UnsafeArchiveErrorOptions) {
    super(message, options);
    this.entry = options.entry;
    this.reason = options.reason;
  }
}
defineErrorMarker(UnsafeArchiveError, "UnsafeArchiveError");
