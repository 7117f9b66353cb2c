import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync, chmodSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AbortedError, type CallContextV1, FileNotFoundError, type SandboxConnectionV1, type SandboxFilesV1, ValidationError } from "@sandkit/core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { LocalBackend } from "./local-backend.js";

const call: CallContextV1 = { signal: new AbortController().signal };
const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
const decode = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

let base: string;
let backend: LocalBackend;
let connection: SandboxConnectionV1;
let files: SandboxFilesV1;
let workspace: string;

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), "sandkit-files-test-"));
  backend = new LocalBackend({ root: join(base, "root"), isolation: "none" });
});

afterAll(async () => {
  await backend.close();
  rmSync(base, { recursive: true, force: true });
});

beforeEach(async () => {
  connection = await backend.create({}, call);
  files = connection.files!;
  workspace = String(connection.info.details?.workspace);
});

afterEach(async () => {
  await backend.destroy(connection.info.id, call);
});

async function* chunks(...parts: string[]): AsyncIterable<Uint8Array> {
  for (const part of parts) yield encode(part);
}

describe("files: ordinary use", () => {
  it("writes and reads bytes, creating parents", async () => {
    const bytes = new Uint8Array(256).map((_, i) => i);
    await files.write("/workspace/a/b/c.bin", bytes, {}, call);
    expect(await files.read("/workspace/a/b/c.bin", { maxBytes: 1000 }, call)).toEqual(bytes);
    expect(readFileSync(join(workspace, "a/b/c.bin"))).toEqual(Buffer.from(bytes));
  });

  it("streams an AsyncIterable to disk and leaves no temporary file", async () => {
    await files.write("/workspace/streamed.txt", chunks("hello ", "wörld", "\n"), {}, call);
    expect(decode(await files.read("/workspace/streamed.txt", { maxBytes: 100 }, call))).toBe("hello wörld\n");
    expect(readdirSync(workspace)).toEqual(["streamed.txt"]);
  });

  it("accepts relative paths, relative to /workspace", async () => {
    await files.write("rel/x.txt", encode("x"), {}, call);
    expect(decode(await files.read("/workspace/rel/x.txt", { maxBytes: 10 }, call))).toBe("x");
  });

  it("applies the mode exactly, defaults to 0644, and keeps a replaced file's mode", async () => {
    await files.write("/workspace/run.sh", encode("#!/bin/sh\n"), { mode: 0o750 }, call);
    expect(statSync(join(workspace, "run.sh")).mode & 0o777).toBe(0o750);
    await files.write("/workspace/run.sh", encode("#!/bin/sh\necho\n"), {}, call);
    expect(statSync(join(workspace, "run.sh")).mode & 0o777).toBe(0o750);
    await files.write("/workspace/plain.txt", encode(""), {}, call);
    expect(statSync(join(workspace, "plain.txt")).mode & 0o777).toBe(0o644);
  });

  it("refuses a mode out of range and data of the wrong type", async () => {
    await expect(files.write("/workspace/x", encode(""), { mode: 0o4755 }, call)).rejects.toMatchObject({ field: "mode" });
    await expect(files.write("/workspace/x", "text" as unknown as Uint8Array, {}, call)).rejects.toMatchObject({ field: "data" });
  });

  it("refuses to read past maxBytes", async () => {
    await files.write("/workspace/big.txt", encode("0123456789"), {}, call);
    const error = await files.read("/workspace/big.txt", { maxBytes: 9 }, call).catch((e: unknown) => e);
    expect(ValidationError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ field: "maxBytes", backend: "local", operation: "files.read" });
    expect(await files.read("/workspace/big.txt", { maxBytes: 10 }, call)).toHaveLength(10);
  });

  it("says FileNotFoundError for a missing file and ValidationError for a directory", async () => {
    const missing = await files.read("/workspace/nope.txt", { maxBytes: 10 }, call).catch((e: unknown) => e);
    expect(FileNotFoundError.isInstance(missing)).toBe(true);
    expect(missing).toMatchObject({ path: "/workspace/nope.txt" });
    await files.mkdir("/workspace/dir", call);
    await expect(files.read("/workspace/dir", { maxBytes: 10 }, call)).rejects.toBeInstanceOf(ValidationError);
    await expect(files.read("/workspace", { maxBytes: 10 }, call)).rejects.toBeInstanceOf(ValidationError);
    await expect(files.write("/workspace/dir", encode("x"), {}, call)).rejects.toBeInstanceOf(ValidationError);
  });

  it("refuses to read a FIFO instead of hanging on it", async () => {
    execFileSync("mkfifo", [join(workspace, "pipe")]);
    await expect(files.read("/workspace/pipe", { maxBytes: 10 }, call)).rejects.toMatchObject({ field: "path" });
  });

  it("lists a directory with sandbox paths, types and sizes, not following links", async () => {
    await files.write("/workspace/d/file.txt", encode("abc"), {}, call);
    await files.mkdir("/workspace/d/sub", call);
    symlinkSync("file.txt", join(workspace, "d/link"));
    const entries = await files.list("/workspace/d", call);
    expect(entries.map(({ name, path, type, size }) => ({ name, path, type, size }))).toEqual([
      { name: "file.txt", path: "/workspace/d/file.txt", type: "file", size: 3 },
      { name: "link", path: "/workspace/d/link", type: "symlink", size: 0 },
      { name: "sub", path: "/workspace/d/sub", type: "directory", size: 0 },
    ]);
    expect(entries[0]?.mode).toBe(0o644);
    expect((await files.list("/workspace", call)).map((e) => e.path)).toEqual(["/workspace/d"]);
  });

  it("lists: missing is FileNotFoundError, a file is ValidationError", async () => {
    await expect(files.list("/workspace/none", call)).rejects.toBeInstanceOf(FileNotFoundError);
    await files.write("/workspace/f", encode(""), {}, call);
    await expect(files.list("/workspace/f", call)).rejects.toBeInstanceOf(ValidationError);
  });

  it("removes files, links and (with recursive) directories; missing is fine", async () => {
    await files.write("/workspace/t/a/b.txt", encode("b"), {}, call);
    symlinkSync("/workspace/t", join(workspace, "t-link"));
    await files.remove("/workspace/missing", { recursive: false }, call);
    await expect(files.remove("/workspace/t", { recursive: false }, call)).rejects.toMatchObject({ field: "path" });
    await files.remove("/workspace/t-link", { recursive: false }, call);
    expect(lstatSync(join(workspace, "t")).isDirectory()).toBe(true);
    chmodSync(join(workspace, "t/a"), 0o000);
    await files.remove("/workspace/t", { recursive: true }, call);
    expect(readdirSync(workspace)).toEqual([]);
    await expect(files.remove("/workspace", { recursive: true }, call)).rejects.toMatchObject({ field: "path" });
  });

  it("mkdir makes parents, accepts an existing directory, refuses an existing file", async () => {
    await files.mkdir("/workspace/m/n/o", call);
    await files.mkdir("/workspace/m/n/o", call);
    expect(statSync(join(workspace, "m/n/o")).isDirectory()).toBe(true);
    await files.write("/workspace/m/file", encode(""), {}, call);
    await expect(files.mkdir("/workspace/m/file", call)).rejects.toMatchObject({ field: "path" });
    await expect(files.mkdir("/workspace/m/file/sub", call)).rejects.toMatchObject({ field: "path" });
  });

  it("follows links that stay inside the workspace, relative or absolute in sandbox terms", async () => {
    await files.write("/workspace/real/data.txt", encode("inside"), {}, call);
    symlinkSync("real", join(workspace, "rel-link"));
    symlinkSync("/workspace/real", join(workspace, "abs-link"));
    symlinkSync("real/data.txt", join(workspace, "file-link"));
    expect(decode(await files.read("/workspace/rel-link/data.txt", { maxBytes: 100 }, call))).toBe("inside");
    expect(decode(await files.read("/workspace/abs-link/data.txt", { maxBytes: 100 }, call))).toBe("inside");
    await files.write("/workspace/file-link", encode("replaced"), {}, call);
    expect(readFileSync(join(workspace, "real/data.txt"), "utf8")).toBe("replaced");
    expect(readlinkSync(join(workspace, "file-link"))).toBe("real/data.txt");
    expect((await files.list("/workspace/abs-link", call)).map((e) => e.path)).toEqual(["/workspace/abs-link/data.txt"]);
  });

  it("honours an aborted signal before doing anything, and mid-stream leaves nothing behind", async () => {
    const controller = new AbortController();
    controller.abort();
    const aborted = { signal: controller.signal };
    await expect(files.read("/workspace/x", { maxBytes: 1 }, aborted)).rejects.toBeInstanceOf(AbortedError);
    const midway = new AbortController();
    async function* stream(): AsyncIterable<Uint8Array> {
      yield encode("first");
      midway.abort();
      yield encode("second");
    }
    await expect(files.write("/workspace/partial.txt", stream(), {}, { signal: midway.signal })).rejects.toBeInstanceOf(AbortedError);
    expect(readdirSync(workspace)).toEqual([]);
  });
});

/** A fingerprint of every entry below `dir`: type, mode, size, mtime and content hash. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (path: string): void => {
    for (const name of readdirSync(path).sort()) {
      const full = join(path, name);
      const stats = lstatSync(full);
      const content = stats.isFile() ? createHash("sha256").update(readFileSync(full)).digest("hex") : stats.isSymbolicLink() ? readlinkSync(full) : "";
      out.push(`${full} ${stats.mode.toString(8)} ${stats.size} ${stats.mtimeMs} ${content}`);
      if (stats.isDirectory()) walk(full);
    }
  };
  walk(dir);
  return out;
}

describe("files: hostile paths", () => {
  let outside: string;
  let before: { outside: string[]; passwd: string; root: string[] };

  beforeEach(() => {
    outside = join(base, `outside-${Math.random().toString(36).slice(2)}`);
    mkdirSync(join(outside, "sub"), { recursive: true });
    writeFileSync(join(outside, "secret.txt"), "secret");
    symlinkSync("/", join(workspace, "to-root"));
    symlinkSync(outside, join(workspace, "to-outside"));
    symlinkSync(join(outside, "secret.txt"), join(workspace, "to-secret"));
    symlinkSync("../../..", join(workspace, "climb"));
    symlinkSync(join(outside, "not-yet"), join(workspace, "dangling-out"));
    symlinkSync("/etc", join(workspace, "etc-link"));
    before = { outside: snapshot(outside), passwd: readFileSync("/etc/passwd", "utf8"), root: readdirSync("/").sort() };
  });

  afterEach(() => {
    expect(snapshot(outside)).toEqual(before.outside);
    expect(readFileSync("/etc/passwd", "utf8")).toBe(before.passwd);
    expect(readdirSync("/").sort()).toEqual(before.root);
    rmSync(outside, { recursive: true, force: true });
  });

  const hostile = (): string[] => [
    "../x",
    "/workspace/../x",
    "a/../../x",
    "/etc/passwd",
    "/tmp/x",
    "/",
    "/workspacex/a",
    "to-root/etc/passwd",
    `to-root${outside}/secret.txt`,
    `to-root${outside}/new.txt`,
    "to-root",
    "to-outside",
    "to-outside/secret.txt",
    "to-outside/sub/new",
    "to-secret",
    "climb",
    "climb/x",
    "dangling-out",
    "etc-link/passwd",
    "etc-link/sandkit-should-not-exist",
  ];

  async function expectRefused(operation: () => Promise<unknown>, path: string): Promise<void> {
    const error = await operation().then(
      () => new Error(`accepted ${path}`),
      (e: unknown) => e,
    );
    expect(ValidationError.isInstance(error), `${path}: ${String(error)}`).toBe(true);
    expect((error as ValidationError).field).toBe("path");
  }

  it("refuses them for read", async () => {
    for (const path of hostile()) await expectRefused(() => files.read(path, { maxBytes: 1 << 20 }, call), path);
  });

  it("refuses them for write", async () => {
    for (const path of hostile()) await expectRefused(() => files.write(path, encode("pwned"), { mode: 0o777 }, call), path);
    for (const path of hostile()) await expectRefused(() => files.write(path, chunks("pwned"), {}, call), path);
  });

  it("refuses them for list", async () => {
    for (const path of hostile()) await expectRefused(() => files.list(path, call), path);
  });

  it("refuses them for remove, recursive or not", async () => {
    for (const path of hostile()) {
      await expectRefused(() => files.remove(path, { recursive: true }, call), path);
      await expectRefused(() => files.remove(path, { recursive: false }, call), path);
    }
    // The links themselves are still there: refused means untouched.
    expect(readlinkSync(join(workspace, "to-root"))).toBe("/");
  });

  it("refuses them for mkdir", async () => {
    for (const path of hostile()) await expectRefused(() => files.mkdir(path, call), path);
  });

  it("refuses a path whose parent was made a link out after the fact", async () => {
    await files.mkdir("/workspace/swap", call);
    rmSync(join(workspace, "swap"), { recursive: true });
    symlinkSync(outside, join(workspace, "swap"));
    await expectRefused(() => files.write("/workspace/swap/new.txt", encode("x"), {}, call), "swap/new.txt");
  });
});
