import diagnosticsChannel from "node:diagnostics_channel";

/**
 * sandkit publishes every sandbox operation on a `node:diagnostics_channel` tracing channel, so
 * loggers and tracers can attach without any dependency in core:
 *
 * ```ts
 * import diagnosticsChannel from "node:diagnostics_channel";
 * diagnosticsChannel.tracingChannel("sandkit:exec").subscribe({
 *   start(ctx) {}, asyncEnd(ctx) {}, error(ctx) {},
 * });
 * ```
 *
 * The context object is a {@link TraceContext}. It never holds secrets, environment values, file
 * contents or full command lines: only the program name (`argv[0]`) and paths.
 */
export const TRACE_CHANNELS = [
  "sandkit:create",
  "sandkit:attach",
  "sandkit:destroy",
  "sandkit:health",
  "sandkit:keepAlive",
  "sandkit:exec",
  "sandkit:runCode",
  "sandkit:metrics",
  "sandkit:files.read",
  "sandkit:files.write",
  "sandkit:files.list",
  "sandkit:files.remove",
  "sandkit:files.mkdir",
  "sandkit:files.upload",
  "sandkit:files.download",
] as const;

/** One of {@link TRACE_CHANNELS}. */
export type TraceChannelName = (typeof TRACE_CHANNELS)[number];

/** What a tracing channel's subscribers receive. `result` and `error` are added by the channel. */
export interface TraceContext {
  /** The operation, e.g. `"exec"` or `"files.read"`. */
  readonly operation: string;
  readonly backend: string;
  readonly sandboxId?: string | undefined;
  /** `argv[0]` of an exec. */
  readonly command?: string | undefined;
  /** The sandbox path of a file operation. */
  readonly path?: string | undefined;
  /**
   * Set by the channel when the operation succeeds: a summary, never contents. For `exec` and
   * `runCode`, `{ exitCode, signal, timedOut, durationMs }`; for a read, `{ bytes }`; for a
   * listing, `{ entries }`; otherwise `undefined`.
   */
  result?: unknown;
  /** Set by the channel when the operation fails: the error (a `SandboxError` whose message is redacted). */
  error?: unknown;
}

const channels = new Map<string, diagnosticsChannel.TracingChannel<unknown, TraceContext>>();

function channel(name: TraceChannelName): diagnosticsChannel.TracingChannel<unknown, TraceContext> {
  let found = channels.get(name);
  if (found === undefined) {
    found = diagnosticsChannel.tracingChannel<unknown, TraceContext>(name);
    channels.set(name, found);
  }
  return found;
}

/**
 * Runs `fn` inside the named tracing channel (cheap when nobody subscribes). Subscribers see a
 * summary of the result (see {@link TraceContext.result}), never file contents or output.
 */
export async function traced<T>(name: TraceChannelName, context: TraceContext, fn: () => Promise<T>): Promise<T> {
  const ch = channel(name);
  if (!ch.hasSubscribers) return fn();
  let value: T | undefined;
  await ch.tracePromise(async () => {
    value = await fn();
    return summarize(value);
  }, context);
  return value as T;
}

/** What of a result is safe to publish: exit status and sizes, no contents. */
function summarize(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: value.byteLength };
  if (Array.isArray(value)) return { entries: value.length };
  if (typeof value === "object" && value !== null && "exitCode" in value && "timedOut" in value) {
    const r = value as { exitCode: unknown; signal?: unknown; timedOut: unknown; durationMs?: unknown };
    return { exitCode: r.exitCode, signal: r.signal ?? null, timedOut: r.timedOut, durationMs: r.durationMs };
  }
  return undefined;
}
