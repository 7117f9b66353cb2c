import type { ExecResultV1, OutputChunkV1 } from "@sandkit/core";
import type { ExecAnswer } from "./client.js";

/** The exit code a command killed at its time limit reports (coreutils `timeout`, the upstream LocalBackend, later servers). */
export const TIMEOUT_EXIT_CODE = 124;

/**
 * How far below its time limit a command may have run and still count as stopped by it. Servers
 * measure `durationMs` from slightly after they arm their timer, so a killed command can come
 * back a little under the limit.
 */
export const TIMEOUT_TOLERANCE_MS = 250;

/**
 * Whether an answer of `exitCode` 124 means the server stopped the command at its time limit
 * rather than the command exiting 124 by itself: it did if the command ran (by the server's
 * `durationMs`, else by the time the request took) for at least the limit, less
 * {@link TIMEOUT_TOLERANCE_MS}. A command that exits 124 of its own accord before its limit is an
 * ordinary exit 124. (One that exits 124 by itself exactly at its limit cannot be told apart.)
 */
export function isTimeoutExit(exitCode: number, ranMs: number, timeoutSeconds: number): boolean {
  return exitCode === TIMEOUT_EXIT_CODE && ranMs >= timeoutSeconds * 1000 - TIMEOUT_TOLERANCE_MS;
}

/** Cuts `text` to at most `maxBytes` UTF-8 bytes, at a character boundary. */
export function cutUtf8(text: string, maxBytes: number): { readonly text: string; readonly truncated: boolean } {
  // Cheap check first: most output is far below the cap.
  if (text.length <= maxBytes / 3 || Buffer.byteLength(text, "utf8") <= maxBytes) return { text, truncated: false };
  const all = Buffer.from(text, "utf8");
  let end = maxBytes;
  // Step back over continuation bytes so that no character is split.
  while (end > 0 && (all[end]! & 0xc0) === 0x80) end -= 1;
  return { text: all.toString("utf8", 0, end), truncated: true };
}

/** What {@link toExecResult} needs besides the answer. */
export interface OutcomeContext {
  readonly timeoutSeconds: number;
  /** How long the request took, in milliseconds. */
  readonly elapsedMs: number;
  readonly maxOutputBytes: number;
  readonly onOutput?: ((chunk: OutputChunkV1) => void) | undefined;
}

/**
 * Turns a 200 exec answer into sandkit's result: output cut at `maxOutputBytes` (and flagged),
 * handed once to `onOutput` (this is a buffered backend), and an exit 124 at the time limit
 * reported as `timedOut` with no exit code. Other exit codes are kept as sent, negative ones
 * included (the reference server says -1 for "unknown").
 */
export function toExecResult(answer: ExecAnswer, context: OutcomeContext): ExecResultV1 {
  const stdout = cutUtf8(answer.stdout, context.maxOutputBytes);
  const stderr = cutUtf8(answer.stderr, context.maxOutputBytes);
  const onOutput = context.onOutput;
  if (onOutput !== undefined) {
    if (stdout.text !== "") onOutput({ stream: "stdout", data: Buffer.from(stdout.text, "utf8") });
    if (stderr.text !== "") onOutput({ stream: "stderr", data: Buffer.from(stderr.text, "utf8") });
  }
  const ranMs = answer.durationMs ?? context.elapsedMs;
  const timedOut = isTimeoutExit(answer.exitCode, ranMs, context.timeoutSeconds);
  return {
    exitCode: timedOut ? null : answer.exitCode,
    signal: null,
    stdout: stdout.text,
    stderr: stderr.text,
    stdoutTruncated: stdout.truncated || answer.stdoutTruncated,
    stderrTruncated: stderr.truncated || answer.stderrTruncated,
    durationMs: Math.max(0, Math.round(ranMs)),
    timedOut,
  };
}

/** The result of a command the server stopped with `504 EXEC_TIMEOUT` (no output comes with it). */
export function timedOutResult(elapsedMs: number): ExecResultV1 {
  return {
    exitCode: null,
    signal: null,
    stdout: "",
    stderr: "",
    stdoutTruncated: false,
    stderrTruncated: false,
    durationMs: Math.max(0, Math.round(elapsedMs)),
    timedOut: true,
  };
}
