/**
 * A problem with the command line itself (an unknown flag, a missing argument, a script whose
 * extension names no interpreter). The CLI prints its message and exits with status 2.
 */
export class UsageError extends Error {
  /** The exit status of a usage error. */
  static readonly exitCode = 2;

  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
