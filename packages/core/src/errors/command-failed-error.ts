import { defineErrorMarker, SandboxError, type SandboxErrorOptions } from "./sandbox-error.js";

/** Options of {@link CommandFailedError}. */
export interface CommandFailedErrorOptions extends SandboxErrorOptions {
  readonly exitCode: number | null;
  readonly signal?: string | null | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

/** A command exited non-zero and the caller asked for `check: true`. Carries the full result. */
export class CommandFailedError extends SandboxError {
  static override readonly code = "COMMAND_FAILED";
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  constructor(message: string, options: CommandFailedErrorOptions) {
    super(message, options);
    this.exitCode = options.exitCode;
    this.signal = options.signal ?? null;
    this.stdout = options.stdout;
    this.stderr = options.stderr;
  }
}
defineErrorMarker(CommandFailedError, "CommandFailedError");
