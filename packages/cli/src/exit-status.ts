import { constants } from "node:os";

/** The exit status of a command that ran past its `--timeout`, as coreutils `timeout` uses. */
export const TIMEOUT_EXIT_STATUS = 124;

/** What the CLI needs to know about a finished command. */
export interface FinishedCommand {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
}

/** The number of a signal by name (`"SIGKILL"` -> 9), or `undefined` for a name this OS lacks. */
export function signalNumber(name: string): number | undefined {
  const number = (constants.signals as Readonly<Record<string, number | undefined>>)[name];
  return typeof number === "number" ? number : undefined;
}

/**
 * The CLI's exit status for a finished command, the way a shell reports it: the command's own
 * exit code; 124 after a timeout; 128 + n when signal n killed it; 1 when it ended in a way that
 * has no number.
 */
export function exitStatusOf(result: FinishedCommand): number {
  if (result.timedOut) return TIMEOUT_EXIT_STATUS;
  if (result.exitCode !== null) return result.exitCode;
  const number = result.signal === null ? undefined : signalNumber(result.signal);
  return number === undefined ? 1 : 128 + number;
}
