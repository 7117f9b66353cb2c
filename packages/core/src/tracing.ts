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
  result?: unknown;
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

/** Runs `fn` inside the named tracing channel (cheap when nobody subscribes). */
export function traced<T>(name: TraceChannelName, context: TraceContext, fn: () => Promise<T>): Promise<T> {
  const ch = channel(name);
  if (!ch.hasSubscribers) return fn();
  return ch.tracePromise(fn, context);
}
