import { defineErrorMarker, SandboxError, type SandboxErrorOptions } from "./sandbox-error.js";

/** Options of {@link RequestTimeoutError}. */
export interface RequestTimeoutErrorOptions extends SandboxErrorOptions {
  /** The deadline that passed, in milliseconds. */
  readonly timeoutMs?: number | undefined;
}

/**
 * An operation did not finish before its deadline (the caller's `timeoutMs` on a call, or a
 * backend request's deadline). The sandbox itself may be fine. Not a command's own timeout.
 */
export class RequestTimeoutError extends SandboxError {
  static override readonly code = "REQUEST_TIMEOUT";
  readonly timeoutMs: number | undefined;
  constructor(message: string, options: RequestTimeoutErrorOptions = {}) {
    super(message, { retryable: true, ...options });
    this.timeoutMs = options.timeoutMs;
  }
}
defineErrorMarker(RequestTimeoutError, "RequestTimeoutError");
