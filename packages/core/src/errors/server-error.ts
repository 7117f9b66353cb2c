import { defineErrorMarker, SandboxError, type SandboxErrorOptions } from "./sandbox-error.js";

/** Options of {@link ServerError}. */
export interface ServerErrorOptions extends SandboxErrorOptions {
  readonly status?: number | undefined;
  readonly protocolCode?: string | number | undefined;
  readonly bodyExcerpt?: string | undefined;
}

/** The backend failed on its side (a 5xx, or an internal error code). */
export class ServerError extends SandboxError {
  static override readonly code = "SERVER_ERROR";
  readonly status: number | undefined;
  readonly protocolCode: string | number | undefined;
  readonly bodyExcerpt: string | undefined;
  constructor(message: string, options: ServerErrorOptions = {}) {
    super(message, options);
    this.status = options.status;
    this.protocolCode = options.protocolCode;
    this.bodyExcerpt = options.bodyExcerpt;
  }
}
defineErrorMarker(ServerError, "ServerError");
