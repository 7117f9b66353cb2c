import { defineErrorMarker, SandboxError, type SandboxErrorOptions } from "./sandbox-error.js";

/** Options of {@link UnknownBackendError}. */
export interface UnknownBackendErrorOptions extends SandboxErrorOptions {
  /** The names sandkit knows. */
  readonly known: readonly string[];
}

/** The configuration named a backend sandkit does not know. */
export class UnknownBackendError extends SandboxError {
  static override readonly code = "UNKNOWN_BACKEND";
  readonly known: readonly string[];
  constructor(message: string, options: UnknownBackendErrorOptions) {
    super(message, { suggestion: `Use one of: ${options.known.join(", ")}; or pass a backend instance.`, ...options });
    this.known = options.known;
  }
}
defineErrorMarker(UnknownBackendError, "UnknownBackendError");
