import { type ExecResultV1, type OutputChunkV1, ProtocolError, ServerError } from "@sandkit/core";
import { BACKEND_NAME } from "./constants.js";
import { decodeCapped, decodeStream } from "./exact-output.js";
import type { ExecuteResult } from "./protocol-types.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Cuts text to `maxBytes` of UTF-8 at a character boundary. */
export function cutText(text: string, maxBytes: number): { readonly text: string; readonly truncated: boolean } {
  const bytes = encoder.encode(text);
  if (bytes.length <= maxBytes) return { text, truncated: false };
  let end = maxBytes;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end -= 1;
  return { text: decoder.decode(bytes.subarray(0, end)), truncated: true };
}

/**
 * Maps a one-command execute answer to sandkit's result:
 * - `success` / `command-failed`: the command's exit code, its stdout and stderr (byte for byte
 *   through the exact-output wrapper, else as the server trimmed them);
 * - `timed-out`: `timedOut: true`, `exitCode: null`, the server's texts as they are;
 * - `unknown-error`: a `ServerError` (`protocolCode: "UNKNOWN"`): the sandbox could not run the
 *   command, or its stdout or stderr was not valid UTF-8, which the protocol cannot carry;
 * - `result-not-found` / `result-not-utf8`: a `ProtocolError` (the session never asks for a result file).
 */
export function toExecResult(
  answer: ExecuteResult,
  options: {
    readonly maxOutputBytes: number;
    readonly onOutput?: ((chunk: OutputChunkV1) => void) | undefined;
    readonly sandboxId: string;
    /** Whether the command ran in the exact-output wrapper (base64 streams). */
    readonly exact: boolean;
  },
): ExecResultV1 {
  const where = { backend: BACKEND_NAME, operation: "exec", sandboxId: options.sandboxId };
  const entry = answer.execution.at(-1)!;
  if (answer.outcome === "unknown-error") {
    throw new ServerError("the sandbox could not run the command, or its output was not valid UTF-8 (the sandbox-api protocol carries text only)", {
      ...where,
      protocolCode: "UNKNOWN",
      suggestion: "Write binary output to a file and read it with files.read, or pipe it through base64.",
    });
  }
  if (answer.outcome === "result-not-found" || answer.outcome === "result-not-utf8") {
    throw new ProtocolError(`the server answered ${answer.outcome} to a run that read no result file`, { ...where, protocolCode: answer.status });
  }
  const timedOut = answer.outcome === "timed-out";
  // A timed-out command's streams are the server's own texts (never the wrapper's base64).
  const exact = options.exact && !timedOut;
  const stdout = exact ? decodeCapped(decodeStream(entry.stdout, "stdout", options.sandboxId), options.maxOutputBytes) : cutText(entry.stdout, options.maxOutputBytes);
  const stderr = exact ? decodeCapped(decodeStream(entry.stderr, "stderr", options.sandboxId), options.maxOutputBytes) : cutText(entry.stderr, options.maxOutputBytes);
  if (options.onOutput !== undefined) {
    if (stdout.text !== "") options.onOutput({ stream: "stdout", data: encoder.encode(stdout.text) });
    if (stderr.text !== "") options.onOutput({ stream: "stderr", data: encoder.encode(stderr.text) });
  }
  return {
    exitCode: timedOut ? null : entry.exitCode,
    stdout: stdout.text,
    stderr: stderr.text,
    stdoutTruncated: stdout.truncated,
    stderrTruncated: stderr.truncated,
    durationMs: Math.max(0, entry.timeSeconds * 1000),
    timedOut,
  };
}
