import { AbortedError, RateLimitError, RequestTimeoutError, SandboxError, ServerError } from "@sandkit/core";
import { BACKEND_NAME } from "./constants.js";

/** Protocol codes that mean "not yet": the sandbox (or the server) is still starting. */
const NOT_READY_CODES: ReadonlySet<string | number> = new Set(["POD_NOT_READY", "NOT_READY", "CONFIG_NOT_LOADED", "POD_READY_TIMEOUT"]);

/** Whether an error says the sandbox is not ready yet (rather than that something is wrong). */
export function isNotReady(error: unknown): boolean {
  if (ServerError.isInstance(error)) return (error.protocolCode !== undefined && NOT_READY_CODES.has(error.protocolCode)) || error.status === 503;
  if (RateLimitError.isInstance(error)) return error.status === 503;
  return false;
}

/** Options of {@link waitUntilReady}. */
export interface ReadyWaitOptions {
  /** Absolute `Date.now()` time by which the sandbox must be ready. */
  readonly deadline: number;
  readonly signal: AbortSignal;
  readonly sandboxId: string;
  /** First pause between probes, in milliseconds. Default 100. */
  readonly minDelayMs?: number | undefined;
  /** Longest pause between probes, in milliseconds. Default 2000. */
  readonly maxDelayMs?: number | undefined;
  /** Randomness for the jitter (tests pass a fixed one). Default `Math.random`. */
  readonly random?: (() => number) | undefined;
}

/**
 * Runs `probe` until it succeeds, pausing with exponential backoff and jitter between attempts
 * while it fails with a not-ready answer (`503 POD_NOT_READY` and the like). Any other failure
 * ends the wait at once. Gives up with `RequestTimeoutError` when the next attempt would start
 * after `deadline`, and with `AbortedError` when `signal` aborts. `probe` receives the time left.
 */
export async function waitUntilReady(probe: (remainingMs: number) => Promise<void>, options: ReadyWaitOptions): Promise<number> {
  const minDelay = options.minDelayMs ?? 100;
  const maxDelay = Math.max(minDelay, options.maxDelayMs ?? 2000);
  const random = options.random ?? Math.random;
  const where = { backend: BACKEND_NAME, operation: "create", sandboxId: options.sandboxId };
  let delay = minDelay;
  for (let attempt = 1; ; attempt += 1) {
    throwIfAborted(options.signal, where);
    const remaining = options.deadline - Date.now();
    if (remaining <= 0) throw notReadyInTime(options, attempt - 1, undefined);
    try {
      await probe(remaining);
      return attempt;
    } catch (error) {
      if (!isNotReady(error)) throw error;
      const pause = Math.round(delay / 2 + random() * (delay / 2));
      if (Date.now() + pause >= options.deadline) throw notReadyInTime(options, attempt, error);
      await sleep(pause, options.signal, where);
      delay = Math.min(maxDelay, delay * 2);
    }
  }
}

function notReadyInTime(options: ReadyWaitOptions, attempts: number, last: unknown): RequestTimeoutError {
  return new RequestTimeoutError(`sandbox ${options.sandboxId} did not become ready before its deadline (${attempts} readiness probe${attempts === 1 ? "" : "s"})`, {
    backend: BACKEND_NAME,
    operation: "create",
    sandboxId: options.sandboxId,
    cause: last,
    suggestion: "The server is still starting the sandbox; raise readyTimeoutMs, or check the server's capacity.",
  });
}

function throwIfAborted(signal: AbortSignal, where: { backend: string; operation: string; sandboxId: string }): void {
  if (!signal.aborted) return;
  if (SandboxError.isInstance(signal.reason)) throw signal.reason;
  throw new AbortedError("create was aborted while waiting for the sandbox to become ready", { ...where, cause: signal.reason });
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
