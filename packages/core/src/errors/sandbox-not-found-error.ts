import { defineErrorMarker, SandboxError, type SandboxErrorOptions } from "./sandbox-error.js";

/** The sandbox does not exist (never created, destroyed, or expired). Recreate it rather than retry. */
export class SandboxNotFoundError extends SandboxError {
  static override readonly code = "SANDBOX_NOT_FOUND";
  constructor(message: string, options: SandboxErrorOptions = {}) {
    super(message, { suggestion: "The sandbox is gone; create a new one.", ...options });
  }
}
defineErrorMarker(SandboxNotFoundError, "SandboxNotFoundError");
