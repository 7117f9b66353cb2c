/**
 * The adapter under faults: a loopback fault proxy between the adapter and the compatible server.
 * Calls that act (`sandbox.start`, `sandbox.stop`, `repl.run`, `command.run`) are delivered at
 * most once whatever happens to the connection, and fail with typed errors; `metrics.get` and
 * health survive resets and 503s by retrying.
 */
import {
  type CallContextV1,
  ConnectionError,
  ProtocolError,
  RateLimitError,
  RequestTimeoutError,
  ServerError,
} from "@sandkit/core";
import { createFaultProxy, type FaultProxy, type FaultRule } from "@sandkit/testkit/fault-proxy";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { MicrosandboxClient } from "./client.ts";
import { type MicrosandboxBackend, microsandbox } from "./index.ts";
import { resolveOptions } from "./options.ts";
import { type Harness, bubblewrapWorks, startHarness } from "./test-support/harness.ts";

const bubblewrap = await bubblewrapWorks();
const retry = { maxAttempts: 4, minDelayMs: 5, maxDelayMs: 20 };
const RPC = "/api/v1/rpc";
const call = (timeoutMs = 30_000): CallContextV1 => ({ signal: AbortSignal.timeout(timeoutMs), deadline: Date.now() + timeoutMs });
const control = (timeoutMs = 30_000) => ({ signal: AbortSignal.timeout(60_000), timeoutMs });

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe.skipIf(!bubblewrap)("the adapter through a fault proxy", () => {
  let h: Harness;
  let direct: MicrosandboxBackend;
  let sandboxId: string;
  let proxy: FaultProxy;
  let client: MicrosandboxClient;

  beforeAll(async () => {
    h = await startHarness({ dev: true });
    direct = microsandbox({ url: h.server.url });
    sandboxId = (await direct.create({}, call())).info.id;
  });
  afterAll(async () => {
    await direct?.destroy(sandboxId, call()).catch(() => undefined);
    await direct?.close();
    await h?.close();
  });
  beforeEach(async () => {
    proxy = await createFaultProxy({ target: h.server.url });
    client = new MicrosandboxClient(resolveOptions({ url: proxy.url, retry }));
  });
  afterEach(async () => {
    await client.close();
    await proxy.close();
  });

  const onFirst = (fault: FaultRule["fault"]): FaultRule[] => [{ method: "POST", path: RPC, on: [1], fault }];

  it.each([
    ["reset after-forward", { kind: "reset", when: "after-forward" }, ConnectionError, 1],
    ["close after-forward", { kind: "close", when: "after-forward" }, ConnectionError, 1],
    ["reset before-forward", { kind: "reset", when: "before-forward" }, ConnectionError, 0],
    ["503", { kind: "status", status: 503 }, ServerError, 0],
    ["truncated body", { kind: "truncate", bytes: 10 }, ConnectionError, 1],
    ["malformed JSON", { kind: "malformed-json" }, ProtocolError, 1],
  ] as const)("command.run is never sent twice (%s)", async (_name, fault, type, forwarded) => {
    proxy.setRules(onFirst(fault));
    const error = await caught(client.commandRun(sandboxId, "true", [], 10, control()));
    expect(error).toBeInstanceOf(type);
    expect(proxy.received("POST", RPC)).toBe(1);
    expect(proxy.forwarded("POST", RPC)).toBe(forwarded);
  });

  it("a 503 with Retry-After on command.run is not repeated either", async () => {
    proxy.setRules(onFirst({ kind: "status", status: 503, retryAfter: 0 }));
    expect(await caught(client.commandRun(sandboxId, "true", [], 10, control()))).toBeInstanceOf(RateLimitError);
    expect(proxy.received("POST", RPC)).toBe(1);
  });

  it.each(["start", "stop", "repl.run"] as const)("%s is never sent twice after a reset", async (which) => {
    proxy.setRules(onFirst({ kind: "reset", when: "after-forward" }));
    const run =
      which === "start"
        ? client.start("fault-start", { image: "microsandbox/python", memory: 512, cpus: 1 }, control())
        : which === "stop"
          ? client.stop("fault-absent", control())
          : client.replRun(sandboxId, "python", "print(1)", 10, control());
    expect(await caught(run)).toBeInstanceOf(ConnectionError);
    expect(proxy.forwarded("POST", RPC)).toBe(1);
    if (which === "start") await direct.destroy("fault-start", call());
  });

  it("a stalled command.run ends with RequestTimeoutError at its deadline and is sent once", async () => {
    proxy.setRules(onFirst({ kind: "stall", when: "before-headers" }));
    const started = Date.now();
    expect(await caught(client.commandRun(sandboxId, "true", [], 10, control(500)))).toBeInstanceOf(RequestTimeoutError);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(proxy.forwarded("POST", RPC)).toBe(1);
  });

  it("metrics.get and health are retried through resets and 503s", async () => {
    proxy.setRules([{ method: "POST", path: RPC, on: [1, 2], fault: { kind: "reset", when: "after-forward" } }]);
    const list = await client.metrics(sandboxId, control());
    expect(list.find((s) => s.name === sandboxId)?.running).toBe(true);
    expect(proxy.forwarded("POST", RPC)).toBe(3);
    proxy.setRules([{ method: "GET", path: "/api/v1/health", on: [1], fault: { kind: "status", status: 503 } }]);
    await client.health(control());
    expect(proxy.received("GET", "/api/v1/health")).toBe(2);
  });

  it("a create whose start fails with a 502 is not repeated: existence check, one start, then the clean-up stop", async () => {
    const backend = microsandbox({ url: proxy.url, retry });
    try {
      proxy.setRules([{ method: "POST", path: RPC, on: [2], fault: { kind: "status", status: 502 } }]);
      expect(await caught(backend.create({ id: "fault-create" }, call()))).toBeInstanceOf(ServerError);
      // metrics.get (exists?), sandbox.start (502, not retried), sandbox.stop (clean-up).
      expect(proxy.received("POST", RPC)).toBe(3);
    } finally {
      await backend.close();
    }
  });
});
