import { defineErrorMarker, SandboxError, type SandboxErrorOptions } from "./sandbox-error.js";

/** Options of {@link CommandTimeoutError}. */
export interface CommandTimeoutErrorOptions extends SandboxErrorOptions {
  /** The command's time limit. */
  readonly timeoutMs: number;
  /** Output captured before the command was stopped. */
  readonly stdout?: string | undefined;
  readonly stderr?: string | undefined;
}

/**
 * A command ran past its own `timeoutMs` and was stopped. Thrown only with `check: true`; without
 * it `exec` returns `{ timedOut: true }`. Not the same as {@link RequestTimeoutError}, which is a
 * request to the backend that took too long.
 */
export class CommandTimeoutError extends SandboxError {
  static override readonly code = "COMMAND_TIMEOUT";
  readonly timeoutMs: number;
  readonly stdout: string;
  readonly stderr: string;
  constructor(message: string, options: CommandTimeoutErrorOptions) {
    super(message, { suggestion: "Raise timeoutMs, or make the command finish sooner.", ...options });
    this.timeoutMs = options.timeoutMs;
    this.stdout = options.stdout ?? "";
    this.stderr = options.stderr ?? "";
  }
}
defineErrorMarker(CommandTimeoutError, "CommandTimeoutError");
