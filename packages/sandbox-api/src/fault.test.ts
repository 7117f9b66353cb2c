/**
 * Faults between the client and the compatible server, injected by the testkit's fault proxy:
 * GET/HEAD are retried, an execute answered 503 (sent before any work) is retried, and an execute
 * that may have reached the server is never sent twice.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ConnectionError, createSandbox, ServerError } from "@sandkit/core";
import { createFaultProxy, type FaultProxy } from "@sandkit/testkit/fault-proxy";
import { SandboxApiClient } from "./client.ts";
import { sandboxApi } from "./index.ts";
import { type Harness, startHarness } from "./test-support/harness.ts";

let harness: Harness;
let proxy: FaultProxy;
let client: SandboxApiClient;

beforeAll(async () => {
  harness = await startHarness();
  proxy = await createFaultProxy({ target: harness.server.url });
  client = new SandboxApiClient({ url: proxy.url, retry: { minDelayMs: 5, maxDelayMs: 20 } });
});

afterEach(() => {
  proxy.setRules([]);
});

afterAll(async () => {
  await client?.close();
  await proxy?.close();
  await harness?.close();
});

describe("retries over a faulty network", () => {
  it("an execute whose connection breaks after the server got it is not repeated", async () => {
    proxy.setRules([{ method: "POST", path: "/execute/", fault: { kind: "reset", when: "after-forward" }, times: 1 }]);
    const before = proxy.forwarded("POST", "/execute/");
    const error = await client.execute({ commands: ["echo ran >> runs.txt"] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).retryable).toBe(false);
    expect(proxy.forwarded("POST", "/execute/") - before).toBe(1);
  });

  it("an execute closed without an answer after forwarding is not repeated either", async () => {
    proxy.setRules([{ method: "POST", path: "/execute/", fault: { kind: "close", when: "after-forward" }, times: 1 }]);
    const before = proxy.forwarded("POST", "/execute/");
    await expect(client.execute({ commands: ["true"] })).rejects.toBeInstanceOf(ConnectionError);
    expect(proxy.forwarded("POST", "/execute/") - before).toBe(1);
  });

  it("an execute with an archive is not repeated once its body began", async () => {
    proxy.setRules([{ method: "POST", path: "/execute/", fault: { kind: "reset", when: "after-forward" }, times: 1 }]);
    const before = proxy.forwarded("POST", "/execute/");
    async function* archive(): AsyncGenerator<Uint8Array> {
      const { packEntries } = await import("@sandkit/core");
      yield* packEntries([{ type: "file", path: "a.txt", content: new TextEncoder().encode("a") }], { gzip: true });
    }
    await expect(client.execute({ commands: ["true"] }, { archive: archive() })).rejects.toBeInstanceOf(ConnectionError);
    expect(proxy.forwarded("POST", "/execute/") - before).toBe(1);
  });

  it("an execute answered 503 overloaded (sent before any work) is retried and succeeds", async () => {
    proxy.setRules([{ method: "POST", path: "/execute/", fault: { kind: "status", status: 503, body: "Sandbox overloaded, retry after a few seconds." }, times: 2 }]);
    const before = proxy.received("POST", "/execute/");
    const r = await client.execute({ commands: ["echo ok"] });
    expect(r.execution[0]!.stdout).toBe("ok");
    expect(proxy.received("POST", "/execute/") - before).toBe(3);
  });

  it("a persistent 503 ends as a retryable ServerError within the retry budget", async () => {
    proxy.setRules([{ method: "POST", path: "/execute/", fault: { kind: "status", status: 503 } }]);
    const before = proxy.received("POST", "/execute/");
    const error = await client.execute({ commands: ["true"] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect((error as ServerError).status).toBe(503);
    expect(proxy.received("POST", "/execute/") - before).toBe(4);
  });

  it("an execute answered 500 is not repeated", async () => {
    proxy.setRules([{ method: "POST", path: "/execute/", fault: { kind: "status", status: 500 } }]);
    const before = proxy.received("POST", "/execute/");
    await expect(client.execute({ commands: ["true"] })).rejects.toBeInstanceOf(ServerError);
    expect(proxy.received("POST", "/execute/") - before).toBe(1);
  });

  it("a session upload answered 503 overloaded is sent again with a fresh body", async () => {
    await using backend = sandboxApi({ url: proxy.url, retry: { minDelayMs: 5, maxDelayMs: 20 } });
    await using sbx = await createSandbox({ backend });
    proxy.setRules([{ method: "POST", path: "/execute/", fault: { kind: "status", status: 503 }, times: 1 }]);
    const before = proxy.received("POST", "/execute/");
    await sbx.files.write("uploaded.txt", "through a retry");
    expect(proxy.received("POST", "/execute/") - before).toBe(2);
    proxy.setRules([]);
    expect(await sbx.files.read("uploaded.txt", { encoding: "utf8" })).toBe("through a retry");
  });

  it("a session exec whose connection breaks after forwarding is not repeated, and the session stays usable", async () => {
    await using backend = sandboxApi({ url: proxy.url });
    await using sbx = await createSandbox({ backend });
    proxy.setRules([{ method: "POST", path: "/execute/", fault: { kind: "reset", when: "after-forward" }, times: 1 }]);
    const before = proxy.forwarded("POST", "/execute/");
    await expect(sbx.exec(["sh", "-c", "echo once >> log.txt"])).rejects.toBeInstanceOf(ConnectionError);
    expect(proxy.forwarded("POST", "/execute/") - before).toBe(1);
    proxy.setRules([]);
    // The lost call's save was never adopted: the session is still at the environment before it.
    expect((await sbx.exec(["sh", "-c", "test -e log.txt && echo present || echo absent"])).stdout).toBe("absent\n");
  });

  it("downloads and checks (GET, HEAD) are retried after a reset", async () => {
    const saved = (await client.execute({ commands: ["printf hello > f.txt"], save: true })).savedEnvironment!;
    proxy.setRules([
      { method: "GET", path: /^\/files\//, fault: { kind: "reset", when: "after-forward" }, times: 1 },
      { method: "HEAD", path: /^\/environments\//, fault: { kind: "reset", when: "before-forward" }, times: 1 },
    ]);
    const chunks: Uint8Array[] = [];
    for await (const chunk of await client.download(saved, "f.txt")) chunks.push(chunk as Uint8Array);
    expect(Buffer.concat(chunks).toString()).toBe("hello");
    expect(proxy.received("GET", `/files/${saved}/f.txt/`)).toBe(2);
    expect((await client.check(saved)).exists).toBe(true);
    expect(proxy.received("HEAD", `/environments/${saved}/`)).toBe(2);
  });
});
