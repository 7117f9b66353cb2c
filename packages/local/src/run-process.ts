import { type ChildProcess, spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import type { ExecResultV1, OutputChunkV1 } from "@sandkit/core";
import { errnoOf } from "./local-errors.js";
import { OutputCapture } from "./output-capture.js";
import { signalGroup, trackGroup, untrackGroup } from "./process-groups.js";

/** How long to wait for the output pipes to close once the command and its group are gone. */
const CLOSE_WAIT_MS = 200;
/** How long to wait for the exit of a process that was sent SIGKILL before giving up on it. */
const EXIT_WAIT_MS = 1000;
/** The longest delay `setTimeout` honours; longer ones would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** One command to run as its own process group. */
export interface ProcessRequest {
  /** The program to execute (looked up in `env.PATH` when it has no slash). */
  readonly file: string;
  readonly args: readonly string[];
  /** The program as the caller named it, for messages (e.g. `argv[0]`). */
  readonly displayName: string;
  /** Host working directory. */
  readonly cwd: string;
  /** The complete environment (nothing is inherited). */
  readonly env: Readonly<Record<string, string>>;
  /** Written to standard input, which is then closed. Without it standard input is `/dev/null`. */
  readonly stdin?: Uint8Array | undefined;
  /** Past this the group gets SIGTERM, then SIGKILL after `killGraceMs`; the result says `timedOut`. */
  readonly timeoutMs?: number | undefined;
  readonly killGraceMs: number;
  /** Bytes kept per stream. */
  readonly maxOutputBytes: number;
  /** Receives each chunk as it arrives, up to `maxOutputBytes` per stream. */
  readonly onOutput?: ((chunk: OutputChunkV1) => void) | undefined;
  /** Aborting stops the command (as a timeout does) and rejects with {@link ProcessRequest.abortError}. */
  readonly signal: AbortSignal;
  /** The error to reject with when `signal` aborts. */
  readonly abortError: (reason: unknown) => unknown;
}

/** A command started by {@link startProcess}. */
export interface RunningProcess {
  /** Settles once the command and every process of its group are gone. */
  readonly result: Promise<ExecResultV1>;
  /** Kills the whole group now (SIGKILL) and makes `result` reject with `error`. */
  kill(error: unknown): void;
}

/**
 * Runs a command in a new session and process group (no shell), captures its output with a cap,
 * and guarantees that nothing of it outlives it: when the main process exits, whatever is left of
 * its group (background children) is killed before `result` settles. A timeout or an abort sends
 * SIGTERM to the group, then SIGKILL after the grace period.
 *
 * A program that cannot be started is a result, as a shell reports it: exit code 127 when it is
 * not found, 126 when it is not executable, with a line on stderr.
 */
export function startProcess(request: ProcessRequest): RunningProcess {
  const started = performance.now();
  const stdout = new OutputCapture(request.maxOutputBytes);
  const stderr = new OutputCapture(request.maxOutputBytes);
  let child: ChildProcess;
  let resolveResult!: (value: ExecResultV1) => void;
  let rejectResult!: (error: unknown) => void;
  const result = new Promise<ExecResultV1>((resolve, reject) => {
    resolveResult = resolve;
    rejectResult = reject;
  });

  let pgid: number | undefined;
  let exited: { code: number | null; signal: NodeJS.Signals | null; durationMs: number } | undefined;
  let failure: { error: unknown } | undefined;
  let callbackError: { error: unknown } | undefined;
  let timedOut = false;
  let lastSignal: NodeJS.Signals | undefined;
  let killing = false;
  let settled = false;
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void): NodeJS.Timeout => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
    return timer;
  };
  let deadline: NodeJS.Timeout | undefined;

  const send = (signal: NodeJS.Signals): void => {
    if (pgid === undefined) return;
    lastSignal = signal;
    signalGroup(pgid, signal);
  };
  const killNow = (): void => {
    if (killing) return;
    killing = true;
    send("SIGKILL");
    later(EXIT_WAIT_MS, () => finish());
  };
  const stop = (graceful: boolean): void => {
    if (deadline !== undefined) clearTimeout(deadline);
    if (exited !== undefined) return;
    if (!graceful || request.killGraceMs === 0) {
      killNow();
      return;
    }
    if (lastSignal !== undefined) return;
    send("SIGTERM");
    later(Math.min(request.killGraceMs, MAX_TIMER_MS), killNow);
  };
  const onAbort = (): void => {
    failure ??= { error: request.abortError(request.signal.reason) };
    stop(true);
  };

  const finish = (): void => {
    if (settled) return;
    settled = true;
    for (const timer of timers) clearTimeout(timer);
    if (deadline !== undefined) clearTimeout(deadline);
    request.signal.removeEventListener("abort", onAbort);
    if (pgid !== undefined) {
      signalGroup(pgid, "SIGKILL");
      untrackGroup(pgid);
    }
    child.stdout?.destroy();
    child.stderr?.destroy();
    child.stdin?.destroy();
    if (failure !== undefined) {
      rejectResult(failure.error);
      return;
    }
    if (callbackError !== undefined) {
      rejectResult(callbackError.error);
      return;
    }
    resolveResult({
      exitCode: timedOut ? null : (exited?.code ?? null),
      signal: exited?.signal ?? (timedOut || exited === undefined ? (lastSignal ?? null) : null),
      stdout: stdout.text(),
      stderr: stderr.text(),
      stdoutTruncated: stdout.truncated,
      stderrTruncated: stderr.truncated,
      durationMs: round(exited?.durationMs ?? performance.now() - started),
      timedOut,
    });
  };

  const forward = (stream: "stdout" | "stderr", data: Buffer): void => {
    if (data.length === 0 || request.onOutput === undefined || callbackError !== undefined) return;
    try {
      request.onOutput({ stream, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    } catch (error) {
      callbackError = { error };
    }
  };

  child = spawn(request.file, [...request.args], {
    cwd: request.cwd,
    env: { ...request.env },
    detached: true,
    stdio: [request.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    windowsHide: true,
  });
  pgid = child.pid;
  if (pgid !== undefined) trackGroup(pgid);

  // The result keeps at most maxOutputBytes per stream; live output gets every byte.
  child.stdout!.on("data", (chunk: Buffer) => {
    stdout.push(chunk);
    forward("stdout", chunk);
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr.push(chunk);
    forward("stderr", chunk);
  });
  if (child.stdin !== null && request.stdin !== undefined) {
    child.stdin.on("error", () => {
      // EPIPE: the command exited without reading all of its input. Not an error of the run.
    });
    child.stdin.end(request.stdin);
  }

  child.on("error", (error) => {
    if (pgid !== undefined) return; // Started; a later error (a failed kill) changes nothing.
    const code = errnoOf(error);
    const exitCode = code === "ENOENT" ? 127 : code === "EACCES" ? 126 : 126;
    const why = code === "ENOENT" ? "command not found" : code === "EACCES" ? "permission denied" : `cannot execute (${code ?? "error"})`;
    stderr.push(Buffer.from(`sandkit: ${request.displayName}: ${why}\n`));
    exited = { code: exitCode, signal: null, durationMs: performance.now() - started };
    finish();
  });

  child.on("exit", (code, signal) => {
    exited = { code, signal, durationMs: performance.now() - started };
    if (deadline !== undefined) clearTimeout(deadline);
    // The command is over: nothing it started may outlive it.
    if (pgid !== undefined) signalGroup(pgid, "SIGKILL");
    later(CLOSE_WAIT_MS, finish);
  });
  child.on("close", finish);

  if (pgid !== undefined) {
    if (request.timeoutMs !== undefined) {
      deadline = setTimeout(() => {
        timedOut = true;
        stop(true);
      }, Math.min(request.timeoutMs, MAX_TIMER_MS));
    }
    if (request.signal.aborted) onAbort();
    else request.signal.addEventListener("abort", onAbort, { once: true });
  }

  return {
    result,
    kill(error: unknown) {
      if (settled) return;
      failure ??= { error };
      if (pgid === undefined) return;
      killNow();
    },
  };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
