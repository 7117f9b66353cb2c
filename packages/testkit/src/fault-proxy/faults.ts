/**
 * A fault the proxy injects into one request.
 *
 * - `latency`: waits `ms`, then forwards normally.
 * - `reset`: sends a TCP reset to the client, `before-forward` (the upstream never sees the
 *   request) or `after-forward` (the upstream got it and answered; the client gets a reset instead).
 * - `close`: like `reset`, but closes the connection cleanly (FIN) without any response, as a server
 *   whose write timeout passed does.
 * - `status`: answers `status` itself (e.g. 429, 500, 503) without forwarding, with an optional
 *   `Retry-After` (a number of seconds, or a string sent as is, such as an HTTP date).
 * - `truncate`: forwards, then sends the upstream's headers and only the first `bytes` of its body
 *   (default: half the declared length) and cuts the connection.
 * - `malformed-json`: forwards, then replaces the upstream's body with malformed JSON.
 * - `stall`: forwards, then never answers (`before-headers`) or sends the headers and never the body
 *   (`after-headers`), until the client gives up or the proxy closes.
 */
export type Fault =
  | { readonly kind: "latency"; readonly ms: number }
  | { readonly kind: "reset"; readonly when: "before-forward" | "after-forward" }
  | { readonly kind: "close"; readonly when: "before-forward" | "after-forward" }
  | { readonly kind: "status"; readonly status: number; readonly retryAfter?: number | string | undefined; readonly body?: string | undefined }
  | { readonly kind: "truncate"; readonly bytes?: number | undefined }
  | { readonly kind: "malformed-json" }
  | { readonly kind: "stall"; readonly when?: "before-headers" | "after-headers" | undefined };

/** The `kind` of a {@link Fault}. */
export type FaultKind = Fault["kind"];

/**
 * When a fault applies. A rule matches requests by `method` and `path` (the path without its query;
 * a string matches exactly, a RegExp by test); absent means any. Among the requests it matches,
 * it fires on:
 * - `on`: the listed ones (1-based: `[1, 3]` is the first and the third matching request), or
 * - `times`: the first `times` ones, or
 * - `probability`: each one with this probability, drawn from the proxy's seeded generator, or
 * - every one, when none of the three is given.
 *
 * Rules are tried in order; the first that fires decides the request's fault.
 */
export interface FaultRule {
  readonly method?: string | undefined;
  readonly path?: string | RegExp | undefined;
  readonly fault: Fault;
  readonly on?: readonly number[] | undefined;
  readonly times?: number | undefined;
  readonly probability?: number | undefined;
}

/** A small deterministic generator (mulberry32): the same seed gives the same sequence. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Decides, request by request, which fault applies. Deterministic for a given seed and request order. */
export class FaultPlan {
  readonly #rules: readonly FaultRule[];
  readonly #matches: number[];
  readonly #random: () => number;

  constructor(rules: readonly FaultRule[], seed: number) {
    for (const rule of rules) checkRule(rule);
    this.#rules = rules;
    this.#matches = rules.map(() => 0);
    this.#random = seededRandom(seed);
  }

  /** The fault for this request, or `undefined` to forward it untouched. */
  next(method: string, path: string): Fault | undefined {
    for (let i = 0; i < this.#rules.length; i += 1) {
      const rule = this.#rules[i]!;
      if (rule.method !== undefined && rule.method.toUpperCase() !== method.toUpperCase()) continue;
      if (rule.path !== undefined && !(typeof rule.path === "string" ? rule.path === path : rule.path.test(path))) continue;
      this.#matches[i]! += 1;
      const nth = this.#matches[i]!;
      let fires: boolean;
      if (rule.on !== undefined) fires = rule.on.includes(nth);
      else if (rule.times !== undefined) fires = nth <= rule.times;
      else if (rule.probability !== undefined) fires = this.#random() < rule.probability;
      else fires = true;
      if (fires) return rule.fault;
    }
    return undefined;
  }
}

function checkRule(rule: FaultRule): void {
  const given = [rule.on, rule.times, rule.probability].filter((v) => v !== undefined).length;
  if (given > 1) throw new TypeError("a fault rule takes one of on, times and probability");
  if (rule.probability !== undefined && !(rule.probability >= 0 && rule.probability <= 1)) {
    throw new TypeError("probability must be between 0 and 1");
  }
  const { fault } = rule;
  if (fault.kind === "latency" && !(fault.ms >= 0)) throw new TypeError("latency ms must be >= 0");
  if (fault.kind === "status" && !(Number.isInteger(fault.status) && fault.status >= 100 && fault.status <= 599)) {
    throw new TypeError("status must be an HTTP status code");
  }
}
