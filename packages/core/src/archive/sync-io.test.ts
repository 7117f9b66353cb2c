import { describe, expect, it } from "vitest";
import { SyncIo } from "./sync-io.ts";

/** A clock the test moves by hand. */
function clock(): { now: () => number; advance: (ms: number) => void } {
  let time = 0;
  return { now: () => time, advance: (ms) => (time += ms) };
}

describe("SyncIo", () => {
  it("stays synchronous while groups are quick", () => {
    const c = clock();
    const io = new SyncIo(true, c.now);
    for (let i = 0; i < 1000; i += 1) io.run(() => c.advance(0.05));
    expect(io.allowed).toBe(true);
  });

  it("turns synchronous calls off from the third slow group, when slow groups are 1% or more", () => {
    const c = clock();
    const io = new SyncIo(true, c.now);
    io.run(() => c.advance(25));
    io.run(() => c.advance(25));
    expect(io.allowed).toBe(true);
    io.run(() => c.advance(25));
    expect(io.allowed).toBe(false);
  });

  it("tolerates rare slow groups among many quick ones (a busy CPU)", () => {
    const c = clock();
    const io = new SyncIo(true, c.now);
    for (let i = 0; i < 1000; i += 1) io.run(() => c.advance(i % 400 === 0 ? 25 : 0.01));
    expect(io.allowed).toBe(true);
  });

  it("can be off from the start, and passes results and errors through", () => {
    const io = new SyncIo(false);
    expect(io.allowed).toBe(false);
    expect(io.run(() => 42)).toBe(42);
    expect(() =>
      io.run(() => {
        throw new RangeError("boom");
      }),
    ).toThrow(RangeError);
  });

  it("gives the event loop a turn once a slice has passed", async () => {
    const c = clock();
    const io = new SyncIo(true, c.now);
    let turned = false;
    setImmediate(() => {
      turned = true;
    });
    await io.pace();
    expect(turned).toBe(false);
    c.advance(5);
    await io.pace();
    expect(turned).toBe(true);
  });
});
