import type { Readable } from "node:stream";
import type { Dispatcher } from "undici";
import type { Secret } from "../secret.js";
import type { HttpErrorMapper, HttpHeaders } from "./http-errors.js";
import type { RetryOptions } from "./retry-policy.js";
import type { Shape } from "./shape.js";

/** HTTP methods the transport sends. */
export type HttpMethod = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS";

/** A header value; a {@link Secret} is revealed only on the wire. */
export type HeaderValue = string | Secret;

/** A request body. Strings and bytes can be sent again on a retry; streams cannot once begun. */
export type RequestBody = string | Uint8Array | AsyncIterable<Uint8Array> | Readable;

/** How the response body is returned. */
export type ResponseType = "json" | "text" | "bytes" | "stream" | "none";

/** The body type a {@link ResponseType} gives, with `T` the validated JSON type. */
export type ResponseBody<R extends ResponseType, T> = R extends "json"
  ? T
  : R extends "text"
    ? string
    : R extends "bytes"
      ? Uint8Array
      : R extends "stream"
        ? Readable
        : undefined;

/** Options of {@link createHttpClient}. */
export interface HttpClientOptions {
  /**
   * The server's base URL (`http:` or `https:`); request `path`s are appended to its path. A user
   * name and password in it are sent as `Authorization: Basic` and never shown.
   */
  readonly baseUrl?: string | URL | undefined;
  /** The backend name put on errors and diagnostics, e.g. `"noxrunner"`. */
  readonly backend?: string | undefined;
  /** Headers sent with every request (credentials as {@link Secret}s or strings; both are redacted). */
  readonly headers?: Readonly<Record<string, HeaderValue | undefined>> | undefined;
  /** Appended to the user agent: `sandkit/<version> <suffix>`. */
  readonly userAgent?: string | undefined;
  /**
   * Your own undici dispatcher (a proxy, mTLS, a mock). The client uses it as is and does not close it;
   * the pool options below are then ignored.
   */
  readonly dispatcher?: Dispatcher | undefined;
  /**
   * Honour `HTTP_PROXY`, `HTTPS_PROXY` and `NO_PROXY` (undici `EnvHttpProxyAgent`). Default `false`:
   * the environment's proxy settings are ignored unless you opt in.
   */
  readonly proxyFromEnv?: boolean | undefined;
  /** Most open connections per origin. Default 32. */
  readonly connections?: number | undefined;
  /** How long an idle keep-alive connection is kept, in milliseconds. Default 4000 (a server's `Keep-Alive` hint may lower it). */
  readonly keepAliveTimeoutMs?: number | undefined;
  /** Limit on establishing a connection, in milliseconds (within the request deadline). Default 10000. */
  readonly connectTimeoutMs?: number | undefined;
  /** The deadline of a request that sets no `timeoutMs`, in milliseconds. Default 60000. */
  readonly timeoutMs?: number | undefined;
  /** Retry budget and backoff. */
  readonly retry?: RetryOptions | undefined;
  /** Largest buffered response body (`json`, `text`, `bytes`), in bytes. Default 32 MiB. */
  readonly maxResponseBytes?: number | undefined;
  /** Maps the protocol's error responses to typed errors, before the default status table. */
  readonly mapError?: HttpErrorMapper | undefined;
  /** How long `close()` lets in-flight requests finish before it aborts them (`AbortedError`), in milliseconds. Default 1000. */
  readonly closeTimeoutMs?: number | undefined;
}

/** One request. `R` is the response type, `T` the JSON type its `shape` validates. */
export interface HttpRequestOptions<R extends ResponseType = "json", T = unknown> {
  /** The adapter's name for the call (`"exec"`, `"files.upload"`), on errors and diagnostics. */
  readonly operation: string;
  readonly method: HttpMethod;
  /** Path (starting with `/`, already percent-encoded) relative to the client's `baseUrl`. */
  readonly path?: string | undefined;
  /** An absolute URL, for servers at another origin than `baseUrl` (data planes). Wins over `path`. */
  readonly url?: string | URL | undefined;
  /** Query parameters, form-encoded (`undefined` values are left out). */
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>> | undefined;
  /** Headers for this request, on top of the client's (names are case-insensitive). */
  readonly headers?: Readonly<Record<string, HeaderValue | undefined>> | undefined;
  /** The body. See {@link RequestBody} for what can be repeated on a retry. */
  readonly body?: RequestBody | undefined;
  /** A value to send as JSON (sets `content-type: application/json`). Mutually exclusive with `body`. */
  readonly json?: unknown;
  /**
   * Whether repeating the request is harmless (GET, PUT-ensure, DELETE, touch, health). Required:
   * a non-idempotent request is repeated only when it provably never reached the server.
   */
  readonly idempotent: boolean;
  /** This request's deadline in milliseconds, over all attempts, connect, headers and body. Default: the client's. */
  readonly timeoutMs?: number | undefined;
  /** Aborts the request (an {@link AbortedError}). */
  readonly signal?: AbortSignal | undefined;
  /** How to return the body. Default `"json"`. */
  readonly responseType?: R | undefined;
  /** Validates a `json` body at the boundary; without it the body is `unknown`. */
  readonly shape?: Shape<T> | undefined;
  /** Largest buffered body for this request, in bytes. Default: the client's. */
  readonly maxResponseBytes?: number | undefined;
  /** The sandbox concerned, put on errors. */
  readonly sandboxId?: string | undefined;
  /** A mapper for this request only, tried before the client's. */
  readonly mapError?: HttpErrorMapper | undefined;
  /** Statuses besides 2xx that are a normal answer here (e.g. `[404]` for an existence check). */
  readonly acceptStatus?: readonly number[] | undefined;
  /**
   * Statuses this server sends only when it did not act on the request (e.g. a 503 "overloaded,
   * retry" returned before any work). With them, 429/502/503/504 are retried even for a
   * non-idempotent request. Default: none.
   */
  readonly unprocessedStatuses?: readonly number[] | undefined;
}

/** A response. For `stream`, the deadline keeps running until the stream ends or is destroyed. */
export interface HttpResponse<B> {
  readonly status: number;
  readonly headers: HttpHeaders;
  readonly body: B;
  /** How many attempts it took (1 = no retry). */
  readonly attempts: number;
  /** The URL without credentials or credential-like query values. */
  readonly url: string;
}

/** A pooled HTTP client for one backend: keep-alive connections, deadlines, safe retries, typed errors. */
export interface HttpClient extends AsyncDisposable {
  /**
   * Sends a request; resolves with the response when its status is a success, otherwise rejects
   * with the typed error (see `docs/transport.md`).
   */
  request<R extends ResponseType = "json", T = unknown>(options: HttpRequestOptions<R, T>): Promise<HttpResponse<ResponseBody<R, T>>>;
  /** Closes the connection pool (not an injected dispatcher). Idempotent; later requests fail with `SandboxClosedError`. */
  close(): Promise<void>;
  /** Whether `close()` was called. */
  readonly closed: boolean;
}
