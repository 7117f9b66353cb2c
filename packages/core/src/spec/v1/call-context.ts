/**
 * What every backend call receives besides its own arguments.
 *
 * Core builds it from the caller's `signal` and `timeoutMs`: `signal` aborts when the caller
 * aborts *or* the deadline passes, so a backend only has to honour one signal. `deadline` is the
 * same deadline as an absolute `Date.now()` time, for backends that pass a timeout on the wire.
 */
export interface CallContextV1 {
  /** Aborts when the caller gives up or the deadline passes. Always present. */
  readonly signal: AbortSignal;
  /** Absolute deadline in `Date.now()` milliseconds, when the caller set one. */
  readonly deadline?: number | undefined;
}
