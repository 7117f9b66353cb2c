import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { createSandbox } from "./create-sandbox.js";
import {
  AbortedError,
  CapabilityUnsupportedError,
  CommandFailedError,
  CommandTimeoutError,
  FileNotFoundError,
  RequestTimeoutError,
  SandboxClosedError,
  ServerError,
  ValidationError,
} from "./errors/index.js";
import { Sandbox } from "./sandbox.js";
import { MemoryBackend, type MemoryBackendOptions } from "./test-support/memory-backend.js";

async function make(options: MemoryBackendOptions = {}, settings: Parameters<typeof createSandbox>[0] = {}) {
  const backend = new MemoryBackend(options);
  const sbx = await createSandbox({ ...settings, backend } as Parameters<typeof createSandbox>[0]);
  return { backend, sbx };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe("exec", () => {
  it("returns stdout, stderr and the exit code as a result, never throwing for a non-zero exit", async () => {
    const { sbx } = await make();
    await using _ = sbx;
    const ok = await sbx.exec(["echo", "hello"]);
    expect(ok).toEqual({
      exitCode: 0,
      signal: null,
      stdout: "hello\n",
      stderr: "",
      truncated: false,
      stdoutTruncated: false,
      stderrTruncated: false,
      durationMs: 1,
      timedOut: false,
    });
    const failed = await sbx.exec(["exit", "3"]);
    expect(failed).toMatchObject({ exitCode: 3, stderr: "exiting with 3\n", timedOut: false });
  });

  it("passes cwd (resolved against the workdir), env, stdin and maxOutputBytes to the backend", async () => {
    const { sbx, backend } = await make();
    await using _ = sbx;
    const r = await sbx.exec(["cat"], { cwd: "sub/dir", env: { GREETING: "hi" }, stdin: "from stdin", maxOutputBytes: 5 });
    expect(r.stdout).toBe("from stdin");
    expect(backend.execs[0]).toMatchObject({ argv: ["cat"], cwd: "/workspace/sub/dir", env: { GREETING: "hi" }, maxOutputBytes: 5 });
    expect(new TextDecoder().decode(backend.execs[0]!.stdin)).toBe("from stdin");
  });

  it("reports truncation", async () => {
    const { sbx } = await make();
    await using _ = sbx;
    const r = await sbx.exec(["print", "100"], { maxOutputBytes: 10 });
    expect(r).toMatchObject({ stdout: "x".repeat(10), stdoutTruncated: true, truncated: true });
  });

  it("streams output to onStdout", async () => {
    const { sbx } = await make();
    await using _ = sbx;
    const seen: string[] = [];
    await sbx.exec(["echo", "héllo"], { onStdout: (t) => seen.push(t) });
    expect(seen.join("")).toBe("héllo\n");
  });

  it("refuses bad argv, cwd and env before anything runs", async () => {
    const { sbx, backend } = await make();
    await using _ = sbx;
    for (const bad of [[], [""].slice(1), ["a\0b"], [1 as unknown as string]]) {
      expect(ValidationError.isInstance(await rejection(sbx.exec(bad)))).toBe(true);
    }
    expect(ValidationError.isInstance(await rejection(sbx.exec(["echo"], { cwd: "../etc" })))).toBe(true);
    expect(ValidationError.isInstance(await rejection(sbx.exec(["echo"], { env: { "BAD-NAME": "x" } })))).toBe(true);
    expect(ValidationError.isInstance(await rejection(sbx.exec(["echo"], { env: { A: "x\0y" } })))).toBe(true);
    expect(ValidationError.isInstance(await rejection(sbx.exec(["echo"], { timeoutMs: -5 })))).toBe(true);
    expect(ValidationError.isInstance(await rejection(sbx.sh("")))).toBe(true);
    expect(backend.execs).toHaveLength(0);
  });

  it("sh runs the line with sh -c", async () => {
    const { sbx, backend } = await make();
    await using _ = sbx;
    await sbx.sh("echo $HOME | wc -c");
    expect(backend.execs[0]?.argv).toEqual(["sh", "-c", "echo $HOME | wc -c"]);
  });

  it("check: true throws CommandFailedError with the result", async () => {
    const { sbx } = await make();
    await using _ = sbx;
    const error = await rejection(sbx.exec(["exit", "2"], { check: true }));
    expect(CommandFailedError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ exitCode: 2, stdout: "partial\n", stderr: "exiting with 2\n", operation: "exec", backend: "memory" });
    await expect(sbx.exec(["echo", "fine"], { check: true })).resolves.toMatchObject({ exitCode: 0 });
  });

  it("a command past its timeoutMs is a result with timedOut, and CommandTimeoutError with check: true", async () => {
    const { sbx, backend } = await make();
    await using _ = sbx;
    const r = await sbx.exec(["sleep", "10000"], { timeoutMs: 20 });
    expect(r).toMatchObject({ timedOut: true, exitCode: null, signal: "SIGKILL" });
    expect(backend.execs[0]?.timeoutMs).toBe(20);
    const error = await rejection(sbx.exec(["sleep", "10000"], { timeoutMs: 20, check: true }));
    expect(CommandTimeoutError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ timeoutMs: 20, stdout: "started\n" });
    expect(RequestTimeoutError.isInstance(error)).toBe(false);
  });

  it("a backend that does not answer within timeoutMs + execGraceMs is a RequestTimeoutError, not a command timeout", async () => {
    const { sbx } = await make({}, { execGraceMs: 20 });
    await using _ = sbx;
    const started = Date.now();
    const error = await rejection(sbx.exec(["hang"], { timeoutMs: 20 }));
    expect(RequestTimeoutError.isInstance(error)).toBe(true);
    expect(CommandTimeoutError.isInstance(error)).toBe(false);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("a backend that ignores its signal still lets the caller go at the deadline or abort", async () => {
    const { sbx } = await make({ exec: () => new Promise(() => undefined) }, { execGraceMs: 10 });
    await using _ = sbx;
    const started = Date.now();
    expect(RequestTimeoutError.isInstance(await rejection(sbx.exec(["x"], { timeoutMs: 10 })))).toBe(true);
    expect(Date.now() - started).toBeLessThan(1_000);
    const controller = new AbortController();
    const pending = rejection(sbx.exec(["x"], { signal: controller.signal }));
    controller.abort();
    expect(AbortedError.isInstance(await pending)).toBe(true);
  });

  it("the sandbox's execTimeoutMs is the default command limit", async () => {
    const { sbx, backend } = await make({}, { execTimeoutMs: 15 });
    await using _ = sbx;
    const r = await sbx.exec(["sleep", "10000"]);
    expect(r.timedOut).toBe(true);
    expect(backend.execs[0]?.timeoutMs).toBe(15);
  });

  it("aborting the caller's signal rejects with AbortedError", async () => {
    const { sbx } = await make();
    await using _ = sbx;
    const controller = new AbortController();
    const pending = sbx.exec(["hang"], { signal: controller.signal });
    controller.abort();
    const error = await rejection(pending);
    expect(AbortedError.isInstance(error)).toBe(true);
    expect(RequestTimeoutError.isInstance(error)).toBe(false);
    expect(AbortedError.isInstance(await rejection(sbx.exec(["echo"], { signal: AbortSignal.abort() })))).toBe(true);
  });
});

describe("capabilities", () => {
  it.each([
    ["exec.stdin", { exec: { stdin: false } }, (s: Sandbox) => s.exec(["cat"], { stdin: "x" })],
    ["exec.env", { exec: { env: false } }, (s: Sandbox) => s.exec(["echo"], { env: { A: "1" } })],
    ["exec.cwd", { exec: { cwd: false } }, (s: Sandbox) => s.exec(["echo"], { cwd: "/tmp" })],
    ["runCode", { codeLanguages: [] }, (s: Sandbox) => s.runCode("1", { language: "python" })],
    ["metrics", { metrics: false }, (s: Sandbox) => s.metrics()],
    ["keepAlive", { ttl: "none" as const }, (s: Sandbox) => s.keepAlive()],
  ] as const)("%s missing: CapabilityUnsupportedError naming backend and capability", async (capability, capabilities, call) => {
    const { sbx, backend } = await make({ name: "nocaps", capabilities });
    await using _ = sbx;
    const error = await rejection(call(sbx));
    expect(CapabilityUnsupportedError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ capability, backend: "nocaps" });
    expect((error as Error).message).toContain("nocaps");
    expect(backend.execs).toHaveLength(0);
  });

  it("files: none without native files is CapabilityUnsupportedError on every file operation", async () => {
    const { sbx } = await make({ name: "nofiles", nativeFiles: false, capabilities: { files: "none" } });
    await using _ = sbx;
    for (const call of [() => sbx.files.read("a"), () => sbx.files.write("a", "x"), () => sbx.files.list(), () => sbx.files.mkdir("d")]) {
      const error = await rejection(call());
      expect(CapabilityUnsupportedError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ capability: "files", backend: "nofiles" });
    }
  });

  it("files: emulated without native files runs file operations through exec", async () => {
    const { sbx, backend } = await make({ nativeFiles: false, capabilities: { files: "emulated" } });
    await using _ = sbx;
    // The memory interpreter has no sh: the emulation's failure is typed and says what is missing.
    const error = await rejection(sbx.files.mkdir("d"));
    expect(ServerError.isInstance(error)).toBe(true);
    expect(backend.execs[0]?.argv.slice(0, 2)).toEqual(["sh", "-c"]);
    expect(backend.execs[0]?.argv.at(-1)).toBe("/workspace/d");
  });

  it("runCode checks the language, then runs", async () => {
    const { sbx } = await make();
    await using _ = sbx;
    expect(ValidationError.isInstance(await rejection(sbx.runCode("x", { language: "cobol" })))).toBe(true);
    await expect(sbx.runCode("print(1)", { language: "echo" })).resolves.toMatchObject({ stdout: "print(1)", exitCode: 0 });
  });

  it("keepAlive and metrics pass through", async () => {
    const { sbx } = await make();
    await using _ = sbx;
    expect((await sbx.keepAlive({ ttlMs: 1000 })).expiresAt).toBeInstanceOf(Date);
    expect(await sbx.metrics()).toMatchObject({ memoryBytes: 1024, running: true });
  });
});

describe("files (native)", () => {
  it("writes, reads, lists, checks existence, removes; relative paths resolve against the workdir", async () => {
    const { sbx, backend } = await make();
    await using _ = sbx;
    await sbx.files.write("dir/a.txt", "héllo");
    await sbx.files.write("/workspace/dir/b.bin", new Uint8Array([0, 255]), { mode: 0o755 });
    expect(await sbx.files.read("dir/a.txt", { encoding: "utf8" })).toBe("héllo");
    expect([...(await sbx.files.read("/workspace/dir/b.bin"))]).toEqual([0, 255]);
    const names = (await sbx.files.list("dir")).map((e) => e.name).sort();
    expect(names).toEqual(["a.txt", "b.bin"]);
    expect(await sbx.files.exists("dir/a.txt")).toBe(true);
    expect(await sbx.files.exists("dir/nope")).toBe(false);
    expect(await sbx.files.exists("nodir/nope")).toBe(false);
    await sbx.files.remove("dir", { recursive: true });
    expect(await sbx.files.exists("dir")).toBe(false);
    expect(backend.sandboxes.get(sbx.id)?.files.nodes.has("/workspace/dir/a.txt")).toBe(false);
  });

  it("refuses path escapes, bad modes and removing the workdir", async () => {
    const { sbx } = await make();
    await using _ = sbx;
    expect(ValidationError.isInstance(await rejection(sbx.files.read("../x")))).toBe(true);
    expect(ValidationError.isInstance(await rejection(sbx.files.write("a", "x", { mode: 0o4777 })))).toBe(true);
    expect(ValidationError.isInstance(await rejection(sbx.files.remove("/workspace", { recursive: true })))).toBe(true);
    expect(ValidationError.isInstance(await rejection(sbx.files.remove("/")))).toBe(true);
  });

  it("upload and download go through the transfer with the caller's limits", async () => {
    const { mkdtemp, readFile, rm, writeFile } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = await mkdtemp(join(tmpdir(), "sandkit-sbx-files-"));
    try {
      await writeFile(join(dir, "a.txt"), "a");
      await writeFile(join(dir, "b.txt"), "b");
      const { sbx } = await make();
      await using _ = sbx;
      expect(await sbx.files.upload(dir, "up")).toMatchObject({ files: 2, bytes: 2 });
      expect(await sbx.files.read("up/b.txt", { encoding: "utf8" })).toBe("b");
      expect(await rejection(sbx.files.upload(dir, "up2", { maxEntries: 1 }))).toMatchObject({ code: "UNSAFE_ARCHIVE", reason: "too-many-entries", operation: "files.upload" });
      expect(await sbx.files.download("up", join(dir, "down"))).toMatchObject({ files: 2, bytes: 2 });
      expect(await readFile(join(dir, "down", "a.txt"), "utf8")).toBe("a");
      expect(ValidationError.isInstance(await rejection(sbx.files.download("up", join(dir, "x"), { maxBytes: 0 })))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a missing file is FileNotFoundError; a file over maxBytes is ValidationError", async () => {
    const { sbx } = await make();
    await using _ = sbx;
    expect(FileNotFoundError.isInstance(await rejection(sbx.files.read("missing")))).toBe(true);
    await sbx.files.write("big", "0123456789");
    expect(ValidationError.isInstance(await rejection(sbx.files.read("big", { maxBytes: 5 })))).toBe(true);
  });
});

describe("close and dispose", () => {
  it("close() destroys once, releases the connection, and is idempotent", async () => {
    const { sbx, backend } = await make();
    const first = sbx.close();
    expect(sbx.close()).toBe(first);
    await first;
    await sbx.close();
    await sbx[Symbol.asyncDispose]();
    expect(backend.destroyed).toEqual([sbx.id]);
    expect(backend.released).toBe(1);
    expect(sbx.closed).toBe(true);
    // The backend instance belongs to the caller: not closed.
    expect(backend.closed).toBe(0);
  });

  it("use after close is SandboxClosedError for every operation", async () => {
    const { sbx, backend } = await make();
    await sbx.close();
    const calls = [
      () => sbx.exec(["echo"]),
      () => sbx.sh("true"),
      () => sbx.runCode("x", { language: "echo" }),
      () => sbx.keepAlive(),
      () => sbx.metrics(),
      () => sbx.files.read("a"),
      () => sbx.files.write("a", "x"),
      () => sbx.files.list(),
    ];
    for (const call of calls) {
      const error = await rejection(call());
      expect(SandboxClosedError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ backend: "memory", sandboxId: sbx.id });
    }
    expect(backend.execs).toHaveLength(0);
  });

  it("closing aborts operations in flight", async () => {
    const { sbx } = await make();
    const running = sbx.exec(["hang"]);
    const reading = rejection(running);
    await sbx.close();
    const error = await reading;
    expect(AbortedError.isInstance(error)).toBe(true);
    expect((error as AbortedError).message).toMatch(/closing/);
    expect(SandboxClosedError.isInstance((error as AbortedError).cause)).toBe(true);
  });

  it("a destroy that hangs is cut at disposeTimeoutMs", async () => {
    const { sbx, backend } = await make({ destroy: "hang" }, { disposeTimeoutMs: 50 });
    const started = Date.now();
    const error = await rejection(sbx.close());
    const elapsed = Date.now() - started;
    expect(RequestTimeoutError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ operation: "destroy", sandboxId: sbx.id });
    expect(elapsed).toBeGreaterThanOrEqual(45);
    expect(elapsed).toBeLessThan(1_000);
    expect(backend.destroyed).toEqual([sbx.id]);
    // The connection is still released.
    expect(backend.released).toBe(1);
  });

  it("await using: the body's error propagates and the destroy error goes to onDisposeError", async () => {
    const reported: unknown[] = [];
    const backend = new MemoryBackend({ destroy: "fail" });
    const body = new Error("the body failed");
    let id = "";
    const thrown = await rejection(
      (async () => {
        await using sbx = await createSandbox({ backend, onDisposeError: (e) => reported.push(e) });
        id = sbx.id;
        throw body;
      })(),
    );
    expect(thrown).toBe(body);
    expect(reported).toHaveLength(1);
    expect(ServerError.isInstance(reported[0])).toBe(true);
    expect(backend.destroyed).toEqual([id]);
  });

  it("await using destroys on a normal exit too, and detach() leaves the sandbox", async () => {
    const backend = new MemoryBackend();
    let id = "";
    {
      await using sbx = await createSandbox({ backend });
      id = sbx.id;
    }
    expect(backend.destroyed).toEqual([id]);
    const kept = await createSandbox({ backend });
    expect(await kept.detach()).toBe(kept.id);
    expect(backend.destroyed).toEqual([id]);
    expect(backend.sandboxes.has(kept.id)).toBe(true);
    // Reattach: onClose defaults to detach.
    const again = await createSandbox({ backend, attach: kept.id });
    await again.close();
    expect(backend.sandboxes.has(kept.id)).toBe(true);
  });

  it("without onDisposeError a failed disposal is a process warning, not a throw", async () => {
    const backend = new MemoryBackend({ destroy: "fail" });
    const warned = new Promise<Error>((resolve) => process.once("warning", resolve));
    const sbx = await createSandbox({ backend });
    await expect(sbx[Symbol.asyncDispose]()).resolves.toBeUndefined();
    const warning = await warned;
    expect((warning as Error & { code?: string }).code).toBe("SANDKIT_DISPOSE");
    expect(warning.message).toContain(sbx.id);
  });
});

describe("inspection", () => {
  it("util.inspect and JSON of a sandbox with an API key show no key", async () => {
    const apiKey = "sk-inspect-0123456789abcdef";
    const { sbx } = await make({ apiKey });
    await using _ = sbx;
    for (const shown of [inspect(sbx), inspect(sbx, { showHidden: true, depth: 20 }), JSON.stringify(sbx), String(sbx)]) {
      expect(shown).not.toContain(apiKey);
    }
    expect(inspect(sbx)).toContain(sbx.id);
    expect(inspect(sbx)).toContain("memory");
  });
});
