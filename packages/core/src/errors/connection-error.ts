import { defineErrorMarker, SandboxError, type SandboxErrorOptions } from "./sandbox-error.js";

/** Options of {@link ConnectionError}. */
export interface ConnectionErrorOptions extends SandboxErrorOptions {
  /** The errno or undici code found in the cause chain, e.g. `"ECONNREFUSED"`, `"UND_ERR_SOCKET"`. */
  readonly errno?: string | undefined;
  /** Whether the request provably never reached the server (refused before any byte was sent). */
  readonly requestSent?: boolean | undefined;
}

/** The backend could not be reached, or the connection broke. `errno` says how. */
export class ConnectionError extends SandboxError {
  static override readonly code = "CONNECTION_FAILED";
  readonly errno: string | undefined;
  readonly requestSent: boolean;
  constructor(message: string, options: ConnectionErrorOptions = {}) {
    super(message, { retryable: true, suggestion: "Check that the backend is running and reachable.", ...options });
    this.errno = options.errno;
    this.requestSent = options.requestSent ?? true;
  }
}
defineErrorMarker(ConnectionError, "ConnectionError");
