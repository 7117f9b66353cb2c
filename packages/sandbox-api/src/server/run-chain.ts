import { constants } from "node:os";
import { performance } from "node:perf_hooks";
import type { CallContextV1, SandboxConnectionV1 } from "@sandkit/core";
import type { ChainCommand } from "./execute-config.js";
import { pythonFloat } from "./python-format.js";

/** One entry of the response's `execution` list. */
export interface ExecutionEntry {
  /** The command as run (without its leading `-`). */
  readonly command: string;
  /** 0–255 from bash, 128+N for a signal, -1 (the sandbox could not run it, or its output was not UTF-8) or -2 (timed out). */
  readonly exit_code: number;
  /** Whole stdout, decoded as strict UTF-8 and trimmed. */
  readonly stdout: string;
  /** Whole stderr, decoded as strict UTF-8 and trimmed (the synthetic texts end in a newline). */
  readonly stderr: string;
  /** Wall time in seconds. */
  readonly time: number;
}

/** What the chain did. */
export interface ChainResult {
  /** 0, the exit code of the command that stopped the chain, -1 or -2. */
  readonly status: number;
  readonly execution: readonly ExecutionEntry[];
}

/** Settings of one run. */
export interface ChainSettings {
  readonly workdir: string;
  readonly env: Readonly<Record<string, string>>;
  /** Total budget of the chain, and default timeout of each command, in seconds. */
  readonly budgetSeconds: number;
  /** Bytes of each stream kept per command. */
  readonly maxOutputBytes: number;
  /** Told about sandbox failures that become exit code -1. */
  readonly onFailure?: ((error: unknown) => void) | undefined;
}

/** The synthetic stderr of a command the sandbox could not run (upstream's text). */
export const UNKNOWN_ERROR_TEXT = "An unknown error occurred on the sandbox\n";

/**
 * Runs the commands one after another (each a fresh `bash -c` in the working directory) under a
 * shared budget (§5.1–5.2): each command gets the smaller of its own timeout (or the budget) and
 * what is left of the budget, and the budget shrinks by each command's time. A timeout of zero
 * or less, or a spent budget, times out at once without running (upstream, 0 meant no limit).
 * The chain stops at the first failure or timeout of a command without a leading `-`, and at
 * any -1. Aborting `call` (client gone, server closing) rejects.
 */
export async function runChain(
  connection: SandboxConnectionV1,
  commands: readonly ChainCommand[],
  settings: ChainSettings,
  call: CallContextV1,
): Promise<ChainResult> {
  const execution: ExecutionEntry[] = [];
  let budget = settings.budgetSeconds;
  for (const command of commands) {
    const own = command.timeoutSeconds;
    const limitedByBudget = own === undefined || own > budget;
    const timeout = limitedByBudget ? budget : own;
    const entry = await runOne(connection, command.command, timeout, limitedByBudget, settings, call);
    execution.push(entry);
    budget -= entry.time;
    if (entry.exit_code === -1) return { status: -1, execution };
    if (entry.exit_code !== 0 && !command.ignoreFailure) return { status: entry.exit_code, execution };
  }
  return { status: 0, execution };
}

async function runOne(
  connection: SandboxConnectionV1,
  command: string,
  timeoutSeconds: number,
  timeoutIsFloat: boolean,
  settings: ChainSettings,
  call: CallContextV1,
): Promise<ExecutionEntry> {
  const timedOut = (time: number): ExecutionEntry => ({
    command,
    exit_code: -2,
    stdout: "",
    stderr: `Command timed out after ${timeoutIsFloat || !Number.isInteger(timeoutSeconds) ? pythonFloat(timeoutSeconds) : String(timeoutSeconds)} seconds\n`,
    time,
  });
  if (timeoutSeconds <= 0) return timedOut(0);
  const stdout = new Capture(settings.maxOutputBytes);
  const stderr = new Capture(settings.maxOutputBytes);
  const started = performance.now();
  let result;
  try {
    result = await connection.exec(
      {
        argv: ["bash", "-c", command],
        cwd: settings.workdir,
        env: settings.env,
        timeoutMs: Math.max(1, Math.ceil(timeoutSeconds * 1000)),
        maxOutputBytes: settings.maxOutputBytes,
        onOutput: (chunk) => (chunk.stream === "stdout" ? stdout : stderr).add(chunk.data),
      },
      call,
    );
  } catch (error) {
    if (call.signal.aborted) throw error;
    settings.onFailure?.(error);
    return { command, exit_code: -1, stdout: "", stderr: UNKNOWN_ERROR_TEXT, time: (performance.now() - started) / 1000 };
  }
  const time = (performance.now() - started) / 1000;
  if (result.timedOut) return timedOut(time);
  const out = stdout.text(result.stdout);
  const err = stderr.text(result.stderr);
  if (out === undefined || err === undefined) return { command, exit_code: -1, stdout: "", stderr: UNKNOWN_ERROR_TEXT, time };
  return { command, exit_code: exitCodeOf(result.exitCode, result.signal), stdout: pythonStrip(out), stderr: pythonStrip(err), time };
}

/** Python's whitespace (`str.isspace()`): unlike JavaScript's `trim()`, a byte-order mark is not whitespace. */
const PYTHON_SPACE = "[\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const PYTHON_STRIP = new RegExp(`^${PYTHON_SPACE}+|${PYTHON_SPACE}+$`, "gu");

/** Python's `str.strip()`. */
export function pythonStrip(text: string): string {
  return text.replace(PYTHON_STRIP, "");
}

/** The exit code as a container reports it: the code, or 128 + the signal number; -1 when neither is known. */
function exitCodeOf(exitCode: number | null, signal: string | null | undefined): number {
  if (exitCode !== null) return exitCode;
  const number = signal === null || signal === undefined ? undefined : (constants.signals as Record<string, number | undefined>)[signal];
  return number === undefined ? -1 : 128 + number;
}

/** The bytes of one stream, up to a limit, decoded as strict UTF-8 at the end. */
class Capture {
  readonly #max: number;
  readonly #chunks: Uint8Array[] = [];
  #bytes = 0;
  #seen = false;
  #truncated = false;

  constructor(max: number) {
    this.#max = max;
  }

  add(data: Uint8Array): void {
    this.#seen = true;
    const room = this.#max - this.#bytes;
    if (room <= 0) {
      this.#truncated ||= data.byteLength > 0;
      return;
    }
    const kept = data.byteLength > room ? data.subarray(0, room) : data;
    if (kept.byteLength < data.byteLength) this.#truncated = true;
    // Copied: a backend may reuse its buffers.
    this.#chunks.push(Uint8Array.prototype.slice.call(kept));
    this.#bytes += kept.byteLength;
  }

  /**
   * The text, or `undefined` when it is not valid UTF-8. A cut stream may end inside a
   * character; that partial character is dropped. A backend that never called `onOutput` is
   * taken at its decoded word (`fallback`).
   */
  text(fallback: string): string | undefined {
    if (!this.#seen) return fallback;
    const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    try {
      return decoder.decode(Buffer.concat(this.#chunks, this.#bytes), { stream: this.#truncated });
    } catch {
      return undefined;
    }
  }
}
