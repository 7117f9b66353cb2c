import { describe, expect, it } from "vitest";
import { SlotPool } from "./slot-pool.js";

describe("SlotPool", () => {
  it("hands out up to size slots, then waits at most waitMs", async () => {
    const pool = new SlotPool(2);
    const a = await pool.acquire(0);
    const b = await pool.acquire(0);
    expect(a).toBeTypeOf("function");
    expect(b).toBeTypeOf("function");
    expect(pool.used).toBe(2);
    expect(await pool.acquire(0)).toBeUndefined();
    const started = Date.now();
    expect(await pool.acquire(50)).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    a!();
    a!(); // idempotent
    expect(pool.used).toBe(1);
  });

  it("passes a released slot to the first waiter, in order", async () => {
    const pool = new SlotPool(1);
    const first = await pool.acquire(0);
    const order: string[] = [];
    const w1 = pool.acquire(5_000).then((release) => {
      order.push("w1");
      return release;
    });
    const w2 = pool.acquire(5_000).then((release) => {
      order.push("w2");
      return release;
    });
    first!();
    const r1 = await w1;
    expect(order).toEqual(["w1"]);
    expect(pool.used).toBe(1);
    r1!();
    (await w2)!();
    expect(order).toEqual(["w1", "w2"]);
    expect(pool.used).toBe(0);
  });

  it("stops waiting when the signal aborts", async () => {
    const pool = new SlotPool(1);
    await pool.acquire(0);
    const controller = new AbortController();
    const waiting = pool.acquire(60_000, controller.signal);
    controller.abort();
    expect(await waiting).toBeUndefined();
    expect(await pool.acquire(0, AbortSignal.abort())).toBeUndefined();
  });
});
