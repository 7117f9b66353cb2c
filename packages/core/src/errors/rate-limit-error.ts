import { defineErrorMarker, SandboxError, type SandboxErrorOptions } from "./sandbox-error.js";

/** Options of {@link RateLimitError}. */
export interface RateLimitErrorOptions extends SandboxErrorOptions {
  /** How long the server asked to wait, in milliseconds, when it said. */
  readonly retryAfterMs?: number | undefined;
  readonly status?: number | undefined;
}

/** The server is rate limiting or overloaded (429, or 503 with a wait). Retryable after `retryAfterMs`. */
export class RateLimitError extends SandboxError {
  static override readonly code = "RATE_LIMITED";
  readonly retryAfterMs: number | undefined;
  readonly status: number | undefined;
  constructor(message: string, options: RateLimitErrorOptions = {}) {
    super(message, { retryable: true, suggestion: "Wait and try again, or lower concurrency.", ...options });
    this.retryAfterMs = options.retryAfterMs;
    this.status = options.status;
  }
}
defineErrorMarker(RateLimitError, "RateLimitError");
