/** An answer the server gives on purpose: a status and a plain-text body (upstream style). */
export class HttpError extends Error {
  /** The HTTP status. */
  readonly status: number;
  /** Extra response headers (e.g. `Allow`). */
  readonly headers: Readonly<Record<string, string>>;
  /** Whether the connection must be closed (the body was not read to its end). */
  readonly closeConnection: boolean;
  constructor(status: number, message: string, options: { readonly headers?: Readonly<Record<string, string>>; readonly closeConnection?: boolean } = {}) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.headers = options.headers ?? {};
    this.closeConnection = options.closeConnection ?? false;
  }
}
