import diagnosticsChannel from "node:diagnostics_channel";

/**
 * The `node:diagnostics_channel` names the HTTP transport publishes on, one message per attempt:
 *
 * - `sandkit:http.request.start`: an attempt begins.
 * - `sandkit:http.request.finish`: the attempt got a response it could use (for buffered
 *   response types, after the body was read; for `stream`, when the headers arrived).
 * - `sandkit:http.request.error`: the attempt failed (connection, deadline, abort, an error
 *   status, an unusable body). A retried request publishes one `error` per failed attempt.
 *
 * Messages are {@link HttpRequestEvent}s: never a header value, a request or response body, or a
 * credential-like query value.
 *
 * ```ts
 * import diagnosticsChannel from "node:diagnostics_channel";
 * diagnosticsChannel.subscribe("sandkit:http.request.finish", (message) => console.log(message));
 * ```
 */
export const HTTP_CHANNELS = {
  start: "sandkit:http.request.start",
  finish: "sandkit:http.request.finish",
  error: "sandkit:http.request.error",
} as const;

/** What every transport channel message holds. */
export interface HttpRequestEvent {
  /** The adapter's operation name, e.g. `"exec"`. */
  readonly operation: string;
  /** The backend name the client was created for, when given. */
  readonly backend: string | undefined;
  readonly method: string;
  /** The URL without credentials, fragment or credential-like query values. */
  readonly url: string;
  /** 1 for the first attempt, 2 for the first retry, ... */
  readonly attempt: number;
  /** The response status (`finish`, and `error` when a response arrived). */
  readonly status?: number | undefined;
  /** Milliseconds since the attempt started (`finish` and `error`). */
  readonly durationMs?: number | undefined;
  /** The sandkit error code of a failed attempt (`error`), e.g. `"CONNECTION_FAILED"`. */
  readonly errorCode?: string | undefined;
  /** The errno or undici code of a connection failure (`error`), e.g. `"ECONNRESET"`. */
  readonly errno?: string | undefined;
  /** Whether the request had been written to a connected socket (`error`). */
  readonly requestSent?: boolean | undefined;
}

/** The channel objects, created once. */
export const httpChannels = {
  start: diagnosticsChannel.channel(HTTP_CHANNELS.start),
  finish: diagnosticsChannel.channel(HTTP_CHANNELS.finish),
  error: diagnosticsChannel.channel(HTTP_CHANNELS.error),
};
