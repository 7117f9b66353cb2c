/**
 * A counting semaphore with a bounded wait: the upstream container pool, where each execute
 * takes one of `size` slots for its whole run.
 */
export class SlotPool {
  readonly #size: number;
  #used = 0;
  readonly #waiters: { readonly grant: () => void }[] = [];

  /** A pool of `size` slots. */
  constructor(size: number) {
    this.#size = size;
  }

  /** The number of slots. */
  get size(): number {
    return this.#size;
  }

  /** Slots taken right now. */
  get used(): number {
    return this.#used;
  }

  /**
   * Takes a slot, waiting at most `waitMs` for one (or until `signal` aborts). Resolves to the
   * function that gives it back (idempotent), or `undefined` when none came free in time.
   */
  acquire(waitMs: number, signal?: AbortSignal): Promise<(() => void) | undefined> {
    if (this.#used < this.#size && this.#waiters.length === 0) {
      this.#used += 1;
      return Promise.resolve(this.#releaser());
    }
    if (waitMs <= 0 || signal?.aborted === true) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiter = {
        grant: (): void => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          resolve(this.#releaser());
        },
      };
      const giveUp = (): void => {
        const index = this.#waiters.indexOf(waiter);
        if (index !== -1) this.#waiters.splice(index, 1);
        signal?.removeEventListener("abort", onAbort);
        clearTimeout(timer);
        resolve(undefined);
      };
      const onAbort = (): void => giveUp();
      const timer = setTimeout(giveUp, waitMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      // The slot passes straight to the next waiter; `used` stays the same.
      if (next !== undefined) next.grant();
      else this.#used -= 1;
    };
  }
}
