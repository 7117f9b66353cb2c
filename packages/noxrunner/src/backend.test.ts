import { inspect } from "node:util";
import {
  type CallContextV1,
  CapabilityUnsupportedError,
  createSandbox,
  RequestTimeoutError,
  SandboxNotFoundError,
  ServerError,
  ValidationError,
} from "@sandkit/core";
import { createFaultProxy } from "@sandkit/testkit/fault-proxy";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBody } from "./backend.ts";
import { createBackend, NOXRUNNER_CAPABILITIES, noxrunner, SESSION_ID_PATTERN } from "./index.ts";
import { resolveOptions } from "./options.ts";
import { type Harness, bubblewrapWorks, startHarness } from "./server/test-support/harness.ts";

const bubblewrap = await bubblewrapWorks();
const call = (timeoutMs = 30_000): CallContextV1 => ({ signal: AbortSignal.timeout(timeoutMs), deadline: Date.now() + timeoutMs });
const retry = { minDelayMs: 5, maxDelayMs: 20 };

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return condition();
}

describe("the factory and createBackend", () => {
  it("declares the capabilities of the protocol", () => {
    const backend = noxrunner({ url: "http://127.0.0.1:1" });
    expect(backend).toMatchObject({ specificationVersion: "v1", name: "noxrunner", capabilities: NOXRUNNER_CAPABILITIES });
    expect(NOXRUNNER_CAPABILITIES).toEqual({
      exec: { stream: "buffered", stdin: false, env: true, cwd: true },
      files: "native-archive",
      ttl: "keep-alive",
      metrics: false,
      codeLanguages: [],
      attach: true,
      isolation: "container",
    });
    return backend.close();
  });

  it("never shows the service key or URL credentials", async () => {
    const backend = noxrunner({ url: "http://user:pa55word-xyz@127.0.0.1:1/base", serviceKey: "sk-do-not-show-0123456789" });
    try {
      for (const shown of [inspect(backend, { depth: 10 }), JSON.stringify(backend), String(backend.url)]) {
        expect(shown).not.toContain("sk-do-not-show-0123456789");
        expect(shown).not.toContain("pa55word-xyz");
      }
      expect(inspect(backend)).toContain("serviceKey: [redacted]");
    } finally {
      await backend.close();
    }
  });

  it("createBackend reads the environment and refuses unknown options", async () => {
    const backend = createBackend({}, { NOXRUNNER_URL: "http://127.0.0.1:2", NOXRUNNER_SERVICE_KEY: "sk-env-key-000000" });
    try {
      expect(inspect(backend)).toContain("http://127.0.0.1:2");
      expect(inspect(backend)).not.toContain("sk-env-key-000000");
    } finally {
      await backend.close();
    }
    expect(() => createBackend({ url: "http://x", image: 5 }, {})).toThrow(ValidationError);
    expect(() => createBackend({ url: "http://x", nope: true }, {})).toThrow(/unknown option "nope"/);
    expect(() => createBackend({}, {})).toThrow(ValidationError);
  });

  it("builds the PUT body in the upstream key order, from options and the create request", () => {
    const options = resolveOptions({ url: "http://x", ttlSeconds: 60, image: "base", cpuLimit: "1", memoryLimit: "1Gi" });
    expect(JSON.stringify(ensureBody({}, options, "s1"))).toBe('{"ttlSeconds":60,"image":"base","cpuLimit":"1","memoryLimit":"1Gi"}');
    const fromRequest = ensureBody({ ttlMs: 1500, image: "py", resources: { cpus: 0.5, memoryMiB: 512, diskMiB: 2048 } }, options, "s1");
    expect(JSON.stringify(fromRequest)).toBe('{"ttlSeconds":2,"image":"py","cpuLimit":"500m","memoryLimit":"512Mi","ephemeralStorageLimit":"2048Mi"}');
    expect(JSON.stringify(ensureBody({}, resolveOptions({ url: "http://x" }), "s1"))).toBe('{"ttlSeconds":900}');
    expect(() => ensureBody({ resources: { cpus: -1 } }, options, "s1")).toThrow(ValidationError);
    expect(() => ensureBody({ ttlMs: 0 }, options, "s1")).toThrow(ValidationError);
  });

  it("health of a server that is not there is ok: false, not an error; an aborted call throws", async () => {
    const proxy = await createFaultProxy({ target: "http://127.0.0.1:1" });
    const deadUrl = proxy.url;
    await proxy.close();
    const backend = noxrunner({ url: deadUrl, retry: { maxAttempts: 2, minDelayMs: 1 } });
    try {
      const health = await backend.health(call());
      expect(health.ok).toBe(false);
      expect(health.detail).toContain("CONNECTION_FAILED");
      await expect(backend.health({ signal: AbortSignal.abort() })).rejects.toBeDefined();
    } finally {
      await backend.close();
    }
  });
});

describe.skipIf(!bubblewrap)("the backend over loopback", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({}, "bubblewrap");
  });
  afterAll(async () => {
    await h?.close();
  });

  it("creates a sandbox with a generated id and reports what the server said", async () => {
    const backend = noxrunner({ url: h.server.url });
    try {
      await using sbx = await createSandbox({ backend, ttlMs: 120_000 });
      expect(sbx.id).toMatch(SESSION_ID_PATTERN);
      expect(sbx.id).toMatch(/^sk-[0-9a-f]{24}$/);
      expect(sbx.info).toMatchObject({ backend: "noxrunner", workdir: "/workspace" });
      expect(sbx.info.details?.podName).toMatch(/^sbx-[0-9a-f]{10}$/);
      const expiresIn = sbx.info.expiresAt!.getTime() - Date.now();
      expect(expiresIn).toBeGreaterThan(110_000);
      expect(expiresIn).toBeLessThanOrEqual(121_000);
    } finally {
      await backend.close();
    }
  });

  it("keepAlive moves the server's expiry forward", async () => {
    const backend = noxrunner({ url: h.server.url });
    try {
      await using sbx = await createSandbox({ backend, ttlMs: 60_000 });
      const first = sbx.info.expiresAt!.getTime();
      // The server's expiry has whole seconds: touch until it has moved (bounded).
      const moved = await until(async () => {
        await sbx.keepAlive();
        const connection = await backend.create({ id: sbx.id }, call());
        return connection.info.expiresAt!.getTime() > first;
      }, 5000);
      expect(moved).toBe(true);
    } finally {
      await backend.close();
    }
  });

  it("attach to an unknown sandbox is SandboxNotFoundError; destroy is idempotent", async () => {
    const backend = noxrunner({ url: h.server.url });
    try {
      expect(await caught(backend.attach("never-created", call()))).toBeInstanceOf(SandboxNotFoundError);
      const connection = await backend.create({}, call());
      await backend.destroy(connection.info.id, call());
      await backend.destroy(connection.info.id, call());
      expect(await caught(backend.attach(connection.info.id, call()))).toBeInstanceOf(SandboxNotFoundError);
    } finally {
      await backend.close();
    }
  });

  it("exec with stdin is CapabilityUnsupportedError, before anything is sent", async () => {
    const backend = noxrunner({ url: h.server.url });
    try {
      await using sbx = await createSandbox({ backend });
      const error = await caught(sbx.exec(["cat"], { stdin: "hello" }));
      expect(error).toBeInstanceOf(CapabilityUnsupportedError);
      expect(error).toMatchObject({ capability: "exec.stdin", backend: "noxrunner" });
    } finally {
      await backend.close();
    }
  });

  it("a 503 POD_NOT_READY for a sandbox that is gone (as later servers answer) becomes SandboxNotFoundError", async () => {
    await using proxy = await createFaultProxy({ target: h.server.url });
    const backend = noxrunner({ url: proxy.url, retry });
    try {
      const gone = await backend.create({}, call());
      const alive = await backend.create({}, call());
      await backend.destroy(gone.info.id, call());
      const notReady = { kind: "status", status: 503, body: JSON.stringify({ error: { code: "POD_NOT_READY", message: "pod not ready" } }) } as const;
      proxy.setRules([{ method: "POST", path: /\/exec$/, fault: notReady }]);
      const exec = { argv: ["true"], maxOutputBytes: 1024 };
      const missing = await caught(gone.exec(exec, call()));
      expect(missing).toBeInstanceOf(SandboxNotFoundError);
      expect((missing as SandboxNotFoundError).cause).toBeInstanceOf(ServerError);
      const starting = await caught(alive.exec(exec, call()));
      expect(starting).toBeInstanceOf(ServerError);
      expect(starting).toMatchObject({ protocolCode: "POD_NOT_READY", retryable: true });
      proxy.setRules([]);
      await backend.destroy(alive.info.id, call());
    } finally {
      await backend.close();
    }
  });

  it("a create that misses its deadline fails with RequestTimeoutError and leaves no sandbox behind", async () => {
    await using proxy = await createFaultProxy({ target: h.server.url });
    const backend = noxrunner({ url: proxy.url, retry });
    try {
      const before = await h.sandboxDirs();
      proxy.setRules([{ method: "POST", path: /\/exec$/, fault: { kind: "stall", when: "before-headers" } }]);
      const started = Date.now();
      const error = await caught(createSandbox({ backend, timeoutMs: 800 }));
      expect(error).toBeInstanceOf(RequestTimeoutError);
      expect(Date.now() - started).toBeLessThan(1500);
      proxy.setRules([]);
      // The sandbox the PUT made is deleted in the background once the call gave up.
      expect(await until(async () => (await h.sandboxDirs()).length === before.length, 5000)).toBe(true);
    } finally {
      await backend.close();
    }
  });
});
