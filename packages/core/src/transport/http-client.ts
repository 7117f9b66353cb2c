import { PassThrough, type Readable } from "node:stream";
import pRetry from "p-retry";
import { Agent, EnvHttpProxyAgent, type Dispatcher } from "undici";
import { ProtocolError } from "../errors/protocol-error.js";
import { SandboxClosedError } from "../errors/sandbox-closed-error.js";
import { SandboxError } from "../errors/sandbox-error.js";
import { ValidationError } from "../errors/validation-error.js";
import { checkMs } from "../internal/call-context.js";
import { registerSecret } from "../internal/redact.js";
import { Secret } from "../secret.js";
import { AttemptHandler, attemptInterceptor } from "./attempt-handler.js";
import { BodyTooLargeError, prepareBody, readBody, readHead, readText, type PreparedBody } from "./bodies.js";
import { httpChannels, type HttpRequestEvent } from "./channels.js";
import {
  attachHttpDetails,
  bodyExcerpt,
  defaultStatusError,
  networkError,
  type HttpErrorContext,
  type HttpErrorInfo,
  type HttpErrorMapper,
  type HttpHeaders,
} from "./http-errors.js";
import { RequestState, type RequestPlan } from "./request-state.js";
import { parseRetryAfter } from "./retry-after.js";
import { backoffDelay, resolveRetryPolicy, sleepUntil, type RetryPolicy } from "./retry-policy.js";
import type {
  HeaderValue,
  HttpClient,
  HttpClientOptions,
  HttpMethod,
  HttpRequestOptions,
  HttpResponse,
  ResponseBody,
  ResponseType,
} from "./types.js";
import { sandkitVersion } from "./version.js";

const DEFAULT_CONNECTIONS = 32;
const DEFAULT_KEEP_ALIVE_MS = 4_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
const DEFAULT_CLOSE_TIMEOUT_MS = 1_000;
/** How much of an error response is read for the mapper and the excerpt. */
const ERROR_BODY_LIMIT = 64 * 1024;
/** Statuses that may be retried (idempotent requests, or `unprocessedStatuses`). */
const RETRY_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);
const METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
const RESPONSE_TYPES: ReadonlySet<string> = new Set(["json", "text", "bytes", "stream", "none"]);
/** Header names whose values are credentials: registered as secrets and never shown. */
const SENSITIVE_HEADER = /^(?:authorization|proxy-authorization|cookie)$|key|token|secret|auth|passw|session|signature/i;

/** Whether the retry loop may repeat after this error, and how long the server asked to wait. */
interface RetryHint {
  readonly retry: boolean;
  readonly retryAfterMs?: number | undefined;
}

const retryHints = new WeakMap<object, RetryHint>();

function isHttpUrl(url: URL): boolean {
  return url.protocol === "http:" || url.protocol === "https:";
}

function basicAuth(url: URL): string | undefined {
  if (url.username === "" && url.password === "") return undefined;
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  const token = Buffer.from(`${user}:${password}`).toString("base64");
  registerSecret(password);
  registerSecret(token);
  return `Basic ${token}`;
}

function parseUrl(value: string | URL, field: string): URL {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new ValidationError(`${field} is not a valid URL`, { field });
  }
  if (!isHttpUrl(url)) throw new ValidationError(`${field} must be an http: or https: URL, got ${url.protocol}`, { field });
  return url;
}

function positiveInt(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    throw new ValidationError(`${field} must be a positive integer, got ${String(value)}`, { field });
  }
  return value;
}

function revealHeader(value: HeaderValue): string {
  return value instanceof Secret ? value.reveal() : value;
}

function queryString(query: Readonly<Record<string, string | number | boolean | undefined>>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined) params.append(name, String(value));
  }
  return params.toString();
}

/**
 * Creates an HTTP client for one backend: one undici `Agent` (keep-alive, a connection limit per
 * origin, any number of origins), a deadline per request, retries by idempotency, typed errors and
 * diagnostics channels. Close it with `close()` or `await using`.
 *
 * ```ts
 * await using http = createHttpClient({ baseUrl: "http://127.0.0.1:8080", backend: "noxrunner" });
 * const { body } = await http.request({ operation: "health", method: "GET", path: "/healthz", idempotent: true, responseType: "text" });
 * ```
 */
export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  return new UndiciHttpClient(options);
}

class UndiciHttpClient implements HttpClient {
  readonly #base: URL | undefined;
  readonly #basePath: string;
  readonly #backend: string | undefined;
  readonly #headers: Record<string, string>;
  /** The same plus `content-type: application/json`, shared by every JSON request. */
  readonly #jsonHeaders: Record<string, string>;
  readonly #dispatcher: Dispatcher;
  readonly #owned: Dispatcher | undefined;
  readonly #timeoutMs: number;
  readonly #retry: RetryPolicy;
  readonly #maxResponseBytes: number;
  readonly #mapError: HttpErrorMapper | undefined;
  readonly #closeTimeoutMs: number;
  #closing: Promise<void> | undefined;
  /** Requests not finished yet (a stream response counts until the stream closes). */
  readonly #inflight = new Set<RequestState>();
  /** Called when the last in-flight request finishes, while closing. */
  #onIdle: (() => void) | undefined;
  /** The deadline timer (see {@link #trackDeadline}) and the `performance.now()` time it is armed for. */
  #deadlineTimer: NodeJS.Timeout | undefined;
  #armedAt = Number.POSITIVE_INFINITY;

  constructor(options: HttpClientOptions) {
    const headers: Record<string, string> = {};
    const suffix = options.userAgent;
    if (suffix !== undefined && (typeof suffix !== "string" || /[\r\n\0]/.test(suffix))) {
      throw new ValidationError("userAgent must be a single-line string", { field: "userAgent" });
    }
    headers["user-agent"] = suffix === undefined || suffix === "" ? `sandkit/${sandkitVersion()}` : `sandkit/${sandkitVersion()} ${suffix}`;
    if (options.baseUrl !== undefined) {
      const base = parseUrl(options.baseUrl, "baseUrl");
      const auth = basicAuth(base);
      if (auth !== undefined) headers.authorization = auth;
      base.username = "";
      base.password = "";
      base.hash = "";
      this.#base = base;
      this.#basePath = base.pathname.replace(/\/+$/, "");
    } else {
      this.#base = undefined;
      this.#basePath = "";
    }
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (value === undefined) continue;
      const lower = name.toLowerCase();
      const revealed = revealHeader(value);
      if (SENSITIVE_HEADER.test(lower)) registerSecret(revealed);
      headers[lower] = revealed;
    }
    this.#headers = headers;
    this.#jsonHeaders = { ...headers, "content-type": "application/json" };
    this.#backend = options.backend;
    this.#timeoutMs = checkMs(options.timeoutMs, "timeoutMs") ?? DEFAULT_TIMEOUT_MS;
    this.#retry = resolveRetryPolicy(options.retry);
    this.#maxResponseBytes = positiveInt(options.maxResponseBytes, DEFAULT_MAX_RESPONSE_BYTES, "maxResponseBytes");
    this.#mapError = options.mapError;
    this.#closeTimeoutMs = positiveInt(options.closeTimeoutMs, DEFAULT_CLOSE_TIMEOUT_MS, "closeTimeoutMs");
    const connections = positiveInt(options.connections, DEFAULT_CONNECTIONS, "connections");
    const keepAliveTimeout = positiveInt(options.keepAliveTimeoutMs, DEFAULT_KEEP_ALIVE_MS, "keepAliveTimeoutMs");
    const connectTimeout = positiveInt(options.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS, "connectTimeoutMs");
    let dispatcher: Dispatcher;
    if (options.dispatcher !== undefined) {
      if (options.proxyFromEnv === true) {
        throw new ValidationError("proxyFromEnv cannot be combined with your own dispatcher; configure the proxy on it", { field: "proxyFromEnv" });
      }
      dispatcher = options.dispatcher;
      this.#owned = undefined;
    } else {
      const poolOptions = { connections, keepAliveTimeout, connect: { timeout: connectTimeout }, headersTimeout: 0, bodyTimeout: 0 };
      dispatcher = options.proxyFromEnv === true ? new EnvHttpProxyAgent(poolOptions) : new Agent(poolOptions);
      this.#owned = dispatcher;
    }
    this.#dispatcher = dispatcher.compose(attemptInterceptor);
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  async request<R extends ResponseType = "json", T = unknown>(options: HttpRequestOptions<R, T>): Promise<HttpResponse<ResponseBody<R, T>>> {
    const state = new RequestState(this.#plan(options as HttpRequestOptions<ResponseType, unknown>), options.signal, this.#release);
    this.#inflight.add(state);
    this.#trackDeadline(state);
    let handedOver = false;
    try {
      let response: HttpResponse<unknown>;
      try {
        response = await this.#attempt(state, 1);
      } catch (error) {
        response = await this.#retryAfterFirst(state, error);
      }
      handedOver = state.plan.responseType === "stream";
      return response as HttpResponse<ResponseBody<R, T>>;
    } catch (error) {
      const final = this.#finalError(state, error);
      state.plan.body.discard(final);
      throw final;
    } finally {
      if (!handedOver) state.release();
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Deadlines are enforced by one timer per client, armed for the earliest deadline in flight,
   * rather than a timer per request: requests usually finish long before their deadline, so in
   * steady state the timer is neither cleared nor re-armed per request. When it fires it expires
   * every request past its deadline and re-arms for the next earliest.
   */
  #trackDeadline(state: RequestState): void {
    if (state.deadlineAt < this.#armedAt) this.#armDeadline(state.deadlineAt);
  }

  #armDeadline(at: number): void {
    clearTimeout(this.#deadlineTimer);
    this.#armedAt = at;
    this.#deadlineTimer = setTimeout(this.#onDeadline, Math.max(0, Math.ceil(at - performance.now())));
    this.#deadlineTimer.unref();
  }

  readonly #onDeadline = (): void => {
    this.#deadlineTimer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (const state of this.#inflight) {
      if (now >= state.deadlineAt) state.expire();
      else if (state.deadlineAt < next) next = state.deadlineAt;
    }
    if (next !== Number.POSITIVE_INFINITY) this.#armDeadline(next);
  };

  readonly #release = (state: RequestState): void => {
    this.#inflight.delete(state);
    if (this.#inflight.size === 0) this.#onIdle?.();
  };

  /**
   * Lets in-flight requests finish for up to `closeTimeoutMs`, aborts the rest (they reject with
   * `AbortedError`), then closes the pool it owns. Bounded in time whatever the server does.
   */
  async #shutdown(): Promise<void> {
    if (this.#inflight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#onIdle = resolve;
        timer = setTimeout(resolve, this.#closeTimeoutMs);
      });
      clearTimeout(timer);
      this.#onIdle = undefined;
      for (const state of [...this.#inflight]) state.abortForClose();
    }
    clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
    const owned = this.#owned;
    if (owned === undefined) return;
    // Undici's Agent forgets its pools on close(), so a destroy() after it reaches nothing: abort
    // first (above), then close, which has nothing left to wait for.
    await owned.close().catch(() => owned.destroy());
  }

  /** Validates the options and works out URL, headers and body. */
  #plan(options: HttpRequestOptions<ResponseType, unknown>): RequestPlan {
    if (this.#closing !== undefined) {
      throw new SandboxClosedError(`${this.#backend ?? "HTTP"} client is closed`, { backend: this.#backend, operation: options.operation });
    }
    if (typeof options.operation !== "string" || options.operation === "") {
      throw new ValidationError("operation must be a non-empty string", { field: "operation" });
    }
    const context: HttpErrorContext = { backend: this.#backend, operation: options.operation, sandboxId: options.sandboxId };
    if (!METHODS.has(options.method)) throw new ValidationError(`method ${String(options.method)} is not supported`, { ...context, field: "method" });
    if (typeof options.idempotent !== "boolean") {
      throw new ValidationError("idempotent must be true or false", { ...context, field: "idempotent" });
    }
    const responseType: ResponseType = options.method === "HEAD" ? "none" : (options.responseType ?? "json");
    if (!RESPONSE_TYPES.has(responseType)) throw new ValidationError(`responseType ${String(responseType)} is not supported`, { ...context, field: "responseType" });
    if (options.body !== undefined && options.json !== undefined) {
      throw new ValidationError("give body or json, not both", { ...context, field: "body" });
    }

    let origin: string;
    let path: string;
    let urlAuth: string | undefined;
    if (options.url !== undefined) {
      const url = parseUrl(options.url, "url");
      urlAuth = basicAuth(url);
      origin = url.origin;
      path = `${url.pathname}${url.search}`;
    } else {
      if (this.#base === undefined) throw new ValidationError("a request needs url, or path with the client's baseUrl", { ...context, field: "url" });
      if (typeof options.path !== "string" || !options.path.startsWith("/")) {
        throw new ValidationError("path must start with /", { ...context, field: "path" });
      }
      origin = this.#base.origin;
      path = this.#basePath === "" ? options.path : `${this.#basePath}${options.path}`;
    }
    if (options.query !== undefined) {
      const qs = queryString(options.query);
      if (qs !== "") path += `${path.includes("?") ? "&" : "?"}${qs}`;
    }

    let headers = options.json === undefined ? this.#headers : this.#jsonHeaders;
    let requestSecrets: string[] = NO_SECRETS;
    if (options.headers !== undefined || urlAuth !== undefined) {
      headers = { ...headers };
      if (urlAuth !== undefined) headers.authorization = urlAuth;
      if (options.headers !== undefined) {
        for (const name of Object.keys(options.headers)) {
          const value = options.headers[name];
          const lower = name.toLowerCase();
          if (value === undefined) {
            delete headers[lower];
            continue;
          }
          const revealed = revealHeader(value);
          if (SENSITIVE_HEADER.test(lower)) {
            if (requestSecrets === NO_SECRETS) requestSecrets = [];
            requestSecrets.push(revealed);
          }
          headers[lower] = revealed;
        }
      }
    }

    let body: PreparedBody;
    if (options.json !== undefined) {
      let text: string | undefined;
      try {
        text = JSON.stringify(options.json);
      } catch (error) {
        throw new ValidationError("the json body cannot be serialised", { ...context, field: "json", cause: error });
      }
      if (text === undefined) throw new ValidationError("the json body cannot be serialised", { ...context, field: "json" });
      body = prepareBody(text);
    } else {
      body = prepareBody(options.body);
    }

    return {
      operation: options.operation,
      method: options.method,
      origin,
      path,
      headers,
      requestSecrets,
      body,
      idempotent: options.idempotent,
      responseType,
      shape: options.shape,
      maxResponseBytes: options.maxResponseBytes === undefined ? this.#maxResponseBytes : positiveInt(options.maxResponseBytes, 0, "maxResponseBytes"),
      mapError: options.mapError,
      acceptStatus: options.acceptStatus,
      unprocessedStatuses: options.unprocessedStatuses,
      context,
      timeoutMs: options.timeoutMs === undefined ? this.#timeoutMs : (checkMs(options.timeoutMs, "timeoutMs") ?? this.#timeoutMs),
    };
  }

  /**
   * After a failed first attempt: if the error allows it, waits and hands the remaining attempts
   * to p-retry. (The first attempt runs outside p-retry so that the common case, a request that
   * succeeds at once, pays nothing for the retry machinery.)
   */
  async #retryAfterFirst(state: RequestState, first: unknown): Promise<HttpResponse<unknown>> {
    const retries = this.#retry.maxAttempts - 2;
    if (retries < 0 || !(await this.#shouldRetry(state, first, 0))) throw first;
    return pRetry((attempt) => this.#attempt(state, attempt + 1), {
      retries,
      minTimeout: 0,
      signal: state.abortSignal(),
      shouldRetry: (context) => this.#shouldRetry(state, context.error, context.retriesConsumed + 1),
    });
  }

  /** Decides whether to try again; waits the backoff (or `Retry-After`) without passing the deadline. */
  async #shouldRetry(state: RequestState, error: unknown, retriesConsumed: number): Promise<boolean> {
    const hint = typeof error === "object" && error !== null ? retryHints.get(error) : undefined;
    if (hint === undefined || !hint.retry || state.cancelled) return false;
    const policy = this.#retry;
    if (hint.retryAfterMs !== undefined && hint.retryAfterMs > policy.maxRetryAfterMs) return false;
    const wait = Math.max(backoffDelay(policy, retriesConsumed), hint.retryAfterMs ?? 0);
    const until = performance.now() + wait;
    if (until >= state.deadlineAt) return false;
    await sleepUntil(until, state.abortSignal());
    return true;
  }

  /** One attempt: send, classify the status, read the body. Throws typed errors with retry hints. */
  async #attempt(state: RequestState, attempt: number): Promise<HttpResponse<unknown>> {
    state.attempt = attempt;
    if (state.cancelled) throw state.reason;
    const { plan } = state;
    const handler = new AttemptHandler();
    state.current = handler;
    const started = performance.now();
    if (httpChannels.start.hasSubscribers) httpChannels.start.publish(this.#event(state));
    let response: Dispatcher.ResponseData<AttemptHandler>;
    try {
      response = await this.#dispatcher.request<AttemptHandler>({
        origin: plan.origin,
        path: plan.path,
        method: plan.method,
        headers: plan.headers,
        // undici accepts async iterables as bodies (see its Request), though its types list only Readable.
        body: plan.body.forAttempt() as string | Uint8Array | Readable | null,
        opaque: handler,
        headersTimeout: 0,
        bodyTimeout: 0,
      });
    } catch (error) {
      throw this.#failed(state, started, this.#connectionFailure(state, error, handler), undefined);
    }
    const { statusCode: status, headers } = response;
    if ((status < 200 || status > 299) && plan.acceptStatus?.includes(status) !== true) {
      throw this.#failed(state, started, await this.#statusError(state, response), status);
    }
    let body: unknown;
    try {
      // JSON, the common case, is read inline: one async hop fewer per request.
      body =
        plan.responseType === "json"
          ? this.#parseJson(state, status, await readText(response.body, plan.maxResponseBytes, headers["content-length"]))
          : await this.#readOther(state, response);
    } catch (error) {
      throw this.#failed(state, started, this.#bodyFailure(state, error, handler, status), status);
    }
    if (httpChannels.finish.hasSubscribers) {
      httpChannels.finish.publish({ ...this.#event(state), status, durationMs: performance.now() - started } satisfies HttpRequestEvent);
    }
    return new Response(state, status, headers, body, attempt);
  }

  /** Reads a success body that is not JSON, as the response type asks. */
  async #readOther(state: RequestState, response: Dispatcher.ResponseData<AttemptHandler>): Promise<unknown> {
    const { body } = response;
    const { plan } = state;
    switch (plan.responseType) {
      case "none":
        await body.dump({ limit: Math.min(plan.maxResponseBytes, 1024 * 1024) });
        if (state.cancelled) throw state.reason;
        return undefined;
      case "stream":
        return this.#streamBody(state, response);
      case "bytes":
        return readBody(body, plan.maxResponseBytes, response.headers["content-length"]);
      case "text":
        return readText(body, plan.maxResponseBytes, response.headers["content-length"]);
      case "json":
        return this.#parseJson(state, response.statusCode, await readText(body, plan.maxResponseBytes, response.headers["content-length"]));
    }
  }

  #parseJson(state: RequestState, status: number, text: string): unknown {
    const { plan } = state;
    const fail = (what: string, cause?: unknown): ProtocolError => {
      const excerpt = bodyExcerpt(text, plan.requestSecrets);
      return new ProtocolError(`${state.summary}: ${what}${excerpt === "" ? "" : `: ${excerpt}`}`, {
        ...plan.context,
        status,
        bodyExcerpt: excerpt === "" ? undefined : excerpt,
        cause,
      });
    };
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw fail(text.trim() === "" ? "the response body is empty where JSON was expected" : "the response body is not valid JSON");
    }
    if (plan.shape === undefined) return value;
    try {
      return plan.shape(value, "$");
    } catch (error) {
      if (ProtocolError.isInstance(error)) throw fail(`the response body has the wrong shape (${error.message})`, error);
      throw error;
    }
  }

  /**
   * Hands the body to the caller as a stream whose errors are typed. The deadline keeps running
   * until the stream ends, fails or is destroyed.
   */
  #streamBody(state: RequestState, response: Dispatcher.ResponseData<AttemptHandler>): Readable {
    const source = response.body;
    const out = new PassThrough({ highWaterMark: 64 * 1024 });
    const attempt = response.opaque;
    source.on("error", (error: unknown) => {
      out.destroy(this.#bodyFailure(state, error, attempt, response.statusCode));
    });
    out.on("close", () => {
      if (!source.destroyed) source.destroy();
      state.stream = undefined;
      state.release();
    });
    state.stream = out;
    source.pipe(out);
    return out;
  }

  /** Reads the start of an error response and maps it: request mapper, client mapper, then the table. */
  async #statusError(state: RequestState, response: Dispatcher.ResponseData<AttemptHandler>): Promise<SandboxError> {
    const { plan } = state;
    const status = response.statusCode;
    const head = await readHead(response.body, Math.min(ERROR_BODY_LIMIT, plan.maxResponseBytes));
    if (state.cancelled) return state.reason!;
    const bodyText = head.toString("utf8");
    let json: unknown;
    if (bodyText !== "") {
      try {
        json = JSON.parse(bodyText);
      } catch {
        json = undefined;
      }
    }
    const retryAfterMs = parseRetryAfter(response.headers["retry-after"]);
    const excerpt = bodyExcerpt(bodyText, plan.requestSecrets);
    const info: HttpErrorInfo = {
      operation: plan.operation,
      backend: this.#backend,
      sandboxId: plan.context.sandboxId,
      method: plan.method,
      url: state.url,
      status,
      headers: response.headers,
      bodyText,
      json,
      excerpt,
      retryAfterMs,
      summary: `${state.summary} answered ${status}`,
      context: plan.context,
    };
    const retry =
      RETRY_STATUSES.has(status) && (plan.idempotent || plan.unprocessedStatuses?.includes(status) === true) && plan.body.replayable;
    let error: SandboxError | undefined;
    try {
      error = plan.mapError?.(info) ?? this.#mapError?.(info);
    } catch (thrown) {
      // A mapper that throws is a bug in the adapter; still, nothing untyped leaves the transport.
      error = SandboxError.isInstance(thrown)
        ? thrown
        : new ProtocolError(`${info.summary}: the error mapper failed on this response`, { ...plan.context, status, cause: thrown });
    }
    error ??= defaultStatusError(info, retry);
    attachHttpDetails(error, { method: plan.method, url: info.url, status, bodyExcerpt: excerpt === "" ? undefined : excerpt, attempt: state.attempt });
    retryHints.set(error, { retry, retryAfterMs });
    return error;
  }

  /** A failure before any response: the deadline, the caller's abort, or the connection. */
  #connectionFailure(state: RequestState, error: unknown, attempt: AttemptHandler): SandboxError {
    if (state.cancelled) return state.reason!;
    if (SandboxError.isInstance(error)) return error;
    const { plan } = state;
    const mapped = networkError(error, attempt, { summary: state.summary, context: plan.context, idempotent: plan.idempotent });
    attachHttpDetails(mapped, { method: plan.method, url: state.url, attempt: state.attempt });
    retryHints.set(mapped, { retry: mapped.retryable && plan.body.replayable });
    return mapped;
  }

  /** A failure while reading a success body. */
  #bodyFailure(state: RequestState, error: unknown, attempt: AttemptHandler, status: number): SandboxError {
    if (state.cancelled) return state.reason!;
    const { plan } = state;
    let mapped: SandboxError;
    if (SandboxError.isInstance(error)) {
      mapped = error;
    } else if (error instanceof BodyTooLargeError) {
      mapped = new ProtocolError(`${state.summary}: the response body is larger than maxResponseBytes (${error.limit} bytes)`, { ...plan.context, status });
    } else {
      mapped = networkError(error, attempt, { summary: state.summary, context: plan.context, idempotent: plan.idempotent });
      retryHints.set(mapped, { retry: mapped.retryable && plan.body.replayable && plan.responseType !== "stream" });
    }
    attachHttpDetails(mapped, { method: plan.method, url: state.url, status, attempt: state.attempt });
    return mapped;
  }

  /** Publishes the failed attempt and returns the error to throw. */
  #failed(state: RequestState, started: number, error: SandboxError, status: number | undefined): SandboxError {
    if (httpChannels.error.hasSubscribers) {
      const connection = error as { errno?: unknown; requestSent?: unknown };
      httpChannels.error.publish({
        ...this.#event(state),
        status,
        durationMs: performance.now() - started,
        errorCode: error.code,
        errno: typeof connection.errno === "string" ? connection.errno : undefined,
        requestSent: typeof connection.requestSent === "boolean" ? connection.requestSent : undefined,
      } satisfies HttpRequestEvent);
    }
    return error;
  }

  /** The error the request rejects with after the last attempt. */
  #finalError(state: RequestState, error: unknown): SandboxError {
    if (SandboxError.isInstance(error)) return error;
    if (state.cancelled) return state.reason!;
    // Not reached in practice (every attempt throws a SandboxError); kept so nothing untyped escapes.
    const mapped = networkError(error, { sent: true, responded: false }, { summary: state.summary, context: state.plan.context, idempotent: state.plan.idempotent });
    attachHttpDetails(mapped, { method: state.plan.method, url: state.url, attempt: state.attempt });
    return mapped;
  }

  #event(state: RequestState): HttpRequestEvent {
    return { operation: state.plan.operation, backend: this.#backend, method: state.plan.method, url: state.url, attempt: state.attempt };
  }
}

const NO_SECRETS: string[] = [];

/** A successful response; its `url` is worked out only if read. */
class Response<B> implements HttpResponse<B> {
  readonly #state: RequestState;
  readonly status: number;
  readonly headers: HttpHeaders;
  readonly body: B;
  readonly attempts: number;
  constructor(state: RequestState, status: number, headers: HttpHeaders, body: B, attempts: number) {
    this.#state = state;
    this.status = status;
    this.headers = headers;
    this.body = body;
    this.attempts = attempts;
  }
  get url(): string {
    return this.#state.url;
  }
}
