import { ValidationError } from "../errors/validation-error.js";

/** How the transport repeats a failed attempt (see `docs/transport.md` for which calls may repeat). */
export interface RetryOptions {
  /** Attempts in all, the first included. `1` disables retries. Default 4. */
  readonly maxAttempts?: number | undefined;
  /** Backoff before the first retry, in milliseconds. Default 100. */
  readonly minDelayMs?: number | undefined;
  /** Longest backoff, in milliseconds. Default 2000. */
  readonly maxDelayMs?: number | undefined;
  /** Growth of the backoff per retry. Default 2. */
  readonly factor?: number | undefined;
  /**
   * Longest `Retry-After` the transport waits out by itself, in milliseconds. A server asking for
   * longer gets its `RateLimitError` (with `retryAfterMs`) thrown at once. Default 30000.
   */
  readonly maxRetryAfterMs?: number | undefined;
}

/** {@link RetryOptions} with every default filled in. */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  readonly factor: number;
  readonly maxRetryAfterMs: number;
}

function nonNegative(value: number | undefined, fallback: number, field: string, integer = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || (integer && !Number.isInteger(value))) {
    throw new ValidationError(`retry.${field} must be a non-negative ${integer ? "integer" : "number"}, got ${String(value)}`, { field: `retry.${field}` });
  }
  return value;
}

/** Checks the options and fills in the defaults. */
export function resolveRetryPolicy(options: RetryOptions | undefined): RetryPolicy {
  const maxAttempts = nonNegative(options?.maxAttempts, 4, "maxAttempts", true);
  if (maxAttempts < 1) throw new ValidationError("retry.maxAttempts must be at least 1", { field: "retry.maxAttempts" });
  const minDelayMs = nonNegative(options?.minDelayMs, 100, "minDelayMs");
  const maxDelayMs = Math.max(minDelayMs, nonNegative(options?.maxDelayMs, 2000, "maxDelayMs"));
  return {
    maxAttempts,
    minDelayMs,
    maxDelayMs,
    factor: Math.max(1, nonNegative(options?.factor, 2, "factor")),
    maxRetryAfterMs: nonNegative(options?.maxRetryAfterMs, 30_000, "maxRetryAfterMs"),
  };
}

/**
 * The backoff before retry number `retriesConsumed + 1`: exponential, capped, with "equal jitter"
 * (half fixed, half random), so that clients that failed together do not retry together.
 */
export function backoffDelay(policy: RetryPolicy, retriesConsumed: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.minDelayMs * policy.factor ** retriesConsumed);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * Waits until `performance.now()` reaches `until` (timers may fire a little early, so it re-arms
 * until the time has really passed). Rejects with the signal's reason when it aborts.
 */
export function sleepUntil(until: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      reject(signal.reason);
    };
    const arm = (): void => {
      const left = until - performance.now();
      if (left <= 0) {
        signal.removeEventListener("abort", onAbort);
        resolve();
        return;
      }
      timer = setTimeout(arm, Math.ceil(left));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    arm();
  });
}
