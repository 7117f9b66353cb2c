import { AbortedError, RequestTimeoutError, ServerError, ValidationError } from "@sandkit/core";
import { describe, expect, it } from "vitest";
import { isNotReady, waitUntilReady } from "./ready-wait.ts";

const notReady = (): ServerError => new ServerError("not ready", { status: 503, protocolCode: "POD_NOT_READY" });

describe("waitUntilReady", () => {
  it("returns at once when the first probe succeeds", async () => {
    let calls = 0;
    const attempts = await waitUntilReady(async () => void calls++, { deadline: Date.now() + 5000, signal: new AbortController().signal, sandboxId: "s1" });
    expect(attempts).toBe(1);
    expect(calls).toBe(1);
  });

  it("polls while the sandbox is not ready, with growing pauses", async () => {
    const times: number[] = [];
    const attempts = await waitUntilReady(
      async () => {
        times.push(performance.now());
        if (times.length < 4) throw notReady();
      },
      { deadline: Date.now() + 10_000, signal: new AbortController().signal, sandboxId: "s1", minDelayMs: 20, maxDelayMs: 1000, random: () => 1 },
    );
    expect(attempts).toBe(4);
    const pauses = times.slice(1).map((t, i) => t - times[i]!);
    // Equal jitter with random() = 1 gives the whole backoff: 20, 40, 80 ms.
    expect(pauses[0]).toBeGreaterThanOrEqual(19);
    expect(pauses[1]).toBeGreaterThanOrEqual(39);
    expect(pauses[2]).toBeGreaterThanOrEqual(79);
  });

  it("stops at once on an error that is not 'not ready'", async () => {
    let calls = 0;
    const failure = new ValidationError("bad");
    await expect(
      waitUntilReady(
        async () => {
          calls += 1;
          throw failure;
        },
        { deadline: Date.now() + 5000, signal: new AbortController().signal, sandboxId: "s1" },
      ),
    ).rejects.toBe(failure);
    expect(calls).toBe(1);
  });

  it("gives up with RequestTimeoutError before passing the deadline", async () => {
    const started = Date.now();
    const error = await waitUntilReady(
      async () => {
        throw notReady();
      },
      { deadline: started + 300, signal: new AbortController().signal, sandboxId: "s1", minDelayMs: 50, maxDelayMs: 100 },
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect((error as RequestTimeoutError).cause).toBeInstanceOf(ServerError);
    expect(Date.now() - started).toBeLessThan(400);
  });

  it("stops with AbortedError when the signal aborts during a pause", async () => {
    const controller = new AbortController();
    const pending = waitUntilReady(
      async () => {
        setTimeout(() => controller.abort(new Error("gave up")), 10);
        throw notReady();
      },
      { deadline: Date.now() + 60_000, signal: controller.signal, sandboxId: "s1", minDelayMs: 5000, maxDelayMs: 5000 },
    );
    const started = Date.now();
    await expect(pending).rejects.toBeInstanceOf(AbortedError);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe("isNotReady", () => {
  it("recognises the not-ready answers", () => {
    expect(isNotReady(notReady())).toBe(true);
    expect(isNotReady(new ServerError("x", { status: 503 }))).toBe(true);
    expect(isNotReady(new ServerError("x", { status: 500, protocolCode: "NOT_READY" }))).toBe(true);
    expect(isNotReady(new ServerError("x", { status: 500, protocolCode: "POD_CREATE_FAILED" }))).toBe(false);
    expect(isNotReady(new ValidationError("x"))).toBe(false);
    expect(isNotReady(new Error("x"))).toBe(false);
  });
});
