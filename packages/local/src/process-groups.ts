import { errnoOf } from "./local-errors.js";

const live = new Set<number>();
let hooked = false;

/**
 * Sends `signal` to every process of the group `pgid`. A group that is already gone is not an
 * error. Returns whether the group still existed.
 */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    if (errnoOf(error) === "ESRCH") return false;
    throw error;
  }
}

/**
 * Records a process group that runs a command, so that it is killed if this process exits while
 * it runs. The `exit` hook is installed on first use and SIGKILLs every recorded group. (An exit
 * by an unhandled signal such as SIGINT does not run `exit` hooks; see the README.)
 */
export function trackGroup(pgid: number): void {
  if (!hooked) {
    hooked = true;
    process.on("exit", killAllGroups);
  }
  live.add(pgid);
}

/** Forgets a group once nothing of it is left. */
export function untrackGroup(pgid: number): void {
  live.delete(pgid);
}

/** The groups recorded now (for tests and diagnostics). */
export function trackedGroups(): readonly number[] {
  return [...live];
}

function killAllGroups(): void {
  for (const pgid of live) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  live.clear();
}
