import { defineErrorMarker, SandboxError, type SandboxErrorOptions } from "./sandbox-error.js";

/** Options of {@link ValidationError}. */
export interface ValidationErrorOptions extends SandboxErrorOptions {
  /** The argument or option that was wrong, e.g. `"path"` or `"timeoutMs"`. */
  readonly field?: string | undefined;
}

/** An argument was refused before anything ran: a path escaping the workspace, a bad id, an option out of range. */
export class ValidationError extends SandboxError {
  static override readonly code = "VALIDATION_FAILED";
  readonly field: string | undefined;
  constructor(message: string, options: ValidationErrorOptions = {}) {
    super(message, options);
    this.field = options.field;
  }
}
defineErrorMarker(ValidationError, "ValidationError");
