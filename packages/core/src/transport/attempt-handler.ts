import type { Dispatcher } from "undici";

type Handler = Dispatcher.DispatchHandler;
type Args<K extends keyof Handler> = Parameters<NonNullable<Handler[K]>>;

/**
 * One attempt's view of undici: it sits between undici and undici's own request handler (through
 * {@link attemptInterceptor}), forwards every callback, and learns two facts the retry rule needs:
 * whether the request was written to a connected socket (`sent`, when undici calls
 * `onRequestStart`) and whether response headers arrived (`responded`).
 *
 * It is also how an attempt is cancelled (deadline, caller's abort, client closing), without an
 * `AbortSignal` per request: {@link cancel} aborts through undici's controller once the request has
 * started, or, before that, fails undici's handler at once and aborts the request when it starts.
 */
export class AttemptHandler implements Handler {
  /** The request was being written to a connected socket. */
  sent = false;
  /** Final (non-1xx) response headers arrived. */
  responded = false;
  #inner: Handler | undefined;
  #controller: Dispatcher.DispatchController | undefined;
  #cancelled: Error | undefined;
  /** Set when the inner handler was failed before undici started the request: later callbacks are dropped. */
  #detached = false;

  /** Wraps undici's handler (called by the interceptor, synchronously within `request()`). */
  bind(inner: Handler): this {
    this.#inner = inner;
    return this;
  }

  /** Cancels the attempt with `reason`: undici's request rejects (or its body stream fails) with it. */
  cancel(reason: Error): void {
    if (this.#cancelled !== undefined) return;
    this.#cancelled = reason;
    if (this.#controller !== undefined) {
      this.#controller.abort(reason);
    } else if (this.#inner !== undefined) {
      // Queued or still connecting: fail the caller now; the request is aborted if it ever starts.
      this.#detached = true;
      this.#inner.onResponseError?.(undefined as unknown as Dispatcher.DispatchController, reason);
    }
  }

  onRequestStart(...args: Args<"onRequestStart">): void {
    const [controller] = args;
    this.#controller = controller;
    if (this.#cancelled !== undefined) {
      controller.abort(this.#cancelled);
      return;
    }
    this.sent = true;
    this.#inner?.onRequestStart?.(...args);
  }
  onRequestUpgrade(...args: Args<"onRequestUpgrade">): void {
    if (!this.#detached) this.#inner?.onRequestUpgrade?.(...args);
  }
  onResponseStart(...args: Args<"onResponseStart">): void {
    if (this.#detached) return;
    if (args[1] >= 200) this.responded = true;
    this.#inner?.onResponseStart?.(...args);
  }
  onResponseData(...args: Args<"onResponseData">): void {
    if (!this.#detached) this.#inner?.onResponseData?.(...args);
  }
  onResponseEnd(...args: Args<"onResponseEnd">): void {
    if (!this.#detached) this.#inner?.onResponseEnd?.(...args);
  }
  onResponseError(...args: Args<"onResponseError">): void {
    if (!this.#detached) this.#inner?.onResponseError?.(...args);
  }
}

/** The undici interceptor that puts the request's {@link AttemptHandler} (its `opaque`) in front of undici's handler. */
export function attemptInterceptor(dispatch: Dispatcher.Dispatch): Dispatcher.Dispatch {
  return function dispatchAttempt(options, handler) {
    const attempt = (options as { opaque?: unknown }).opaque;
    return dispatch(options, attempt instanceof AttemptHandler ? attempt.bind(handler) : handler);
  };
}
