import type { Readable } from "node:stream";
import { AbortedError } from "../errors/aborted-error.js";
import { RequestTimeoutError } from "../errors/request-timeout-error.js";
import type { SandboxError } from "../errors/sandbox-error.js";
import type { AttemptHandler } from "./attempt-handler.js";
import type { PreparedBody } from "./bodies.js";
import { attachHttpDetails, type HttpErrorContext, type HttpErrorMapper } from "./http-errors.js";
import { redactUrl } from "./redact-url.js";
import type { Shape } from "./shape.js";
import type { HttpMethod, ResponseType } from "./types.js";

/** What a request needs, worked out once before its first attempt. */
export interface RequestPlan {
  readonly operation: string;
  readonly method: HttpMethod;
  readonly origin: string;
  /** Path and query, as sent. */
  readonly path: string;
  readonly headers: Record<string, string>;
  /** Values of this request's own credential headers, hidden from excerpts. */
  readonly requestSecrets: readonly string[];
  readonly body: PreparedBody;
  readonly idempotent: boolean;
  readonly responseType: ResponseType;
  readonly shape: Shape<unknown> | undefined;
  readonly maxResponseBytes: number;
  readonly mapError: HttpErrorMapper | undefined;
  readonly acceptStatus: readonly number[] | undefined;
  readonly unprocessedStatuses: readonly number[] | undefined;
  readonly context: HttpErrorContext;
  readonly timeoutMs: number;
}

/**
 * One request in flight: its plan, its deadline and its cancellation. Cancelling reaches the
 * running attempt through its {@link AttemptHandler}, a streamed response body, and (made only
 * when a retry needs one) an `AbortSignal` for the retry loop. No per-request timer or
 * `AbortController` is needed on the common path: the client's deadline timer calls {@link expire}.
 */
export class RequestState {
  readonly plan: RequestPlan;
  /** `performance.now()` time of the deadline. */
  readonly deadlineAt: number;
  /** The typed reason, once cancelled (deadline, caller's abort, client closing). */
  reason: SandboxError | undefined;
  /** Whether the request was cancelled. */
  cancelled = false;
  /** The attempt running now (1-based). */
  attempt = 0;
  /** The attempt running now, if any. */
  current: AttemptHandler | undefined;
  /** The streamed response body handed to the caller, if any. */
  stream: Readable | undefined;
  readonly #callerSignal: AbortSignal | undefined;
  #onCallerAbort: (() => void) | undefined;
  readonly #onRelease: (state: RequestState) => void;
  #controller: AbortController | undefined;
  #url: string | undefined;
  #released = false;

  constructor(plan: RequestPlan, callerSignal: AbortSignal | undefined, onRelease: (state: RequestState) => void) {
    this.plan = plan;
    this.deadlineAt = performance.now() + plan.timeoutMs;
    this.#onRelease = onRelease;
    this.#callerSignal = callerSignal;
    if (callerSignal !== undefined) {
      const onCallerAbort = (): void => {
        this.abort(new AbortedError(`${this.summary}: aborted`, { ...this.plan.context, cause: callerSignal.reason }));
      };
      this.#onCallerAbort = onCallerAbort;
      if (callerSignal.aborted) onCallerAbort();
      else callerSignal.addEventListener("abort", onCallerAbort, { once: true });
    }
  }

  /** The URL without credentials or credential-like query values (worked out on first use). */
  get url(): string {
    this.#url ??= redactUrl(`${this.plan.origin}${this.plan.path}`);
    return this.#url;
  }

  /** `"<backend> <operation>: <METHOD> <url>"`, the start of every message about this request. */
  get summary(): string {
    const { backend, operation } = this.plan.context;
    return `${backend === undefined ? operation : `${backend} ${operation}`}: ${this.plan.method} ${this.url}`;
  }

  /** Cancels the request with a typed reason (the first reason wins). */
  abort(reason: SandboxError): void {
    if (this.cancelled) return;
    attachHttpDetails(reason, { method: this.plan.method, url: this.url, attempt: this.attempt });
    this.cancelled = true;
    this.reason = reason;
    this.current?.cancel(reason);
    this.stream?.destroy(reason);
    this.#controller?.abort(reason);
  }

  /** Cancels the request with a `RequestTimeoutError` (called by the client's deadline timer). */
  expire(): void {
    const { timeoutMs, context } = this.plan;
    this.abort(new RequestTimeoutError(`${this.summary}: no complete response within ${timeoutMs} ms`, { ...context, timeoutMs }));
  }

  /** Cancels the request because the client is closing. */
  abortForClose(): void {
    this.abort(new AbortedError(`${this.summary}: aborted because the HTTP client is closing`, this.plan.context));
  }

  /** An `AbortSignal` that follows this request, for APIs that need a real one (the retry loop). */
  abortSignal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.cancelled) this.#controller.abort(this.reason);
    }
    return this.#controller.signal;
  }

  /** Frees the deadline timer and the caller-signal listener. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    if (this.#onCallerAbort !== undefined) this.#callerSignal?.removeEventListener("abort", this.#onCallerAbort);
    this.#onRelease(this);
  }
}
