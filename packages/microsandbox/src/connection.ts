import {
  type CallContextV1,
  CapabilityUnsupportedError,
  type ExecRequestV1,
  type ExecResultV1,
  type MetricsV1,
  type RunCodeRequestV1,
  type SandboxConnectionV1,
  type SandboxInfoV1,
  SandboxNotFoundError,
  ServerError,
  ValidationError,
} from "@sandkit/core";
import type { MicrosandboxClient, RequestControl, SandboxStatus } from "./client.js";
import { BACKEND_NAME, WIRE_LANGUAGES } from "./constants.js";
import type { ResolvedMicrosandboxOptions } from "./options.js";
import { decodeCapped, decodeStream, exactArgv, exactResponseLimit } from "./exact-exec.js";
import { joinLines, REPL_TIMEOUT_LINE, toExecResult } from "./output.js";
import { APP_CODES } from "./wire-errors.js";

/** How early (in ms) a 5002 may arrive before the command's limit and still be read as that limit passing. */
export const TIMEOUT_TOLERANCE_MS = 250;

/**
 * The `timeout` to send, in whole seconds: the caller's `timeoutMs` rounded **up** (the wire's
 * unit), at least 1, or the configured default. Upstream sends none by default and can hang forever.
 */
export function timeoutSeconds(timeoutMs: number | undefined, fallbackSeconds: number, operation: string, sandboxId: string): number {
  if (timeoutMs === undefined) return fallbackSeconds;
  if (typeof timeoutMs !== "number" || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new ValidationError(`timeoutMs must be a positive number of milliseconds, got ${String(timeoutMs)}`, {
      field: "timeoutMs",
      backend: BACKEND_NAME,
      operation,
      sandboxId,
    });
  }
  return Math.max(1, Math.ceil(timeoutMs / 1000));
}

/** Converts a `sandbox.metrics.get` entry to fixed units: memory MiB → bytes, disk bytes, CPU percent. */
export function toMetrics(status: SandboxStatus, takenAt: Date = new Date()): MetricsV1 {
  const finite = (value: number | undefined): number | undefined => (value === undefined || !Number.isFinite(value) || value < 0 ? undefined : value);
  const memoryMiB = finite(status.memory_usage);
  return {
    cpuPercent: finite(status.cpu_usage),
    memoryBytes: memoryMiB === undefined ? undefined : Math.floor(memoryMiB) * 1024 * 1024,
    diskBytes: finite(status.disk_usage),
    running: status.running ?? false,
    takenAt,
  };
}

/** What a connection is built from. */
export interface ConnectionParts {
  readonly client: MicrosandboxClient;
  readonly options: ResolvedMicrosandboxOptions;
  readonly info: SandboxInfoV1;
}

/**
 * The data plane of one microsandbox sandbox: `exec` through `sandbox.command.run`, `runCode`
 * through `sandbox.repl.run` (one interpreter per sandbox: state persists between runs), and
 * `metrics` through `sandbox.metrics.get`. File operations are emulated by core through `exec`.
 * Holds no resources of its own.
 */
export class MicrosandboxConnection implements SandboxConnectionV1 {
  readonly info: SandboxInfoV1;
  readonly #client: MicrosandboxClient;
  readonly #options: ResolvedMicrosandboxOptions;

  constructor(parts: ConnectionParts) {
    this.info = parts.info;
    this.#client = parts.client;
    this.#options = parts.options;
  }

  /**
   * Runs `argv[0]` with `argv.slice(1)` (no shell of the caller's), in the byte-exact wrapper of
   * `exact-exec.ts` unless `exactOutput: false`. Output is buffered and comes back at the end.
   * A command past its limit is killed by the server, which answers 500/5002 and drops the output:
   * when that answer arrives after the limit has elapsed the result is `timedOut` with
   * `exitCode: null` and empty output; earlier it is a `ServerError` (not found or spawn error).
   * Sent once: never repeated once it may have reached the server.
   */
  async exec(request: ExecRequestV1, call: CallContextV1): Promise<ExecResultV1> {
    const id = this.info.id;
    this.#refuseUnsupported(request);
    const [command, ...rest] = request.argv;
    if (command === undefined || command === "") {
      throw new ValidationError("argv must name a program", { field: "argv", backend: BACKEND_NAME, operation: "exec", sandboxId: id });
    }
    const seconds = timeoutSeconds(request.timeoutMs, this.#options.execTimeoutSeconds, "exec", id);
    const limitMs = seconds * 1000;
    const exact = this.#options.exactOutput;
    const cap = Number.isSafeInteger(Math.floor(request.maxOutputBytes)) ? Math.floor(request.maxOutputBytes) + 1 : Number.MAX_SAFE_INTEGER;
    const [program, ...args] = exact ? exactArgv(request.argv, cap) : [command, ...rest];
    const control = { ...this.#control(call, limitMs + this.#options.execMarginMs), maxResponseBytes: exact ? exactResponseLimit(cap) : undefined };
    const started = performance.now();
    let answer;
    try {
      answer = await this.#client.commandRun(id, program!, args, seconds, control);
    } catch (error) {
      const elapsedMs = performance.now() - started;
      if (isInternal(error) && elapsedMs >= limitMs - TIMEOUT_TOLERANCE_MS) {
        return toExecResult({ stdout: "", stderr: "", exitCode: null, timedOut: true, durationMs: elapsedMs, maxOutputBytes: request.maxOutputBytes, onOutput: request.onOutput });
      }
      throw await this.#explain(error, call);
    }
    const durationMs = performance.now() - started;
    if (!exact) {
      return toExecResult({
        stdout: joinLines(answer.output, "stdout", "lines"),
        stderr: joinLines(answer.output, "stderr", "lines"),
        exitCode: answer.exit_code,
        timedOut: false,
        durationMs,
        maxOutputBytes: request.maxOutputBytes,
        onOutput: request.onOutput,
      });
    }
    const stdout = decodeCapped(decodeStream(answer.output, "stdout", id), request.maxOutputBytes);
    const stderr = decodeCapped(decodeStream(answer.output, "stderr", id), request.maxOutputBytes);
    if (request.onOutput !== undefined) {
      if (stdout.text !== "") request.onOutput({ stream: "stdout", data: Buffer.from(stdout.text, "utf8") });
      if (stderr.text !== "") request.onOutput({ stream: "stderr", data: Buffer.from(stderr.text, "utf8") });
    }
    return {
      exitCode: answer.exit_code,
      stdout: stdout.text,
      stderr: stderr.text,
      stdoutTruncated: stdout.truncated,
      stderrTruncated: stderr.truncated,
      durationMs,
      timedOut: false,
    };
  }

  /**
   * Runs code in the sandbox's REPL (`python` sent as `python`, `javascript` as `nodejs`). State
   * persists between runs. Output is joined as upstream's SDKs do (lines, trailing whitespace
   * removed). `exitCode` is 1 when anything arrived on stderr (upstream's `has_error`), else 0;
   * the server's in-band timeout line becomes `timedOut: true` with `exitCode: null` (the code is
   * not interrupted upstream, and its later output may leak into the next run).
   */
  async runCode(request: RunCodeRequestV1, call: CallContextV1): Promise<ExecResultV1> {
    const id = this.info.id;
    const language = this.#options.language;
    if (request.language !== language) {
      throw new ValidationError(`this sandbox's image serves ${language}, not ${JSON.stringify(request.language)}`, {
        field: "language",
        backend: BACKEND_NAME,
        operation: "runCode",
        sandboxId: id,
      });
    }
    const seconds = timeoutSeconds(request.timeoutMs, this.#options.execTimeoutSeconds, "runCode", id);
    const started = performance.now();
    let answer;
    try {
      answer = await this.#client.replRun(id, WIRE_LANGUAGES[language], request.code, seconds, this.#control(call, seconds * 1000 + this.#options.execMarginMs));
    } catch (error) {
      throw await this.#explain(error, call);
    }
    const lines = [...answer.output];
    const last = lines.at(-1);
    const timedOut = last !== undefined && last.stream === "stderr" && REPL_TIMEOUT_LINE.test(last.text);
    if (timedOut) lines.pop();
    const stderr = joinLines(lines, "stderr", "upstream");
    const failed = stderr !== "" || answer.status === "error" || answer.status === "exception";
    return toExecResult({
      stdout: joinLines(lines, "stdout", "upstream"),
      stderr,
      exitCode: timedOut ? null : failed ? 1 : 0,
      timedOut,
      durationMs: performance.now() - started,
      maxOutputBytes: request.maxOutputBytes,
      onOutput: request.onOutput,
    });
  }

  /**
   * Resource usage: `cpuPercent` is the VM process's CPU percent (most likely averaged since the
   * VM started, and may pass 100 with several vCPUs), `memoryBytes` its RSS (sent in whole MiB),
   * `diskBytes` the size of the writable layer. All absent while the sandbox is not running.
   */
  async metrics(call: CallContextV1): Promise<MetricsV1> {
    const id = this.info.id;
    const list = await this.#client.metrics(id, this.#control(call, this.#options.requestTimeoutMs));
    const status = list.find((entry) => entry.name === id);
    if (status === undefined) {
      throw new SandboxNotFoundError(`sandbox ${id} is not defined in namespace ${this.#options.namespace}`, { backend: BACKEND_NAME, operation: "metrics", sandboxId: id });
    }
    return toMetrics(status);
  }

  #refuseUnsupported(request: ExecRequestV1): void {
    const where = { backend: BACKEND_NAME, operation: "exec", sandboxId: this.info.id };
    if (request.stdin !== undefined) {
      throw new CapabilityUnsupportedError("the microsandbox protocol has no standard input for commands", { capability: "exec.stdin", ...where });
    }
    if (request.env !== undefined && Object.keys(request.env).length > 0) {
      throw new CapabilityUnsupportedError("the microsandbox protocol has no per-command environment", { capability: "exec.env", ...where });
    }
    if (request.cwd !== undefined) {
      throw new CapabilityUnsupportedError("the microsandbox protocol has no per-command working directory", { capability: "exec.cwd", ...where });
    }
  }

  #control(call: CallContextV1, limitMs: number): RequestControl {
    const timeoutMs = call.deadline === undefined ? limitMs : Math.max(1, Math.min(limitMs, call.deadline - Date.now()));
    return { signal: call.signal, timeoutMs, sandboxId: this.info.id };
  }

  /**
   * A 5002 on a forwarded call also covers "this sandbox is not running": when `metrics.get`
   * confirms that, the error becomes `SandboxNotFoundError`. Anything else is returned as is.
   */
  async #explain(error: unknown, call: CallContextV1): Promise<unknown> {
    if (!isInternal(error) || call.signal.aborted) return error;
    const remaining = call.deadline === undefined ? this.#options.requestTimeoutMs : Math.min(this.#options.requestTimeoutMs, call.deadline - Date.now());
    if (remaining <= 0) return error;
    try {
      const list = await this.#client.metrics(this.info.id, { signal: call.signal, timeoutMs: remaining, sandboxId: this.info.id });
      const status = list.find((entry) => entry.name === this.info.id);
      if (status?.running === true) return error;
    } catch (probe) {
      if (!SandboxNotFoundError.isInstance(probe) && !ValidationError.isInstance(probe) && !isInternal(probe)) return error;
    }
    return new SandboxNotFoundError(`sandbox ${this.info.id} is not running in namespace ${this.#options.namespace}`, {
      backend: BACKEND_NAME,
      operation: (error as ServerError).operation,
      sandboxId: this.info.id,
      cause: error,
    });
  }
}

/** Whether an error is the server's opaque 500/5002. */
export function isInternal(error: unknown): error is ServerError {
  return ServerError.isInstance(error) && error.protocolCode === APP_CODES.internal;
}
