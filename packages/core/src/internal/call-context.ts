import type { CallContextV1 } from "../spec/v1/call-context.js";
import { AbortedError } from "../errors/aborted-error.js";
import { RequestTimeoutError } from "../errors/request-timeout-error.js";
import { SandboxError, type SandboxErrorOptions } from "../errors/sandbox-error.js";
import { ValidationError } from "../errors/validation-error.js";

/** A call context plus what is needed to tell why it aborted and to free its timer. */
export interface OwnedCallContext extends CallContextV1 {
  /** Turns a failure into the typed error that says why: timeout, abort, or the error itself. */
  fail(error: unknown, where: SandboxErrorOptions): unknown;
  /** Frees the deadline timer. */
  dispose(): void;
}

/** Checks a caller-supplied millisecond value. */
export function checkMs(value: number | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new ValidationError(`${field} must be a positive number of milliseconds, got ${String(value)}`, { field });
  }
  return value;
}

/**
 * Builds the context of one call: one signal that aborts on the caller's signal, on the owner's
 * signal (the sandbox closing) or at the deadline, whichever comes first.
 */
export function createCallContext(options: {
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs?: number | undefined;
  readonly owner?: AbortSignal | undefined;
}): OwnedCallContext {
  const controller = new AbortController();
  const timeoutMs = options.timeoutMs;
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const sources = [options.signal, options.owner].filter((s): s is AbortSignal => s !== undefined);
  const onAbort = (event: Event): void => {
    controller.abort((event.target as AbortSignal).reason);
  };
  for (const source of sources) {
    if (source.aborted) controller.abort(source.reason);
    else source.addEventListener("abort", onAbort, { once: true });
  }
  if (timeoutMs !== undefined && !controller.signal.aborted) {
    timer = setTimeout(() => {
      if (controller.signal.aborted) return; // aborted first: that is what happened, not a timeout
      timedOut = true;
      controller.abort(new RequestTimeoutError(`deadline of ${timeoutMs} ms passed`, { timeoutMs }));
    }, timeoutMs);
    timer.unref?.();
  }
  return {
    signal: controller.signal,
    deadline: timeoutMs === undefined ? undefined : Date.now() + timeoutMs,
    fail(error, where) {
      if (!controller.signal.aborted) return error;
      if (timedOut) {
        // The backend's own timeout error has details; the bare deadline reason gets the call's location.
        if (RequestTimeoutError.isInstance(error) && error !== controller.signal.reason) return error;
        return new RequestTimeoutError(`${where.operation ?? "operation"} did not finish within ${timeoutMs} ms`, {
          ...where,
          timeoutMs,
          cause: SandboxError.isInstance(error) && error !== controller.signal.reason ? error : undefined,
        });
      }
      if (AbortedError.isInstance(error)) return error;
      // A backend that rethrows the signal's reason (e.g. the sandbox's SandboxClosedError) was aborted, not failed.
      if (SandboxError.isInstance(error) && !isAbortLike(error) && error !== controller.signal.reason) return error;
      const closing = options.owner?.aborted === true && options.signal?.aborted !== true;
      return new AbortedError(
        closing ? `${where.operation ?? "operation"} was aborted because the sandbox is closing` : `${where.operation ?? "operation"} was aborted`,
        { ...where, cause: controller.signal.reason },
      );
    },
    dispose() {
      if (timer !== undefined) clearTimeout(timer);
      for (const source of sources) source.removeEventListener("abort", onAbort);
    },
  };
}

function isAbortLike(error: SandboxError): boolean {
  return error.code === "ABORTED";
}

/** Throws the signal's reason as an `AbortedError` when it has aborted. For backends' checkpoints. */
export function throwIfAborted(signal: AbortSignal, where: SandboxErrorOptions): void {
  if (!signal.aborted) return;
  if (SandboxError.isInstance(signal.reason)) throw signal.reason;
  throw new AbortedError(`${where.operation ?? "operation"} was aborted`, { ...where, cause: signal.reason });
}

/**
 * Settles with `promise`, or rejects with the signal's reason as soon as `signal` aborts, even if
 * whatever produced `promise` ignores the signal. A late rejection of `promise` is handled.
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
