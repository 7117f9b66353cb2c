import { describe, expect, it, vi } from "vitest";

// The workspace now holds real adapter packages that the loader can see; point the remote names at
// packages that certainly are not installed, so "not installed" is tested whatever the workspace holds.
vi.mock("./backends/known-backends.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("./backends/known-backends.js")>();
  const absent = Object.fromEntries(
    Object.keys(original.KNOWN_BACKENDS).map((name) => [name, { packageName: name === "local" ? "@sandkit/local" : `@sandkit-absent/${name}` }]),
  );
  return { ...original, KNOWN_BACKENDS: absent };
});
import { KNOWN_BACKEND_NAMES } from "./backends/known-backends.js";
import { createBackend, createSandbox } from "./create-sandbox.js";
import { AbortedError, BackendNotInstalledError, RequestTimeoutError, ServerError, UnknownBackendError, ValidationError } from "./errors/index.js";
import type { SandboxBackendV1 } from "./spec/v1/backend.js";
import { MemoryBackend } from "./test-support/memory-backend.js";

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

/** Polls `condition` every 5 ms until it holds, failing after `ms`. */
async function until(condition: () => boolean, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("createSandbox by name", () => {
  it("an unknown name is UnknownBackendError listing the known names", async () => {
    const error = await rejection(createSandbox({ backend: "nope" as "local" }));
    expect(UnknownBackendError.isInstance(error)).toBe(true);
    expect((error as UnknownBackendError).known).toEqual(KNOWN_BACKEND_NAMES);
    for (const name of ["local", "noxrunner", "provisioner", "sandbox-api", "microsandbox"]) expect((error as Error).message).toContain(name);
  });

  it("a known name whose package is absent is BackendNotInstalledError naming the package", async () => {
    const error = await rejection(createSandbox({ backend: "noxrunner", url: "http://127.0.0.1:9" }));
    expect(BackendNotInstalledError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ packageName: "@sandkit-absent/noxrunner", backend: "noxrunner" });
    expect((error as Error).message).toContain("npm install @sandkit-absent/noxrunner");
    const viaCreateBackend = await rejection(createBackend("microsandbox", { url: "http://127.0.0.1:9" }));
    expect(viaCreateBackend).toMatchObject({ code: "BACKEND_NOT_INSTALLED", packageName: "@sandkit-absent/microsandbox" });
  });

  it("with no backend given, SANDKIT_BACKEND from the env object decides", async () => {
    const env = { SANDKIT_BACKEND: "noxrunner", SANDKIT_URL: "http://127.0.0.1:9", SANDKIT_API_KEY: "sk-env-123456" };
    const error = await rejection(createSandbox({}, env));
    expect(error).toMatchObject({ code: "BACKEND_NOT_INSTALLED", packageName: "@sandkit-absent/noxrunner" });
    expect((error as Error).message).not.toContain("sk-env-123456");
    const unknown = await rejection(createSandbox({}, { SANDKIT_BACKEND: "bogus" }));
    expect(UnknownBackendError.isInstance(unknown)).toBe(true);
  });

  it("refuses a config that is not an object", async () => {
    expect(ValidationError.isInstance(await rejection(createSandbox(null as never)))).toBe(true);
  });
});

describe("createSandbox with a backend instance", () => {
  it("creates, passes the sandbox options, and leaves the instance open on close", async () => {
    const backend = new MemoryBackend();
    const sbx = await createSandbox({ backend, id: "chosen", env: { A: "1" } });
    expect(sbx.id).toBe("chosen");
    expect(sbx.backend).toBe("memory");
    expect(sbx.info.workdir).toBe("/workspace");
    expect(sbx.capabilities.files).toBe("per-file");
    expect((await sbx.exec(["env", "A"])).stdout).toBe("1\n");
    await sbx.close();
    expect(backend.closed).toBe(0);
  });

  it("refuses backend options next to an instance, and an instance of another specification version", async () => {
    const backend = new MemoryBackend();
    expect(ValidationError.isInstance(await rejection(createSandbox({ backend, url: "http://x" } as never)))).toBe(true);
    const future = { ...backend, specificationVersion: "v2" } as unknown as SandboxBackendV1;
    expect(ValidationError.isInstance(await rejection(createSandbox({ backend: future })))).toBe(true);
    expect(backend.created).toEqual([]);
  });

  it("attach reconnects to an existing sandbox", async () => {
    const backend = new MemoryBackend({ capabilities: { attach: true } });
    const first = await createSandbox({ backend });
    const id = await first.detach();
    const again = await createSandbox({ backend, attach: id });
    expect(again.id).toBe(id);
    await again.close();
    expect(backend.destroyed).toEqual([]);
    expect((await rejection(createSandbox({ backend, attach: "missing" })) as Error & { code: string }).code).toBe("SANDBOX_NOT_FOUND");
  });
});

describe("a create that does not complete destroys what it made", () => {
  it("a create that fails part-way: the error propagates, nothing is left to the caller", async () => {
    const failure = new ServerError("quota exceeded", { status: 500 });
    const backend = new MemoryBackend({ createFailsWith: failure });
    const error = await rejection(createSandbox({ backend }));
    // The backend's typed error reaches the caller as it was; an instance the caller owns stays open.
    expect(error).toBe(failure);
    expect(backend.closed).toBe(0);
  });

  it("a create past its deadline: RequestTimeoutError now, and the late sandbox is destroyed", async () => {
    const backend = new MemoryBackend({ createDelayMs: 400 });
    const started = Date.now();
    const error = await rejection(createSandbox({ backend, timeoutMs: 30 }));
    expect(RequestTimeoutError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ operation: "create", backend: "memory" });
    // The caller is let go at the deadline, not when the backend finally answers.
    expect(Date.now() - started).toBeLessThan(350);
    expect(backend.created).toEqual([]);
    await until(() => backend.created.length === 1 && backend.destroyed.length === 1);
    expect(backend.destroyed).toEqual(backend.created);
  });

  it("an aborted create: AbortedError, and the late sandbox is destroyed", async () => {
    const backend = new MemoryBackend({ createDelayMs: 50 });
    const controller = new AbortController();
    const pending = rejection(createSandbox({ backend, signal: controller.signal }));
    controller.abort();
    expect(AbortedError.isInstance(await pending)).toBe(true);
    await until(() => backend.destroyed.length === 1);
    expect(backend.destroyed).toEqual(backend.created);
  });

  it("settings refused after the sandbox was made: the sandbox is destroyed", async () => {
    const backend = new MemoryBackend();
    const error = await rejection(createSandbox({ backend, maxOutputBytes: -1 }));
    expect(ValidationError.isInstance(error)).toBe(true);
    await until(() => backend.destroyed.length === 1);
    expect(backend.destroyed).toEqual(backend.created);
  });
});
