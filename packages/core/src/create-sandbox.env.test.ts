import { beforeEach, describe, expect, it, vi } from "vitest";
import { MemoryBackend } from "./test-support/memory-backend.js";

/** What `createBackend` of the (mocked) adapter module received, per call. */
const calls: { name: string; options: Record<string, unknown>; env: Readonly<Record<string, string | undefined>>; backend: MemoryBackend }[] = [];
let backendOptions: ConstructorParameters<typeof MemoryBackend>[0] = {};

vi.mock("./backends/load-backend.js", () => ({
  loadBackendModule: async (name: string) => ({
    createBackend(options: Record<string, unknown>, env: Readonly<Record<string, string | undefined>>) {
      const backend = new MemoryBackend({ ...backendOptions, name });
      calls.push({ name, options, env, backend });
      return backend;
    },
  }),
}));

const { createSandbox } = await import("./create-sandbox.js");

beforeEach(() => {
  calls.length = 0;
  backendOptions = {};
});

describe("createSandbox: backend and options from configuration and environment", () => {
  it("no config and no SANDKIT_BACKEND: local, without url or apiKey", async () => {
    const sbx = await createSandbox({}, { SANDKIT_URL: "http://ignored", SANDKIT_API_KEY: "ignored-key" });
    await sbx.close();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.name).toBe("local");
    expect(calls[0]!.options).toEqual({});
  });

  it("SANDKIT_BACKEND, SANDKIT_URL and SANDKIT_API_KEY reach the adapter; the env object is passed on", async () => {
    const env = { SANDKIT_BACKEND: "noxrunner", SANDKIT_URL: "http://127.0.0.1:8080", SANDKIT_API_KEY: "sk-env-1234", OTHER: "x" };
    const sbx = await createSandbox({}, env);
    await sbx.close();
    expect(calls[0]).toMatchObject({ name: "noxrunner", options: { url: "http://127.0.0.1:8080", apiKey: "sk-env-1234" } });
    expect(calls[0]!.env).toBe(env);
  });

  it("explicit url and apiKey win over the environment; sandbox options do not reach the adapter", async () => {
    const sbx = await createSandbox({ url: "http://explicit", apiKey: "sk-explicit-1", ttlMs: 5_000, execTimeoutMs: 100 } as never, {
      SANDKIT_BACKEND: "sandbox-api",
      SANDKIT_URL: "http://from-env",
      SANDKIT_API_KEY: "sk-env-2",
    });
    await sbx.close();
    expect(calls[0]).toMatchObject({ name: "sandbox-api", options: { url: "http://explicit", apiKey: "sk-explicit-1" } });
    expect(calls[0]!.options).not.toHaveProperty("ttlMs");
    expect(calls[0]!.options).not.toHaveProperty("execTimeoutMs");
  });

  it("a named backend ignores SANDKIT_BACKEND and does not pick up env url/key (the adapter reads its own env)", async () => {
    const sbx = await createSandbox({ backend: "local", root: "/tmp/x" }, { SANDKIT_BACKEND: "noxrunner", SANDKIT_URL: "http://from-env" });
    await sbx.close();
    expect(calls[0]).toMatchObject({ name: "local", options: { root: "/tmp/x" } });
    expect(calls[0]!.options).not.toHaveProperty("url");
  });

  it("a backend made from a name is owned: closed with the sandbox, and closed when create fails", async () => {
    const sbx = await createSandbox({ backend: "local" });
    await sbx.close();
    expect(calls[0]!.backend.closed).toBe(1);
    backendOptions = { createFailsWith: new Error("no capacity") };
    await expect(createSandbox({ backend: "local" })).rejects.toThrow("no capacity");
    const failed = calls[1]!.backend;
    const end = Date.now() + 2_000;
    while (failed.closed === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    expect(failed.closed).toBe(1);
  });

  it("an owned backend is closed only after a late sandbox was destroyed through it", async () => {
    backendOptions = { createDelayMs: 60 };
    await expect(createSandbox({ backend: "local", timeoutMs: 10 })).rejects.toMatchObject({ code: "REQUEST_TIMEOUT" });
    const backend = calls[0]!.backend;
    expect(backend.closed).toBe(0);
    const end = Date.now() + 2_000;
    while (backend.closed === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    expect(backend.destroyed).toEqual(backend.created);
    expect(backend.closed).toBe(1);
  });
});
