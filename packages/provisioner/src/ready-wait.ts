import { AbortedError, ConnectionError, RateLimitError, RequestTimeoutError, SandboxError, ServerError } from "@sandkit/core";
import { BACKEND_NAME } from "./constants.js";

/**
 * Whether a failed readiness probe means "not yet": the sandbox's port refuses or drops
 * connections while the pod starts (S1), a gateway answers 502/503/504 or another 5xx, the probe
 * itself ran out of time, or the server throttles. Anything else (a refused credential, a body
 * that is not HTTP) ends the wait at once.
 */
export function isNotYet(error: unknown): boolean {
  return ConnectionError.isInstance(error) || ServerError.isInstance(error) || RateLimitError.isInstance(error) || RequestTimeoutError.isInstance(error);
}

/** Options of {@link waitUntilReady}. */
export interface ReadyWaitOptions {
  /** Absolute `Date.now()` time by which the sandbox must be ready. */
  readonly deadline: number;
  readonly signal: AbortSignal;
  readonly sandboxId: string;
  readonly operation: string;
  /** Longest time one probe may take, in milliseconds. Default 5000 (upstream's). */
  readonly probeTimeoutMs?: number | undefined;
  /** First pause between probes, in milliseconds. Default 100. */
  readonly minDelayMs?: number | undefined;
  /** Longest pause between probes, in milliseconds. Default 500 (upstream polls every second). */
  readonly maxDelayMs?: number | undefined;
  /**
   * Called after a failed probe (at most once a second): throws when the sandbox can never become
   * ready (its pod is gone or failed), ending the wait before the deadline.
   */
  readonly check?: ((remainingMs: number) => Promise<void>) | undefined;
  /** Randomness for the jitter (tests pass a fixed one). Default `Math.random`. */
  readonly random?: (() => number) | undefined;
}

/**
 * Runs `probe` until it succeeds, pausing with exponential backoff and jitter while it fails with
 * a "not yet" answer (see {@link isNotYet}). Gives up with `RequestTimeoutError` when the next
 * attempt would start after `deadline`, and with `AbortedError` (or the signal's sandkit reason)
 * when `signal` aborts. `probe` receives the time it may take.
 */
export async function waitUntilReady<T>(probe: (timeoutMs: number) => Promise<T>, options: ReadyWaitOptions): Promise<T> {
  const minDelay = options.minDelayMs ?? 100;
  const maxDelay = Math.max(minDelay, options.maxDelayMs ?? 500);
  const probeTimeout = options.probeTimeoutMs ?? 5000;
  const random = options.random ?? Math.random;
  const where = { backend: BACKEND_NAME, operation: options.operation, sandboxId: options.sandboxId };
  let delay = minDelay;
  let lastCheck = Date.now();
  let last: unknown;
  for (let attempt = 1; ; attempt += 1) {
    throwIfAborted(options.signal, where);
    const remaining = options.deadline - Date.now();
    if (remaining <= 0) throw notReadyInTime(options, attempt - 1, last);
    try {
      return await probe(Math.max(1, Math.min(probeTimeout, remaining)));
    } catch (error) {
      throwIfAborted(options.signal, where);
      if (!isNotYet(error)) throw error;
      last = error;
    }
    if (options.check !== undefined && Date.now() - lastCheck >= 1000) {
      lastCheck = Date.now();
      await options.check(Math.max(1, options.deadline - Date.now()));
    }
    const pause = Math.round(delay / 2 + random() * (delay / 2));
    if (Date.now() + pause >= options.deadline) throw notReadyInTime(options, attempt, last);
    await sleep(pause, options.signal, where);
    delay = Math.min(maxDelay, delay * 2);
  }
}

function notReadyInTime(options: ReadyWaitOptions, attempts: number, last: unknown): RequestTimeoutError {
  return new RequestTimeoutError(`sandbox ${options.sandboxId} did not become ready before its deadline (${attempts} readiness probe${attempts === 1 ? "" : "s"} of GET /v1/sandbox)`, {
    backend: BACKEND_NAME,
    operation: options.operation,
    sandboxId: options.sandboxId,
    cause: last,
    suggestion: "The pod is still starting (image pull, scheduling); raise readyTimeoutMs, or check the cluster.",
  });
}

function throwIfAborted(signal: AbortSignal, where: { backend: string; operation: string; sandboxId: string }): void {
  if (!signal.aborted) return;
  if (SandboxError.isInstance(signal.reason)) throw signal.reason;
  throw new AbortedError(`${where.operation} was aborted while waiting for the sandbox to become ready`, { ...where, cause: signal.reason });
}

function sleep(ms: number, signal: AbortSignal, where: { backend: string; operation: string; sandboxId: string }): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      try {
        throwIfAborted(signal, where);
      } catch (error) {
        reject(error);
      }
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
