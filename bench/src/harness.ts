/**
 * The benchmark harness: every `src/*.bench.ts` module exports `rows(context)`, which measures
 * sandkit against a baseline doing the same work and returns {@link BenchRow}s. `run.ts` finds the
 * modules, runs them, prints a table of ratios and writes `results/latest.json`.
 *
 * Measure each ratio in one run, interleaved (use {@link interleaved}), after a warm-up, and report
 * medians, so that machine noise hits both sides alike.
 */

/** The samples of one side of a row, in the row's unit. */
export interface Measure {
  /** The median sample. */
  readonly median: number;
  readonly samples: readonly number[];
}

/** One line of the results table. */
export interface BenchRow {
  /** What was measured, e.g. `"transport: JSON POST, sequential"`. */
  readonly name: string;
  /** The figure through sandkit. */
  readonly sandkit: Measure;
  /** The same work without sandkit (raw undici, `fs.cp`, GNU tar, ...). */
  readonly baseline: Measure;
  /** The unit of both measures, e.g. `"µs/request"` or `"MiB/s"`. */
  readonly unit: string;
  /** The ratio sandkit should stay within (sandkit/baseline for `lower`, baseline/sandkit for `higher`). */
  readonly targetRatio: number;
  /** Whether a lower figure is better (times, bytes) or a higher one (throughput). Default `lower`. */
  readonly better?: "lower" | "higher" | undefined;
  /** A remark printed under the table (setup, sizes). */
  readonly note?: string | undefined;
}

/** What a bench module receives. */
export interface BenchContext {
  /** Progress lines (to stderr, so the table stays clean). */
  log(message: string): void;
}

/** The shape of a `*.bench.ts` module. */
export interface BenchModule {
  rows(context: BenchContext): Promise<readonly BenchRow[]>;
}

/**
 * How much worse sandkit is than the baseline: 1.00 is parity, above 1 is worse. When both sides
 * have the same number of samples, taken in pairs by {@link interleaved}, it is the median of the
 * per-pair ratios (each pair ran back to back, so load that comes and goes cancels out); otherwise
 * the ratio of the medians.
 */
export function ratioOf(row: BenchRow): number {
  const { sandkit, baseline } = row;
  const higher = row.better === "higher";
  if (sandkit.samples.length > 0 && sandkit.samples.length === baseline.samples.length) {
    return median(sandkit.samples.map((s, i) => (higher ? baseline.samples[i]! / s : s / baseline.samples[i]!)));
  }
  return higher ? baseline.median / sandkit.median : sandkit.median / baseline.median;
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("median of nothing");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Options of {@link interleaved}. */
export interface InterleavedOptions {
  /** Rounds run and thrown away first (JIT, connection pools, caches). */
  readonly warmup: number;
  /** Rounds measured. Each round takes one sample of each side. */
  readonly rounds: number;
  /** One sample through sandkit, in the row's unit. */
  readonly sandkit: () => Promise<number>;
  /** One sample of the baseline, in the row's unit. */
  readonly baseline: () => Promise<number>;
}

/**
 * Takes samples of both sides alternately within one run, switching which side goes first every
 * round (AB BA AB ...), so that drift, garbage collection and neighbours' load fall on both. The
 * i-th samples of the two sides form a pair (see {@link ratioOf}).
 */
export async function interleaved(options: InterleavedOptions): Promise<{ sandkit: Measure; baseline: Measure }> {
  const a: number[] = [];
  const b: number[] = [];
  for (let round = 0; round < options.warmup + options.rounds; round += 1) {
    const keep = round >= options.warmup;
    if (round % 2 === 0) {
      const x = await options.sandkit();
      const y = await options.baseline();
      if (keep) a.push(x), b.push(y);
    } else {
      const y = await options.baseline();
      const x = await options.sandkit();
      if (keep) a.push(x), b.push(y);
    }
  }
  return { sandkit: { median: median(a), samples: a }, baseline: { median: median(b), samples: b } };
}

/** Runs `fn` `count` times back to back and returns microseconds per call. */
export async function microsPerCall(count: number, fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < count; i += 1) await fn();
  return ((performance.now() - started) * 1000) / count;
}

/** Runs `fn` `total` times with `concurrency` calls in flight and returns microseconds per call (wall time / calls). */
export async function microsPerCallConcurrent(total: number, concurrency: number, fn: () => Promise<unknown>): Promise<number> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      next += 1;
      await fn();
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return ((performance.now() - started) * 1000) / total;
}
