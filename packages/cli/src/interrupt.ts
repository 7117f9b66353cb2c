import { signalNumber } from "./exit-status.js";

/**
 * The abort reason the CLI uses when it is told to stop (Ctrl-C, `kill`, a closed output pipe):
 * the command is aborted, the sandbox disposed, and the CLI exits with 128 + the signal's number.
 */
export class Interrupted extends Error {
  /** The signal that stopped the CLI, e.g. `"SIGINT"`. */
  readonly signalName: NodeJS.Signals;

  constructor(signalName: NodeJS.Signals) {
    super(`interrupted by ${signalName}`);
    this.name = "Interrupted";
    this.signalName = signalName;
  }

  /** The CLI's exit status after this interruption: 128 + the signal's number (130 for SIGINT). */
  get exitStatus(): number {
    return 128 + (signalNumber(this.signalName) ?? 2);
  }
}
