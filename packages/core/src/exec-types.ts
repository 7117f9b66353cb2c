/** Options of `sandbox.exec` and `sandbox.sh`. */
export interface ExecOptions {
  /** Working directory; relative paths resolve against the sandbox's workdir. */
  readonly cwd?: string | undefined;
  /** Extra environment variables for this command. */
  readonly env?: Readonly<Record<string, string>> | undefined;
  /** Bytes (or UTF-8 text) written to the command's standard input, which is then closed. */
  readonly stdin?: string | Uint8Array | undefined;
  /**
   * The command's time limit in milliseconds. Past it the command (and every process it started)
   * is killed and the result has `timedOut: true`. Default: the sandbox's `execTimeoutMs`, if any.
   */
  readonly timeoutMs?: number | undefined;
  /** Aborts the command (it is killed) and rejects with `AbortedError`. */
  readonly signal?: AbortSignal | undefined;
  /** Throw `CommandFailedError` on a non-zero exit and `CommandTimeoutError` on a timeout. Default `false`. */
  readonly check?: boolean | undefined;
  /** Bytes kept per stream; the rest is dropped and the result says so. Default: the sandbox's `maxOutputBytes`. */
  readonly maxOutputBytes?: number | undefined;
  /**
   * Receives stdout text as it arrives (at the end on `buffered` backends). On `live` backends it
   * gets all output, also past `maxOutputBytes`, which caps only what the result keeps.
   */
  readonly onStdout?: ((text: string) => void) | undefined;
  /** Receives stderr text as it arrives (at the end on `buffered` backends). */
  readonly onStderr?: ((text: string) => void) | undefined;
}

/** What a command did. A non-zero exit is a result, not an error. */
export interface ExecResult {
  /** The exit code, or `null` when the command was killed (timeout, abort, signal). */
  readonly exitCode: number | null;
  /** The signal that ended the command, when known. */
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Whether either stream was cut at `maxOutputBytes`. */
  readonly truncated: boolean;
  readonly stdoutTruncated: boolean;
  readonly stderrTruncated: boolean;
  /** Wall time of the command in milliseconds. */
  readonly durationMs: number;
  /** Whether the command was stopped by its `timeoutMs`. */
  readonly timedOut: boolean;
}

/** Options of `sandbox.runCode`. */
export interface RunCodeOptions extends Omit<ExecOptions, "cwd" | "env" | "stdin"> {
  /** The language, one of `sandbox.capabilities.codeLanguages` (e.g. `"python"`). */
  readonly language: string;
}

/** Options every other sandbox call takes. */
export interface CallOptions {
  readonly signal?: AbortSignal | undefined;
  /** Deadline for this call in milliseconds. */
  readonly timeoutMs?: number | undefined;
}
