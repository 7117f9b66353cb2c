/**
 * The adapter under faults: a loopback fault proxy between the adapter and the NoxRunner server.
 * Idempotent calls (create, touch, download, delete, health) survive resets and 503s; exec is
 * delivered at most once whatever happens to the connection, and fails with a typed error; the
 * readiness wait polls through 503 POD_NOT_READY (§12 #27); a failed create leaves nothing behind.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type CallContextV1,
  ConnectionError,
  createSandbox,
  extractArchive,
  ProtocolError,
  RequestTimeoutError,
  type Sandbox,
  SandboxError,
  ServerError,
} from "@sandkit/core";
import { createFaultProxy, type FaultProxy, type FaultRule } from "@sandkit/testkit/fault-proxy";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { NoxRunnerClient } from "./client.ts";
import { type NoxRunnerBackend, noxrunner } from "./index.ts";
import { resolveOptions } from "./options.ts";
import { type Harness, bubblewrapWorks, startHarness } from "./server/test-support/harness.ts";

const bubblewrap = await bubblewrapWorks();
const retry = { maxAttempts: 4, minDelayMs: 5, maxDelayMs: 20 };
const call = (timeoutMs = 30_000): CallContextV1 => ({ signal: AbortSignal.timeout(timeoutMs), deadline: Date.now() + timeoutMs });
const NOT_READY_BODY = JSON.stringify({ error: { code: "POD_NOT_READY", message: "pod is not ready" } });

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
  let proxy: FaultProxy;
  let backend: NoxRunnerBackend;
  let sbx: Sandbox | undefined;

  beforeAll(async () => {
    h = await startHarness({}, "bubblewrap");
  });
  afterAll(async () => {
    await h?.close();
  });
  beforeEach(async () => {
    proxy = await createFaultProxy({ target: h.server.url });
    backend = noxrunner({ url: proxy.url, retry });
  });
  afterEach(async () => {
    proxy.setRules([]);
    await sbx?.close().catch(() => undefined);
    sbx = undefined;
    await backend.close();
    await proxy.close();
  });

  const open = async (): Promise<Sandbox> => {
    sbx = await createSandbox({ backend });
    return sbx;
  };
  const execPath = (id: string): string => `/v1/sandboxes/${id}/exec`;

  describe("idempotent calls are repeated until they succeed", () => {
    const faults: readonly [string, FaultRule["fault"]][] = [
      ["a reset before the request reached the server", { kind: "reset", when: "before-forward" }],
      ["a reset after the server answered", { kind: "reset", when: "after-forward" }],
      ["a connection closed without an answer", { kind: "close", when: "after-forward" }],
      ["503 Service Unavailable", { kind: "status", status: 503, body: NOT_READY_BODY }],
      ["502 Bad Gateway", { kind: "status", status: 502, body: "bad gateway" }],
      ["429 with Retry-After: 0", { kind: "status", status: 429, retryAfter: 0 }],
    ];

    it.each(faults)("create (PUT) survives %s", async (_name, fault) => {
      proxy.setRules([{ method: "PUT", times: 2, fault }]);
      const sandbox = await open();
      expect(proxy.received("PUT", `/v1/sandboxes/${sandbox.id}`)).toBe(3);
      expect((await sandbox.exec(["echo", "ok"])).stdout).toBe("ok\n");
    });

    it.each(faults)("touch (keepAlive) survives %s", async (_name, fault) => {
      const sandbox = await open();
      proxy.setRules([{ method: "POST", path: /\/touch$/, times: 2, fault }]);
      await expect(sandbox.keepAlive()).resolves.toEqual({});
      expect(proxy.received("POST", `/v1/sandboxes/${sandbox.id}/touch`)).toBe(3);
    });

    it.each(faults)("download survives %s", async (_name, fault) => {
      const sandbox = await open();
      await sandbox.files.write("kept.txt", "downloaded");
      proxy.setRules([{ method: "GET", path: /\/files\/download$/, times: 2, fault }]);
      const connection = await backend.attach(sandbox.id, call());
      const local = await mkdtemp(join(tmpdir(), "sandkit-noxrunner-fault-"));
      try {
        await extractArchive(await connection.files.downloadArchive!("/workspace", call()), local);
        expect(await readdir(local)).toContain("kept.txt");
        expect(proxy.received("GET", `/v1/sandboxes/${sandbox.id}/files/download`)).toBe(3);
      } finally {
        await rm(local, { recursive: true, force: true });
      }
    });

    it.each(faults)("delete survives %s", async (_name, fault) => {
      const sandbox = await open();
      proxy.setRules([{ method: "DELETE", times: 2, fault }]);
      await sandbox.close();
      sbx = undefined;
      expect(proxy.received("DELETE", `/v1/sandboxes/${sandbox.id}`)).toBe(3);
      expect(await caught(backend.attach(sandbox.id, call()))).toMatchObject({ name: "SandboxNotFoundError" });
    });

    it.each(faults)("health survives %s", async (_name, fault) => {
      proxy.setRules([{ method: "GET", path: "/healthz", times: 2, fault }]);
      expect(await backend.health(call())).toMatchObject({ ok: true });
      expect(proxy.received("GET", "/healthz")).toBe(3);
    });
  });

  it("#3 health that stays 503 is reported unhealthy (after the retry budget), not thrown", async () => {
    proxy.setRules([{ method: "GET", path: "/healthz", fault: { kind: "status", status: 503, body: "down" } }]);
    const health = await backend.health(call());
    expect(health.ok).toBe(false);
    expect(health.detail).toContain("503");
    expect(proxy.received("GET", "/healthz")).toBe(retry.maxAttempts);
  });

  describe("exec is delivered at most once", () => {
    const countRuns = async (sandbox: Sandbox): Promise<number> => {
      const r = await sandbox.exec(["sh", "-c", "cat runs 2>/dev/null | wc -l"]);
      return Number(r.stdout.trim());
    };

    it("a reset after the server got it: ConnectionError, not repeated, the command ran once", async () => {
      const sandbox = await open();
      const before = proxy.forwarded("POST", execPath(sandbox.id));
      proxy.setRules([{ method: "POST", path: execPath(sandbox.id), on: [1], fault: { kind: "reset", when: "after-forward" } }]);
      const error = await caught(sandbox.exec(["sh", "-c", "echo run >> runs"]));
      expect(error).toBeInstanceOf(ConnectionError);
      expect(error).toMatchObject({ requestSent: true, retryable: false, operation: "exec" });
      expect(proxy.forwarded("POST", execPath(sandbox.id)) - before).toBe(1);
      expect(await countRuns(sandbox)).toBe(1);
    });

    it("a connection closed with no answer (a server past its write timeout): ConnectionError, not repeated", async () => {
      const sandbox = await open();
      const before = proxy.received("POST", execPath(sandbox.id));
      proxy.setRules([{ method: "POST", path: execPath(sandbox.id), on: [1], fault: { kind: "close", when: "after-forward" } }]);
      const error = await caught(sandbox.exec(["sh", "-c", "echo run >> runs"]));
      expect(error).toBeInstanceOf(ConnectionError);
      expect(error).toMatchObject({ requestSent: true, retryable: false });
      expect(proxy.received("POST", execPath(sandbox.id)) - before).toBe(1);
      expect(await countRuns(sandbox)).toBe(1);
    });

    it("a reset before the server got it is not repeated either (the client cannot know)", async () => {
      const sandbox = await open();
      const before = proxy.received("POST", execPath(sandbox.id));
      proxy.setRules([{ method: "POST", path: execPath(sandbox.id), on: [1], fault: { kind: "reset", when: "before-forward" } }]);
      expect(await caught(sandbox.exec(["sh", "-c", "echo run >> runs"]))).toBeInstanceOf(ConnectionError);
      expect(proxy.received("POST", execPath(sandbox.id)) - before).toBe(1);
      expect(await countRuns(sandbox)).toBe(0);
    });

    it("503, 502 and 429 on exec are typed errors and are not repeated", async () => {
      const sandbox = await open();
      for (const fault of [
        { kind: "status", status: 503, body: JSON.stringify({ error: { code: "NOT_READY", message: "busy" } }) },
        { kind: "status", status: 502, body: "bad gateway" },
        { kind: "status", status: 429, retryAfter: 0 },
      ] as const) {
        proxy.setRules([{ method: "POST", path: execPath(sandbox.id), on: [1], fault }]);
        const before = proxy.received("POST", execPath(sandbox.id));
        const error = await caught(sandbox.exec(["sh", "-c", "echo run >> runs"]));
        expect(SandboxError.isInstance(error)).toBe(true);
        expect(error).toMatchObject({ operation: "exec" });
        expect(proxy.received("POST", execPath(sandbox.id))).toBe(before + 1);
      }
      expect(await countRuns(sandbox)).toBe(0);
    });

    it("a malformed answer is a ProtocolError, and the command is not run again", async () => {
      const sandbox = await open();
      const before = proxy.forwarded("POST", execPath(sandbox.id));
      proxy.setRules([{ method: "POST", path: execPath(sandbox.id), on: [1], fault: { kind: "malformed-json" } }]);
      expect(await caught(sandbox.exec(["sh", "-c", "echo run >> runs"]))).toBeInstanceOf(ProtocolError);
      expect(proxy.forwarded("POST", execPath(sandbox.id)) - before).toBe(1);
      expect(await countRuns(sandbox)).toBe(1);
    });

    it("many exec calls under random resets each reach the server at most once", async () => {
      const sandbox = await open();
      const before = proxy.forwarded("POST", execPath(sandbox.id));
      proxy.setRules([{ method: "POST", path: execPath(sandbox.id), probability: 0.3, fault: { kind: "reset", when: "after-forward" } }], 7);
      let failed = 0;
      for (let i = 0; i < 20; i += 1) {
        const outcome = await sandbox.exec(["sh", "-c", `echo ${i} >> runs`]).then(
          () => "ok",
          (error: unknown) => error,
        );
        if (outcome !== "ok") {
          expect(outcome).toBeInstanceOf(ConnectionError);
          failed += 1;
        }
      }
      expect(failed).toBeGreaterThan(0);
      expect(proxy.forwarded("POST", execPath(sandbox.id)) - before).toBe(20);
      proxy.setRules([]);
      const lines = (await sandbox.exec(["cat", "runs"])).stdout.trim().split("\n");
      expect(lines).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    });
  });

  it("a refused connection (request provably unsent) is retried, then ConnectionError with requestSent false", async () => {
    const closed = await createFaultProxy({ target: h.server.url });
    const deadUrl = closed.url;
    await closed.close();
    const client = new NoxRunnerClient(resolveOptions({ url: deadUrl, retry }));
    try {
      const error = await caught(client.exec("s1", { cmd: ["true"], workdir: "/workspace", timeoutSeconds: 5 }, { timeoutMs: 5000 }));
      expect(error).toBeInstanceOf(ConnectionError);
      expect(error).toMatchObject({ requestSent: false, errno: "ECONNREFUSED" });
    } finally {
      await client.close();
    }
  });

  it("a 500 on create is a ServerError carrying the code, not repeated", async () => {
    proxy.setRules([
      { method: "PUT", fault: { kind: "status", status: 500, body: JSON.stringify({ error: { code: "POD_CREATE_FAILED", message: "quota" } }) } },
    ]);
    const error = await caught(createSandbox({ backend, id: "never-made" }));
    expect(error).toBeInstanceOf(ServerError);
    expect(error).toMatchObject({ protocolCode: "POD_CREATE_FAILED", status: 500 });
    expect(proxy.received("PUT", "/v1/sandboxes/never-made")).toBe(1);
  });

  it("a download cut short is a typed error, and nothing is left half-extracted outside the destination", async () => {
    const sandbox = await open();
    await sandbox.files.write("big.bin", randomBytes(60_000));
    proxy.setRules([{ method: "GET", path: /\/files\/download$/, fault: { kind: "truncate", bytes: 2000 } }]);
    const connection = await backend.attach(sandbox.id, call());
    const base = await mkdtemp(join(tmpdir(), "sandkit-noxrunner-trunc-"));
    try {
      const error = await caught(
        (async () => {
          const archive = await connection.files.downloadArchive!("/workspace", call());
          await extractArchive(archive, join(base, "dest"));
        })(),
      );
      expect(SandboxError.isInstance(error)).toBe(true);
      expect(await readdir(base)).toEqual(["dest"]);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });

  it("#27 create waits through 503 POD_NOT_READY until the sandbox runs commands", async () => {
    proxy.setRules([{ method: "POST", path: /\/exec$/, times: 2, fault: { kind: "status", status: 503, body: NOT_READY_BODY } }]);
    const sandbox = await open();
    expect(proxy.received("POST", execPath(sandbox.id))).toBe(3);
    expect(proxy.forwarded("POST", execPath(sandbox.id))).toBe(1);
  });

  it("a sandbox that never becomes ready fails the create with RequestTimeoutError, and is deleted", async () => {
    const impatient = noxrunner({ url: proxy.url, retry, readyTimeoutMs: 1500 });
    try {
      proxy.setRules([{ method: "POST", path: /\/exec$/, fault: { kind: "status", status: 503, body: NOT_READY_BODY } }]);
      const before = await h.sandboxDirs();
      const started = Date.now();
      const error = await caught(createSandbox({ backend: impatient }));
      expect(error).toBeInstanceOf(RequestTimeoutError);
      expect(Date.now() - started).toBeLessThan(3000);
      const created = proxy.log.find((entry) => entry.method === "PUT");
      expect(created).toBeDefined();
      expect(proxy.forwarded("DELETE", created!.path)).toBe(1);
      expect(await h.sandboxDirs()).toEqual(before);
    } finally {
      await impatient.close();
    }
  });
});
