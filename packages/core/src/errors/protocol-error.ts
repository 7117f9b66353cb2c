import { defineErrorMarker, SandboxError, type SandboxErrorOptions } from "./sandbox-error.js";

/** Options of {@link ProtocolError}. */
export interface ProtocolErrorOptions extends SandboxErrorOptions {
  /** The HTTP status, when there was one. */
  readonly status?: number | undefined;
  /** The backend's own error code (e.g. `"POD_NOT_READY"` or a JSON-RPC code), when it sent one. */
  readonly protocolCode?: string | number | undefined;
  /** A short excerpt of the response, with secrets redacted. */
  readonly bodyExcerpt?: string | undefined;
}

/** The backend answered something this client cannot use: a wrong shape, unparseable, or an error it has no class for. */
export class ProtocolError extends SandboxError {
  static override readonly code = "PROTOCOL_ERROR";
  readonly status: number | undefined;
  readonly protocolCode: string | number | undefined;
  readonly bodyExcerpt: string | undefined;
  constructor(message: string, options: ProtocolErrorOptions = {}) {
    super(message, options);
    this.status = options.status;
    this.protocolCode = options.protocolCode;
    this.bodyExcerpt = options.bodyExcerpt;
  }
}
defineErrorMarker(ProtocolError, "ProtocolError");
