import { setImmediate as nextTurn } from "node:timers/promises";

/** A group of synchronous calls (one file) slower than this is slow, in milliseconds. */
const SLOW_GROUP_MS = 20;
/** Slow groups that turn synchronous calls off, when they are also at least 1% of all groups. */
const SLOW_GROUPS_TO_STOP = 3;
/** Longest stretch of synchronous calls before the event loop gets a turn, in milliseconds. */
const SLICE_MS = 2;

/**
 * Decides when small files may be handled with synchronous `fs` calls, and keeps the event loop
 * turning while they are.
 *
 * Each asynchronous `fs` call is a round trip through libuv's thread pool that costs more
 * main-thread time than the call itself on a local disk (an `open` takes a few microseconds), so
 * an archive of ten thousand small files is several times slower through `fs/promises` than
 * through GNU tar. Small files (metadata, and content that is already in memory) therefore use
 * synchronous calls, with two guards:
 * - the event loop gets a turn at least every {@link SLICE_MS} ms;
 * - groups of calls (one file each) that take longer than {@link SLOW_GROUP_MS} ms (a network
 *   file system, a disk under write-back pressure) switch this archive to asynchronous calls for
 *   good, from the third one on (and from 1% of all groups: a busy CPU can also delay a call).
 * Large contents are always read and written asynchronously.
 */
export class SyncIo {
  private enabled: boolean;
  private groups = 0;
  private slowGroups = 0;
  private lastTurn: number;

  /**
   * @param enabled `false` never allows synchronous calls.
   * @param now The clock, in milliseconds (tests pass their own).
   */
  constructor(
    enabled = true,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.enabled = enabled;
    this.lastTurn = now();
  }

  /** Whether synchronous calls are still allowed. */
  get allowed(): boolean {
    return this.enabled;
  }

  /** Runs a group of synchronous calls, timing it. */
  run<T>(work: () => T): T {
    const started = this.now();
    try {
      return work();
    } finally {
      this.groups += 1;
      if (this.now() - started > SLOW_GROUP_MS) {
        this.slowGroups += 1;
        if (this.slowGroups >= SLOW_GROUPS_TO_STOP && this.slowGroups * 100 >= this.groups) this.enabled = false;
      }
    }
  }

  /** Gives the event loop a turn when synchronous calls have held it for a while. */
  async pace(): Promise<void> {
    if (this.now() - this.lastTurn < SLICE_MS) return;
    await nextTurn();
    this.lastTurn = this.now();
  }
}
