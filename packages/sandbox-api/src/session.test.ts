/**
 * The sandkit session over the compatible server: chaining of saved environments, the status
 * table mapped to results and errors, and what the protocol cannot do refused with typed errors.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AbortedError, CapabilityUnsupportedError, createSandbox, SandboxNotFoundError, ServerError, ValidationError } from "@sandkit/core";
import { sandboxApi } from "./index.ts";
import { type Harness, startHarness } from "./test-support/harness.ts";

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness({ budgetMs: 5_000 });
});

afterAll(async () => {
  await harness?.close();
});

function backend(extra: Parameters<typeof sandboxApi>[0] = {}) {
  return sandboxApi({ url: harness.server.url, budgetMs: 5_000, ...extra });
}

describe("the sandbox-api session", () => {
  it("chains saved environments: each exec starts from the last one and saves a new one", async () => {
    await using be = backend();
    await using sbx = await createSandbox({ backend: be });
    const first = sbx.id;
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
    await sbx.exec(["sh", "-c", "echo one > a.txt"]);
    await sbx.exec(["sh", "-c", "echo two >> a.txt"]);
    expect((await sbx.exec(["cat", "a.txt"])).stdout).toBe("one\ntwo\n");
    // The starting environment is an immutable snapshot: it still has no a.txt.
    const raw = await be.client.execute({ commands: ["test -e a.txt"], baseEnvironment: first });
    expect(raw).toMatchObject({ outcome: "command-failed", status: 1 });
  });

  it("starts new sessions from the baseEnvironment option", async () => {
    await using be = backend();
    const saved = (await be.client.execute({ commands: ["echo prepared > exercise.txt"], save: true })).savedEnvironment!;
    await using from = backend({ baseEnvironment: saved });
    await using sbx = await createSandbox({ backend: from });
    expect((await sbx.exec(["cat", "exercise.txt"])).stdout).toBe("prepared\n");
    await using gone = backend({ baseEnvironment: "0b7c2f3e-8d0c-4c55-9b8a-5c0e3a0b1d2e" });
    await expect(createSandbox({ backend: gone })).rejects.toBeInstanceOf(SandboxNotFoundError);
  });

  it("a command past its timeoutMs comes back timedOut; more than the budget is refused before sending", async () => {
    await using sbx = await createSandbox({ backend: backend() });
    const r = await sbx.exec(["sleep", "5"], { timeoutMs: 300 });
    expect(r).toMatchObject({ timedOut: true, exitCode: null });
    await expect(sbx.exec(["true"], { timeoutMs: 5_001 })).rejects.toBeInstanceOf(ValidationError);
  });

  it("output is byte-exact through the wrapper, and trimmed by the server without it", async () => {
    await using exact = await createSandbox({ backend: backend() });
    expect((await exact.exec(["printf", "  padded\\n\\n"])).stdout).toBe("  padded\n\n");
    await using raw = await createSandbox({ backend: backend({ exactOutput: false }) });
    expect((await raw.exec(["printf", "  padded\\n\\n"])).stdout).toBe("padded");
  });

  it("output that is not UTF-8 is a ServerError without the wrapper (the protocol's status -1)", async () => {
    await using raw = await createSandbox({ backend: backend({ exactOutput: false }) });
    const error = await raw.exec(["printf", "\\377\\376"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect((error as ServerError).protocolCode).toBe("UNKNOWN");
  });

  it("what the server decides alone (image, resources, ttl, labels) is refused at create", async () => {
    await using be = backend();
    await expect(createSandbox({ backend: be, image: "python:3" })).rejects.toBeInstanceOf(ValidationError);
    await expect(createSandbox({ backend: be, resources: { cpus: 2 } })).rejects.toBeInstanceOf(ValidationError);
    await expect(createSandbox({ backend: be, ttlMs: 60_000 })).rejects.toBeInstanceOf(ValidationError);
  });

  it("stdin and attach are refused with CapabilityUnsupportedError", async () => {
    await using be = backend();
    await using sbx = await createSandbox({ backend: be });
    await expect(sbx.exec(["cat"], { stdin: "x" })).rejects.toBeInstanceOf(CapabilityUnsupportedError);
    await expect(createSandbox({ backend: backend(), attach: sbx.id })).rejects.toBeInstanceOf(CapabilityUnsupportedError);
  });

  it("an exec waiting behind another rejects with AbortedError as soon as its signal aborts", async () => {
    await using sbx = await createSandbox({ backend: backend() });
    const slow = sbx.exec(["sleep", "1"]);
    const controller = new AbortController();
    const waiting = sbx.exec(["true"], { signal: controller.signal });
    const abortedAt = Date.now();
    controller.abort(new Error("gave up"));
    await expect(waiting).rejects.toBeInstanceOf(AbortedError);
    expect(Date.now() - abortedAt).toBeLessThan(500);
    expect((await slow).exitCode).toBe(0);
    expect((await sbx.exec(["echo", "still usable"])).stdout).toBe("still usable\n");
  });

  it("files outside the working directory are refused: only it persists", async () => {
    await using sbx = await createSandbox({ backend: backend() });
    await expect(sbx.files.write("/etc/x", "x")).rejects.toBeInstanceOf(ValidationError);
  });

  it("files written into a subdirectory through an archive upload land there", async () => {
    await using sbx = await createSandbox({ backend: backend() });
    await sbx.files.write("deep/er/file.txt", "content");
    expect((await sbx.exec(["cat", "deep/er/file.txt"])).stdout).toBe("content");
    const entries = await sbx.files.list("deep");
    expect(entries.map((entry) => [entry.name, entry.type])).toEqual([["er", "directory"]]);
  });
});
