import { AbortedError, AuthenticationError, ConnectionError, RequestTimeoutError, SandboxNotFoundError, ServerError } from "@sandkit/core";
import { describe, expect, it } from "vitest";
import { isNotYet, waitUntilReady } from "./ready-wait.ts";

const refused = (): ConnectionError => new ConnectionError("refused", { errno: "ECONNREFUSED", requestSent: false });
const base = { sandboxId: "s", operation: "create", minDelayMs: 5, maxDelayMs: 10, random: () => 0.5 };

describe("waitUntilReady", () => {
  it("polls through refused connections and 5xx until the probe succeeds", async () => {
    let calls = 0;
    const value = await waitUntilReady(
      async () => {
        calls += 1;
        if (calls <= 2) throw refused();
        if (calls === 3) throw new ServerError("502", { status: 502 });
        return "ready";
      },
      { ...base, deadline: Date.now() + 5000, signal: new AbortController().signal },
    );
    expect(value).toBe("ready");
    expect(calls).toBe(4);
  });

  it("ends at once on an error that is not 'not yet'", async () => {
    let calls = 0;
    const error = await waitUntilReady(
      async () => {
        calls += 1;
        throw new AuthenticationError("no", {});
      },
      { ...base, deadline: Date.now() + 5000, signal: new AbortController().signal },
    ).catch((e: unknown) => e);
    expect(AuthenticationError.isInstance(error)).toBe(true);
    expect(calls).toBe(1);
  });

  it("gives up with RequestTimeoutError at the deadline, with the last failure as cause", async () => {
    const started = Date.now();
    const error = await waitUntilReady(
      async () => {
        throw refused();
      },
      { ...base, deadline: Date.now() + 200, signal: new AbortController().signal },
    ).catch((e: unknown) => e);
    expect(RequestTimeoutError.isInstance(error)).toBe(true);
    expect(ConnectionError.isInstance((error as Error).cause)).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("stops with AbortedError when the signal aborts while waiting", async () => {
    const controller = new AbortController();
    const pending = waitUntilReady(
      async () => {
        throw refused();
      },
      { ...base, minDelayMs: 1000, maxDelayMs: 1000, deadline: Date.now() + 60_000, signal: controller.signal },
    ).catch((e: unknown) => e);
    controller.abort();
    expect(AbortedError.isInstance(await pending)).toBe(true);
  });

  it("lets the check end the wait early (a pod that is gone)", async () => {
    let probes = 0;
    let now = 0;
    const error = await waitUntilReady(
      async () => {
        probes += 1;
        throw refused();
      },
      {
        ...base,
        deadline: Date.now() + 60_000,
        signal: new AbortController().signal,
        check: async () => {
          now += 1;
          throw new SandboxNotFoundError("gone", {});
        },
      },
    ).catch((e: unknown) => e);
    // The check runs at most once a second, so the wait ends within about a second.
    expect(SandboxNotFoundError.isInstance(error)).toBe(true);
    expect(now).toBe(1);
    expect(probes).toBeGreaterThan(1);
  });

  it("classifies 'not yet'", () => {
    expect(isNotYet(refused())).toBe(true);
    expect(isNotYet(new RequestTimeoutError("t", {}))).toBe(true);
    expect(isNotYet(new AuthenticationError("a", {}))).toBe(false);
  });
});
