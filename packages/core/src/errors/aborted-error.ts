import { defineErrorMarker, SandboxError, type SandboxErrorOptions } from "./sandbox-error.js";

/** The caller's `AbortSignal` aborted the operation. `cause` is the signal's reason. */
export class AbortedError extends SandboxError {
  static override readonly code = "ABORTED";
  constructor(message: string, options: SandboxErrorOptions = {}) {
    super(message, options);
  }
}
defineErrorMarker(AbortedError, "AbortedError");
