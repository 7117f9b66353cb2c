import { defineErrorMarker, SandboxError, type SandboxErrorOptions } from "./sandbox-error.js";

/** Options of {@link AuthenticationError}. */
export interface AuthenticationErrorOptions extends SandboxErrorOptions {
  /** `unauthenticated`: no or a wrong credential (401). `forbidden`: the credential lacks the right (403). */
  readonly reason?: "unauthenticated" | "forbidden" | undefined;
  /** The HTTP status, when there was one. */
  readonly status?: number | undefined;
}

/** The server refused the credentials. The credential itself is never part of the error. */
export class AuthenticationError extends SandboxError {
  static override readonly code = "AUTHENTICATION_FAILED";
  readonly reason: "unauthenticated" | "forbidden";
  readonly status: number | undefined;
  constructor(message: string, options: AuthenticationErrorOptions = {}) {
    super(message, { suggestion: "Check the API key or service key configured for this backend.", ...options });
    this.reason = options.reason ?? "unauthenticated";
    this.status = options.status;
  }
}
defineErrorMarker(AuthenticationError, "AuthenticationError");
