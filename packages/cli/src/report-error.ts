import { SandboxError } from "@sandkit/core";
import type { TextSink } from "./output.js";

/** The exit status when sandkit itself fails (not the command). */
export const SANDKIT_ERROR_EXIT_STATUS = 1;

/**
 * Writes an error to stderr in one or two lines: `sandkit: <CODE>: <message>`, then the error's
 * suggestion when it has one. Sandkit errors have already redacted secrets from their messages.
 * Returns the exit status, 1.
 */
export function reportError(error: unknown, stderr: TextSink, debug = false): number {
  if (SandboxError.isInstance(error)) {
    const sandboxError = error as SandboxError;
    stderr.write(`sandkit: ${sandboxError.code}: ${sandboxError.message}\n`);
    if (sandboxError.suggestion !== undefined) stderr.write(`sandkit: hint: ${sandboxError.suggestion}\n`);
  } else {
    const message = error instanceof Error ? error.message : String(error);
    stderr.write(`sandkit: unexpected error: ${message}\n`);
  }
  if (debug && error instanceof Error && error.stack !== undefined) stderr.write(`${error.stack}\n`);
  return SANDKIT_ERROR_EXIT_STATUS;
}
