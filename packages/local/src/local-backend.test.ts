import { mkdtempSync, readdirSync, rmSync, statSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type CallContextV1,
  SandboxClosedError,
  SandboxNotFoundError,
  ValidationError,
} from "@sandkit/core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { LocalBackend } from "./local-backend.js";

const call: CallContextV1 = { signal: new AbortController().signal };
let base: string;
const backends: LocalBackend[] = [];

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), "sandkit-backend-test-"));
});

afterAll(async () => {
  for (const backend of backends) await backend.close();
  rmSync(base, { recursive: true, force: true });
});

function makeBackend(options: ConstructorParameters<typeof LocalBackend>[0] = {}, root = join(base, "root")): LocalBackend {
  const backend = new LocalBackend({ root, isolation: "none", ...options });
  backends.push(backend);
  return backend;
}

function workspaceOf(info: { details?: Readonly<Record<string, unknown>> | undefined }): string {
  return String(info.details?.workspace);
}

describe("LocalBackend lifecycle", () => {
  it("declares its name and capabilities", () => {
    const backend = makeBackend();
    expect(backend.specificationVersion).toBe("v1");
    expect(backend.name).toBe("local");
    expect(backend.capabilities).toEqual({
      exec: { stream: "live", stdin: true, env: true, cwd: true },
      files: "native-archive",
      ttl: "keep-alive",
      metrics: true,
      codeLanguages: ["python", "javascript"],
      attach: true,
      isolation: "none",
    });
  });

  it("makes a private 0700 workspace per sandbox, mounted at /workspace", async () => {
    const backend = makeBackend();
    const a = await backend.create({}, call);
    const b = await backend.create({}, call);
    expect(a.info.id).not.toBe(b.info.id);
    expect(a.info).toMatchObject({ backend: "local", workdir: "/workspace", details: { isolation: "none" } });
    for (const connection of [a, b]) {
      const workspace = workspaceOf(connection.info);
      expect(statSync(workspace).mode & 0o777).toBe(0o700);
      expect(statSync(join(workspace, "..")).mode & 0o777).toBe(0o700);
      expect(workspace.startsWith(join(base, "root"))).toBe(true);
    }
    expect(workspaceOf(a.info)).not.toBe(workspaceOf(b.info));
    await backend.destroy(a.info.id, call);
    await backend.destroy(b.info.id, call);
  });

  it("uses a caller's id, refuses a malformed or taken one", async () => {
    const backend = makeBackend();
    const connection = await backend.create({ id: "my-sandbox.1" }, call);
    expect(connection.info.id).toBe("my-sandbox.1");
    expect(readdirSync(join(base, "root")).some((name) => name.startsWith("sandkit-my-sandbox.1-"))).toBe(true);
    await expect(backend.create({ id: "my-sandbox.1" }, call)).rejects.toMatchObject({ field: "id" });
    await expect(backend.create({ id: "../escape" }, call)).rejects.toMatchObject({ field: "id" });
    await expect(backend.create({ id: "-x" }, call)).rejects.toBeInstanceOf(ValidationError);
    await backend.destroy("my-sandbox.1", call);
  });

  it("refuses what it cannot honour: images, resource limits, bad env or labels", async () => {
    const backend = makeBackend();
    await expect(backend.create({ image: "python:3" }, call)).rejects.toMatchObject({ field: "image" });
    await expect(backend.create({ resources: { cpus: 1 } }, call)).rejects.toMatchObject({ field: "resources" });
    await expect(backend.create({ env: { "A=B": "x" } }, call)).rejects.toMatchObject({ field: "env" });
    await expect(backend.create({ labels: { a: 1 } as never }, call)).rejects.toMatchObject({ field: "labels" });
    await expect(backend.create({ ttlMs: -5 }, call)).rejects.toMatchObject({ field: "ttlMs" });
  });

  it("destroy removes the directory and is idempotent; an unknown id is success", async () => {
    const backend = makeBackend();
    const connection = await backend.create({}, call);
    const container = join(workspaceOf(connection.info), "..");
    await connection.files!.write("/workspace/x/y.txt", new Uint8Array([1]), {}, call);
    await backend.destroy(connection.info.id, call);
    expect(existsSync(container)).toBe(false);
    await backend.destroy(connection.info.id, call);
    await backend.destroy("never-existed", call);
    await expect(backend.destroy("../../etc", call)).rejects.toMatchObject({ field: "id" });
    const error = await connection.exec({ argv: ["true"], maxOutputBytes: 100 }, call).catch((e: unknown) => e);
    expect(SandboxNotFoundError.isInstance(error)).toBe(true);
    await expect(connection.files!.read("/workspace/x/y.txt", { maxBytes: 10 }, call)).rejects.toBeInstanceOf(SandboxNotFoundError);
  });

  it("destroy kills the sandbox's running command", async () => {
    const backend = makeBackend();
    const connection = await backend.create({}, call);
    let ready!: () => void;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    const running = connection.exec({ argv: ["sh", "-c", "echo up; exec sleep 30"], maxOutputBytes: 100, onOutput: () => ready() }, call);
    await isReady;
    const outcome = running.catch((error: unknown) => error);
    const before = Date.now();
    await backend.destroy(connection.info.id, call);
    expect(SandboxNotFoundError.isInstance(await outcome)).toBe(true);
    expect(Date.now() - before).toBeLessThan(2000);
  });

  it("an exec racing a destroy is refused or killed, never left running", async () => {
    const backend = makeBackend();
    for (let i = 0; i < 5; i++) {
      const connection = await backend.create({}, call);
      const marker = `sleep 1000.${process.pid}3${i}`;
      const running = connection.exec({ argv: ["sh", "-c", marker], maxOutputBytes: 100 }, call).catch((error: unknown) => error);
      await backend.destroy(connection.info.id, call);
      expect(SandboxNotFoundError.isInstance(await running)).toBe(true);
      expect(existsSync(workspaceOf(connection.info))).toBe(false);
    }
  });

  it("attaches by id from another backend instance with the same root (as another process would)", async () => {
    const creator = makeBackend();
    const created = await creator.create({ env: { FROM_CREATE: "yes" } }, call);
    await created.files!.write("/workspace/note.txt", new TextEncoder().encode("hello"), {}, call);
    const other = makeBackend();
    const attached = await other.attach(created.info.id, call);
    expect(attached.info.id).toBe(created.info.id);
    expect(workspaceOf(attached.info)).toBe(workspaceOf(created.info));
    const result = await attached.exec({ argv: ["sh", "-c", 'cat note.txt; echo " $FROM_CREATE"'], maxOutputBytes: 100 }, call);
    expect(result.stdout).toBe("hello yes\n");
    await expect(other.attach("no-such-sandbox", call)).rejects.toBeInstanceOf(SandboxNotFoundError);
    await expect(other.attach("bad/id", call)).rejects.toMatchObject({ field: "id" });
    // Destroyed through one instance, gone for the other.
    await other.destroy(created.info.id, call);
    await expect(created.exec({ argv: ["true"], maxOutputBytes: 10 }, call)).rejects.toBeInstanceOf(SandboxNotFoundError);
    await expect(creator.attach(created.info.id, call)).rejects.toBeInstanceOf(SandboxNotFoundError);
  });

  it("does not find sandboxes under another root", async () => {
    const a = makeBackend({}, join(base, "root-a"));
    const b = makeBackend({}, join(base, "root-b"));
    const connection = await a.create({}, call);
    await expect(b.attach(connection.info.id, call)).rejects.toBeInstanceOf(SandboxNotFoundError);
    await a.destroy(connection.info.id, call);
  });

  it("health says which isolation is in force", async () => {
    const health = await makeBackend().health(call);
    expect(health.ok).toBe(true);
    expect(health.detail).toMatch(/^isolation: none \(commands run on this host as this user/);
  });

  it("reports the workspace's disk use in metrics", async () => {
    const backend = makeBackend();
    const connection = await backend.create({}, call);
    const empty = await connection.metrics!(call);
    await connection.files!.write("/workspace/blob", new Uint8Array(100_000).fill(7), {}, call);
    const used = await connection.metrics!(call);
    expect(used.running).toBe(true);
    expect(used.diskBytes! - empty.diskBytes!).toBeGreaterThanOrEqual(100_000);
    expect(used.takenAt).toBeInstanceOf(Date);
    await backend.destroy(connection.info.id, call);
  });

  it("close() kills running commands and keeps workspaces; afterwards only destroy works", async () => {
    const backend = makeBackend();
    const connection = await backend.create({}, call);
    let ready!: () => void;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    const running = connection.exec({ argv: ["sh", "-c", "echo up; exec sleep 30"], maxOutputBytes: 100, onOutput: () => ready() }, call);
    await isReady;
    const outcome = running.catch((error: unknown) => error);
    await backend.close();
    expect(SandboxClosedError.isInstance(await outcome)).toBe(true);
    expect(existsSync(workspaceOf(connection.info))).toBe(true);
    await expect(backend.create({}, call)).rejects.toBeInstanceOf(SandboxClosedError);
    await expect(connection.exec({ argv: ["true"], maxOutputBytes: 10 }, call)).rejects.toBeInstanceOf(SandboxClosedError);
    await backend.close();
    await backend.destroy(connection.info.id, call);
    expect(existsSync(workspaceOf(connection.info))).toBe(false);
  });
});

describe("LocalBackend TTL", () => {
  function expiryWatcher(): { onExpire: (id: string) => void; expired: (id: string) => Promise<void> } {
    const waiters = new Map<string, () => void>();
    const seen = new Set<string>();
    return {
      onExpire: (id) => {
        seen.add(id);
        waiters.get(id)?.();
      },
      expired: (id) => (seen.has(id) ? Promise.resolve() : new Promise((resolve) => waiters.set(id, resolve))),
    };
  }

  it("destroys an idle sandbox past its TTL and reports it through onExpire", async () => {
    const watcher = expiryWatcher();
    const backend = makeBackend({ onExpire: watcher.onExpire });
    const connection = await backend.create({ ttlMs: 100 }, call);
    expect(connection.info.expiresAt!.getTime()).toBeGreaterThan(Date.now());
    const workspace = workspaceOf(connection.info);
    await watcher.expired(connection.info.id);
    expect(existsSync(workspace)).toBe(false);
    await expect(connection.exec({ argv: ["true"], maxOutputBytes: 10 }, call)).rejects.toBeInstanceOf(SandboxNotFoundError);
    await expect(backend.keepAlive(connection.info.id, {}, call)).rejects.toBeInstanceOf(SandboxNotFoundError);
    await expect(backend.attach(connection.info.id, call)).rejects.toBeInstanceOf(SandboxNotFoundError);
  });

  it("takes the TTL from the backend option when the request has none", async () => {
    const watcher = expiryWatcher();
    const backend = makeBackend({ ttlMs: 80, onExpire: watcher.onExpire });
    const connection = await backend.create({}, call);
    await watcher.expired(connection.info.id);
    expect(existsSync(workspaceOf(connection.info))).toBe(false);
  });

  it("keepAlive extends the deadline and returns the new expiry", async () => {
    const watcher = expiryWatcher();
    const backend = makeBackend({ onExpire: watcher.onExpire });
    const connection = await backend.create({ ttlMs: 60_000 }, call);
    const first = connection.info.expiresAt!;
    const { expiresAt } = await backend.keepAlive(connection.info.id, { ttlMs: 120_000 }, call);
    expect(expiresAt!.getTime()).toBeGreaterThan(first.getTime() + 50_000);
    expect(connection.info.expiresAt).toEqual(expiresAt);
    // Shorten it and watch it expire.
    const short = await backend.keepAlive(connection.info.id, { ttlMs: 50 }, call);
    expect(short.expiresAt!.getTime()).toBeLessThan(first.getTime());
    await watcher.expired(connection.info.id);
    await expect(backend.keepAlive(connection.info.id, {}, call)).rejects.toBeInstanceOf(SandboxNotFoundError);
  });

  it("a keepAlive from another instance with the same root is honoured", async () => {
    const watcher = expiryWatcher();
    const backend = makeBackend({ onExpire: watcher.onExpire });
    const kept = await backend.create({ ttlMs: 1000 }, call);
    const left = await backend.create({ ttlMs: 1000 }, call);
    const other = makeBackend();
    const { expiresAt } = await other.keepAlive(kept.info.id, { ttlMs: 60_000 }, call);
    // Jump the clock past the creator's deadline (only Date is faked; timers stay real).
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + 5000);
      const result = await kept.exec({ argv: ["true"], maxOutputBytes: 10 }, call);
      expect(result.exitCode).toBe(0);
      expect(kept.info.expiresAt!.getTime()).toBeGreaterThanOrEqual(expiresAt!.getTime());
      await expect(left.exec({ argv: ["true"], maxOutputBytes: 10 }, call)).rejects.toBeInstanceOf(SandboxNotFoundError);
      await watcher.expired(left.info.id);
    } finally {
      vi.useRealTimers();
    }
    await backend.destroy(kept.info.id, call);
  });

  it("a running command counts as activity: the sandbox does not expire under it", async () => {
    const watcher = expiryWatcher();
    const backend = makeBackend({ onExpire: watcher.onExpire });
    const connection = await backend.create({ ttlMs: 100 }, call);
    const result = await connection.exec({ argv: ["sleep", "0.4"], maxOutputBytes: 10 }, call);
    expect(result.exitCode).toBe(0);
    expect(existsSync(workspaceOf(connection.info))).toBe(true);
    expect(connection.info.expiresAt!.getTime()).toBeGreaterThan(Date.now());
    await watcher.expired(connection.info.id);
  });

  it("without a TTL keepAlive changes nothing", async () => {
    const backend = makeBackend();
    const connection = await backend.create({}, call);
    expect(await backend.keepAlive(connection.info.id, {}, call)).toEqual({ expiresAt: undefined });
    await expect(backend.keepAlive(connection.info.id, { ttlMs: 0 }, call)).rejects.toMatchObject({ field: "ttlMs" });
    await backend.destroy(connection.info.id, call);
  });
});
