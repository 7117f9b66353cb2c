import { defineErrorMarker, SandboxError, type SandboxErrorOptions } from "./sandbox-error.js";

/** The sandbox was used after `close()` (or after its `await using` block ended). */
export class SandboxClosedError extends SandboxError {
  static override readonly code = "SANDBOX_CLOSED";
  constructor(message: string, options: SandboxErrorOptions = {}) {
    super(message, { suggestion: "Create a new sandbox; a closed one cannot be used again.", ...options });
  }
}
defineErrorMarker(SandboxClosedError, "SandboxClosedError");
