import { chmod, link, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AbortedError, FileNotFoundError, UnsafeArchiveError, ValidationError } from "../errors/index.js";
import { createCallContext } from "../internal/call-context.js";
import type { SandboxFilesV1 } from "../spec/v1/files.js";
import type { FileEntryV1 } from "../spec/v1/types.js";
import { MemoryFiles } from "../test-support/memory-backend.js";
import { downloadDirectory, uploadDirectory } from "./directory-transfer.js";

const limits = { maxBytes: 1024 * 1024 * 1024, maxEntries: 100_000 };
let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "sandkit-transfer-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function call() {
  return createCallContext({});
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

/** Every path under `dir`, relative, sorted, with a type mark. */
async function tree(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix + entry.name;
    if (entry.isDirectory()) out.push(`${rel}/`, ...(await tree(join(dir, entry.name), `${rel}/`)));
    else if (entry.isSymbolicLink()) out.push(`${rel}@`);
    else out.push(rel);
  }
  return out.sort();
}

/** A `SandboxFilesV1` whose listings and reads are whatever a hostile sandbox wants. */
function hostile(listing: Record<string, FileEntryV1[]>, contents: Record<string, Uint8Array> = {}): SandboxFilesV1 & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    async list(path) {
      const entries = listing[path];
      if (entries === undefined) throw new FileNotFoundError(`${path} missing`, { path });
      return entries;
    },
    async read(path) {
      reads.push(path);
      return contents[path] ?? new Uint8Array(0);
    },
    async write() {
      throw new Error("not used");
    },
    async remove() {},
    async mkdir() {},
  };
}

function file(name: string, size = 1, extra: Partial<FileEntryV1> = {}): FileEntryV1 {
  return { name, path: `/x/${name}`, type: "file", size, ...extra };
}

describe("uploadDirectory", () => {
  it("copies a tree: nested and empty directories, binary content, modes; streams in bounded chunks", async () => {
    const src = join(root, "src");
    await mkdir(join(src, "a", "b"), { recursive: true });
    await mkdir(join(src, "empty"));
    const binary = new Uint8Array(256).map((_, i) => i);
    await writeFile(join(src, "bin.dat"), binary);
    await writeFile(join(src, "a", "b", "ünï cødé.txt"), "héllo\n");
    const big = Buffer.alloc(1024 * 1024 + 7, 0x61);
    await writeFile(join(src, "a", "big.txt"), big);
    await writeFile(join(src, "run.sh"), "#!/bin/sh\n");
    await chmod(join(src, "run.sh"), 0o755);
    const files = new MemoryFiles();
    const c = call();
    const result = await uploadDirectory(files, src, "/workspace/dest", limits, c);
    c.dispose();
    expect(result).toEqual({ files: 4, directories: 3, bytes: 256 + 7 + big.length + 10, skipped: [] });
    expect(files.nodes.get("/workspace/dest/empty")).toEqual({ type: "directory" });
    expect([...(await files.read("/workspace/dest/bin.dat", { maxBytes: 1000 }, call()))]).toEqual([...binary]);
    expect(files.text("/workspace/dest/a/b/ünï cødé.txt")).toBe("héllo\n");
    expect(files.text("/workspace/dest/a/big.txt")).toBe(big.toString());
    expect(files.nodes.get("/workspace/dest/run.sh")).toMatchObject({ mode: 0o755 });
    // Streamed: no chunk is the whole big file.
    expect(Math.max(...files.chunkSizes)).toBeLessThanOrEqual(256 * 1024);
  });

  it("skips symbolic links (even to directories) and special files without following them", async () => {
    const src = join(root, "src");
    await mkdir(src);
    await writeFile(join(root, "outside.txt"), "outside");
    await symlink(join(root, "outside.txt"), join(src, "link.txt"));
    await symlink(root, join(src, "linkdir"));
    execFileSync("mkfifo", [join(src, "fifo")]);
    await writeFile(join(src, "real.txt"), "real");
    const files = new MemoryFiles();
    const result = await uploadDirectory(files, src, "/workspace", limits, call());
    expect(result.files).toBe(1);
    expect([...result.skipped].sort()).toEqual([join(src, "fifo"), join(src, "link.txt"), join(src, "linkdir")]);
    expect([...files.nodes.keys()].filter((k) => k.startsWith("/workspace/"))).toEqual(["/workspace/real.txt"]);
  });

  it("stops with too-many-entries and too-many-bytes", async () => {
    const src = join(root, "src");
    await mkdir(src);
    for (let i = 0; i < 5; i += 1) await writeFile(join(src, `f${i}`), "0123456789");
    const entries = await rejection(uploadDirectory(new MemoryFiles(), src, "/workspace", { maxBytes: 1000, maxEntries: 3 }, call()));
    expect(UnsafeArchiveError.isInstance(entries)).toBe(true);
    expect(entries).toMatchObject({ reason: "too-many-entries", operation: "files.upload" });
    const bytes = await rejection(uploadDirectory(new MemoryFiles(), src, "/workspace", { maxBytes: 35, maxEntries: 100 }, call()));
    expect(UnsafeArchiveError.isInstance(bytes)).toBe(true);
    expect(bytes).toMatchObject({ reason: "too-many-bytes" });
  });

  it("counts bytes as they are read, so a file that grows cannot pass the limit", async () => {
    const src = join(root, "src");
    await mkdir(src);
    await writeFile(join(src, "grows"), "small");
    // A writer that appends while the upload streams: the sink appends before each chunk is accepted.
    const files = new MemoryFiles();
    const inner = files.write.bind(files);
    files.write = async (path, data, options, c) => {
      await writeFile(join(src, "grows"), Buffer.alloc(600 * 1024, 1), { flag: "a" });
      return inner(path, data, options, c);
    };
    const error = await rejection(uploadDirectory(files, src, "/workspace", { maxBytes: 100 * 1024, maxEntries: 10 }, call()));
    expect(error).toMatchObject({ code: "UNSAFE_ARCHIVE", reason: "too-many-bytes" });
  });

  it("honours the abort signal", async () => {
    const src = join(root, "src");
    await mkdir(src);
    await writeFile(join(src, "a"), "a");
    const controller = new AbortController();
    controller.abort();
    const c = createCallContext({ signal: controller.signal });
    const error = await rejection(uploadDirectory(new MemoryFiles(), src, "/workspace", limits, c));
    expect(AbortedError.isInstance(error)).toBe(true);
  });

  it("refuses a local path that is not a directory", async () => {
    await writeFile(join(root, "file"), "x");
    expect(ValidationError.isInstance(await rejection(uploadDirectory(new MemoryFiles(), join(root, "file"), "/workspace", limits, call())))).toBe(true);
    expect(ValidationError.isInstance(await rejection(uploadDirectory(new MemoryFiles(), join(root, "missing"), "/workspace", limits, call())))).toBe(true);
  });
});

describe("downloadDirectory", () => {
  it("round-trips a tree through upload and download, skipping remote links", async () => {
    const src = join(root, "src");
    await mkdir(join(src, "d", "e"), { recursive: true });
    await writeFile(join(src, "d", "e", "deep.bin"), new Uint8Array([0, 1, 2, 254, 255]));
    await writeFile(join(src, "name with\nnewline"), "nl");
    await writeFile(join(src, "x.sh"), "#!/bin/sh\n", { mode: 0o755 });
    const files = new MemoryFiles();
    await uploadDirectory(files, src, "/workspace/p", limits, call());
    files.symlink("/workspace/p/link", "/etc/passwd");
    const dest = join(root, "dest");
    const result = await downloadDirectory(files, "/workspace/p", dest, limits, call());
    expect(result).toMatchObject({ files: 3, directories: 2, skipped: ["/workspace/p/link"] });
    expect(await tree(dest)).toEqual(await tree(src));
    expect([...(await readFile(join(dest, "d", "e", "deep.bin")))]).toEqual([0, 1, 2, 254, 255]);
    expect((await lstat(join(dest, "x.sh"))).mode & 0o111).not.toBe(0);
  });

  it.each([
    ["..", "path-traversal"],
    ["a/../../b", "path-traversal"],
    ["sub/x", "path-traversal"],
    ["/etc/passwd", "path-traversal"],
    ["", "invalid-name"],
    [".", "invalid-name"],
    ["nul\0byte", "invalid-name"],
  ])("refuses the name %j (%s) before writing anything", async (name, reason) => {
    const files = hostile({ "/r": [file("fine.txt"), file(name)] }, { "/r/fine.txt": new Uint8Array([1]) });
    const dest = join(root, "dest");
    const error = await rejection(downloadDirectory(files, "/r", dest, limits, call()));
    expect(UnsafeArchiveError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ reason, operation: "files.download" });
    expect(files.reads).toEqual([]);
    expect(await tree(root)).toEqual(["dest/"]);
  });

  it("refuses a name listed twice and an unknown entry type", async () => {
    const twice = hostile({ "/r": [file("a"), { ...file("a"), type: "directory" }] });
    expect(await rejection(downloadDirectory(twice, "/r", join(root, "d1"), limits, call()))).toMatchObject({ reason: "invalid-name" });
    const weird = hostile({ "/r": [{ ...file("a"), type: "hardlink" as "file" }] });
    expect(await rejection(downloadDirectory(weird, "/r", join(root, "d2"), limits, call()))).toMatchObject({ reason: "corrupt" });
  });

  it("never follows a link already in the destination: not as a directory, not as a file", async () => {
    const outside = join(root, "outside");
    await mkdir(outside);
    await writeFile(join(outside, "victim.txt"), "original");
    const dest = join(root, "dest");
    await mkdir(dest);
    await symlink(outside, join(dest, "sub"));
    await symlink(join(outside, "victim.txt"), join(dest, "victim.txt"));
    const asDir = hostile({ "/r": [{ name: "sub", path: "/r/sub", type: "directory", size: 0 }], "/r/sub": [file("victim.txt")] }, { "/r/sub/victim.txt": new TextEncoder().encode("pwned") });
    expect(await rejection(downloadDirectory(asDir, "/r", dest, limits, call()))).toMatchObject({ code: "UNSAFE_ARCHIVE", reason: "link-escape" });
    const asFile = hostile({ "/r": [file("victim.txt", 5)] }, { "/r/victim.txt": new TextEncoder().encode("pwned") });
    expect(await rejection(downloadDirectory(asFile, "/r", dest, limits, call()))).toMatchObject({ code: "UNSAFE_ARCHIVE", reason: "link-escape" });
    expect(await readFile(join(outside, "victim.txt"), "utf8")).toBe("original");
    expect(await readlink(join(dest, "victim.txt"))).toBe(join(outside, "victim.txt"));
  });

  it("breaks a hard link in the destination instead of writing through it", async () => {
    const outside = join(root, "outside.txt");
    await writeFile(outside, "original");
    const dest = join(root, "dest");
    await mkdir(dest);
    await link(outside, join(dest, "f.txt"));
    const files = hostile({ "/r": [file("f.txt", 3)] }, { "/r/f.txt": new TextEncoder().encode("new") });
    await downloadDirectory(files, "/r", dest, limits, call());
    expect(await readFile(outside, "utf8")).toBe("original");
    expect(await readFile(join(dest, "f.txt"), "utf8")).toBe("new");
  });

  it("does not block on, or write to, a FIFO in the destination", async () => {
    const dest = join(root, "dest");
    await mkdir(dest);
    execFileSync("mkfifo", [join(dest, "pipe")]);
    const files = hostile({ "/r": [file("pipe", 3)] }, { "/r/pipe": new TextEncoder().encode("new") });
    expect(await rejection(downloadDirectory(files, "/r", dest, limits, call()))).toMatchObject({ reason: "special-file" });
    expect((await lstat(join(dest, "pipe"))).isFIFO()).toBe(true);
  });

  it("skips remote symlinks and special entries, listing them", async () => {
    const files = hostile({ "/r": [{ name: "l", path: "/r/l", type: "symlink", size: 0 }, { name: "dev", path: "/r/dev", type: "other", size: 0 }, file("ok", 2)] }, { "/r/ok": new Uint8Array([1, 2]) });
    const result = await downloadDirectory(files, "/r", join(root, "dest"), limits, call());
    expect(result).toEqual({ files: 1, directories: 0, bytes: 2, skipped: ["/r/l", "/r/dev"] });
    expect(files.reads).toEqual(["/r/ok"]);
    expect(await tree(join(root, "dest"))).toEqual(["ok"]);
  });

  it("enforces the entry limit on listings, including a directory that lists itself forever", async () => {
    const loop: SandboxFilesV1 = {
      ...hostile({}),
      async list(path) {
        return [{ name: "again", path: `${path}/again`, type: "directory", size: 0 }];
      },
    };
    const error = await rejection(downloadDirectory(loop, "/r", join(root, "dest"), { maxBytes: 1000, maxEntries: 50 }, call()));
    expect(error).toMatchObject({ code: "UNSAFE_ARCHIVE", reason: "too-many-entries" });
  });

  it("counts the bytes that arrive, not the sizes the listing claims", async () => {
    // The listing says 1 byte each; the reads return 60. The limit must hold on the real bytes.
    const content = new Uint8Array(60).fill(7);
    const files = hostile({ "/r": [file("a", 1), file("b", 1)] }, { "/r/a": content, "/r/b": content });
    const error = await rejection(downloadDirectory(files, "/r", join(root, "dest"), { maxBytes: 100, maxEntries: 10 }, call()));
    expect(error).toMatchObject({ code: "UNSAFE_ARCHIVE", reason: "too-many-bytes" });
    const written = await tree(join(root, "dest"));
    expect(written.length).toBeLessThanOrEqual(1);
  });

  it("refuses a file whose listed size is already past the limit, without reading it", async () => {
    const files = hostile({ "/r": [file("huge", 10 ** 12)] });
    expect(await rejection(downloadDirectory(files, "/r", join(root, "dest"), limits, call()))).toMatchObject({ reason: "too-many-bytes" });
    expect(files.reads).toEqual([]);
  });

  it("a read refused for size (the file grew) becomes too-many-bytes", async () => {
    const files = new MemoryFiles();
    await files.write("/workspace/r/f", new Uint8Array(10), {}, call());
    const grown: SandboxFilesV1 = {
      list: files.list.bind(files),
      write: files.write.bind(files),
      remove: files.remove.bind(files),
      mkdir: files.mkdir.bind(files),
      read: async (path, options, c) => {
        await files.write(path, new Uint8Array(500), {}, c);
        return files.read(path, options, c);
      },
    };
    expect(await rejection(downloadDirectory(grown, "/workspace/r", join(root, "dest"), { maxBytes: 100, maxEntries: 10 }, call()))).toMatchObject({ reason: "too-many-bytes" });
  });

  it("a missing remote directory is FileNotFoundError; the destination is created with parents", async () => {
    expect(FileNotFoundError.isInstance(await rejection(downloadDirectory(new MemoryFiles(), "/nope", join(root, "d"), limits, call())))).toBe(true);
    const files = new MemoryFiles();
    await files.write("/workspace/r/a.txt", new TextEncoder().encode("a"), {}, call());
    await downloadDirectory(files, "/workspace/r", join(root, "x", "y", "z"), limits, call());
    expect(await readFile(join(root, "x", "y", "z", "a.txt"), "utf8")).toBe("a");
  });

  it("honours the abort signal", async () => {
    const c = createCallContext({ signal: AbortSignal.abort() });
    expect(AbortedError.isInstance(await rejection(downloadDirectory(new MemoryFiles(), "/workspace", join(root, "d"), limits, c)))).toBe(true);
  });
});
