import type { ExecResultV1, OutputChunkV1 } from "@sandkit/core";
import type { OutputLine } from "./client.js";

/** The line a portal appends (on stderr, at HTTP 200) when a REPL run passes its `timeout`. */
export const REPL_TIMEOUT_LINE = /^Error: Execution timed out after \d+ seconds$/;

/**
 * Joins the lines of one stream.
 * - `upstream` (for `runCode`): the SDKs' rule, each line plus `\n`, then trailing whitespace
 *   removed (Python's `rstrip`).
 * - `lines` (for `exec`): each line plus `\n`, nothing removed. The wire drops the newlines, so a
 *   last line that had none gains one; that is the closest reading of what the command wrote.
 */
export function joinLines(lines: readonly OutputLine[], stream: "stdout" | "stderr", rule: "upstream" | "lines"): string {
  let text = "";
  for (const line of lines) if (line.stream === stream) text += `${line.text}\n`;
  return rule === "upstream" ? text.trimEnd() : text;
}

/** Cuts text to at most `maxBytes` UTF-8 bytes without splitting a character. */
export function cutUtf8(text: string, maxBytes: number): { readonly text: string; readonly truncated: boolean } {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.byteLength <= maxBytes) return { text, truncated: false };
  let end = Math.max(0, Math.floor(maxBytes));
  // Step back over continuation bytes (10xxxxxx) so that no character is split.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end -= 1;
  return { text: bytes.subarray(0, end).toString("utf8"), truncated: true };
}

/** What an answer is turned into an `ExecResultV1` with. */
export interface ResultParts {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly durationMs: number;
  readonly maxOutputBytes: number;
  readonly onOutput?: ((chunk: OutputChunkV1) => void) | undefined;
}

/** Applies `maxOutputBytes` per stream and calls `onOutput` once per non-empty stream (the protocol is buffered). */
export function toExecResult(parts: ResultParts): ExecResultV1 {
  const stdout = cutUtf8(parts.stdout, parts.maxOutputBytes);
  const stderr = cutUtf8(parts.stderr, parts.maxOutputBytes);
  if (parts.onOutput !== undefined) {
    if (stdout.text !== "") parts.onOutput({ stream: "stdout", data: Buffer.from(stdout.text, "utf8") });
    if (stderr.text !== "") parts.onOutput({ stream: "stderr", data: Buffer.from(stderr.text, "utf8") });
  }
  return {
    exitCode: parts.exitCode,
    stdout: stdout.text,
    stderr: stderr.text,
    stdoutTruncated: stdout.truncated,
    stderrTruncated: stderr.truncated,
    durationMs: parts.durationMs,
    timedOut: parts.timedOut,
  };
}
