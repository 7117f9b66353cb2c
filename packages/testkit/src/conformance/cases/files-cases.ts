import { createHash, randomBytes } from "node:crypto";
import { FileNotFoundError, type Sandbox, SandboxError, ValidationError } from "@sandkit/core";
import { expect, type TestContext } from "vitest";
import { expectSandboxError, expectUnsupported } from "../assertions.js";
import { type ConformanceCase, noteUnsupported } from "../case.js";
import type { ConformanceHarness } from "../harness.js";

/**
 * Whether the sandbox has file operations. When the backend declares `files: "none"`, asserts that
 * every file operation fails with `CapabilityUnsupportedError` instead.
 */
export async function hasFiles(h: ConformanceHarness, sbx: Sandbox, t: TestContext): Promise<boolean> {
  if (h.capabilities(sbx).files !== "none") return true;
  const local = await h.tempDir();
  await expectUnsupported(() => sbx.files.read("x"), "files", "files.read");
  await expectUnsupported(() => sbx.files.write("x", "y"), "files", "files.write");
  await expectUnsupported(() => sbx.files.list(), "files", "files.list");
  await expectUnsupported(() => sbx.files.remove("x"), "files", "files.remove");
  await expectUnsupported(() => sbx.files.mkdir("x"), "files", "files.mkdir");
  await expectUnsupported(() => sbx.files.upload(local, "x"), "files", "files.upload");
  await expectUnsupported(() => sbx.files.download("x", local), "files", "files.download");
  await noteUnsupported(t, "files");
  return false;
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The hex dump of a sandbox file as the sandbox itself sees it (`od`), to check bytes on disk. */
async function hexInSandbox(sbx: Sandbox, path: string): Promise<string> {
  const r = await sbx.exec(["od", "-An", "-v", "-tx1", path]);
  expect(r.exitCode, `od ${path}: ${r.stderr}`).toBe(0);
  return r.stdout.split(/\s+/).filter(Boolean).join("");
}

/** Cases about the file API: write, read, list, remove, mkdir, and what exec sees of them. */
export const filesCases = {
  "files.text-round-trip": {
    title: "files.write and files.read round-trip text; writes replace and create parents",
    async run(h, t) {
      await using sbx = await h.open();
      if (!(await hasFiles(h, sbx, t))) return;
      await sbx.files.write("hello.txt", "hello\n");
      expect(await sbx.files.read("hello.txt", { encoding: "utf8" })).toBe("hello\n");
      const bytes = await sbx.files.read("hello.txt");
      expect(bytes).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(bytes).toString("utf8")).toBe("hello\n");
      expect(await sbx.files.read(`${sbx.info.workdir}/hello.txt`, { encoding: "utf8" }), "an absolute path names the same file").toBe("hello\n");

      await sbx.files.write("hello.txt", "hi");
      expect(await sbx.files.read("hello.txt", { encoding: "utf8" }), "a shorter write replaces the whole file").toBe("hi");

      await sbx.files.write("deep/er/still/file.txt", "deep");
      expect(await sbx.files.read("deep/er/still/file.txt", { encoding: "utf8" })).toBe("deep");
      expect((await sbx.exec(["cat", "hello.txt"])).stdout, "exec sees what files.write wrote").toBe("hi");
    },
  },

  "files.binary-round-trip": {
    title: "binary files (all 256 byte values, 1 MiB random) round-trip byte for byte",
    async run(h, t) {
      await using sbx = await h.open();
      if (!(await hasFiles(h, sbx, t))) return;
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      await sbx.files.write("bin/all-bytes.bin", all);
      expect(Buffer.from(await sbx.files.read("bin/all-bytes.bin")).equals(all)).toBe(true);
      expect(await hexInSandbox(sbx, "bin/all-bytes.bin"), "the bytes on the sandbox's disk").toBe(Buffer.from(all).toString("hex"));

      const pattern = Uint8Array.from({ length: 256 * 8 }, (_, i) => (i * 7 + (i >> 8)) & 0xff);
      await sbx.files.write("bin/pattern.bin", pattern);
      expect(Buffer.from(await sbx.files.read("bin/pattern.bin")).equals(pattern)).toBe(true);

      const random = randomBytes(1024 * 1024);
      await sbx.files.write("bin/random.bin", random);
      const back = await sbx.files.read("bin/random.bin");
      expect(back.byteLength).toBe(random.byteLength);
      expect(sha256(back)).toBe(sha256(random));
      expect((await sbx.exec(["wc", "-c", "bin/random.bin"])).stdout.trim().split(/\s+/)[0]).toBe(String(random.byteLength));
    },
  },

  "files.unicode-round-trip": {
    title: "unicode file names and contents round-trip through files and exec",
    async run(h, t) {
      await using sbx = await h.open();
      if (!(await hasFiles(h, sbx, t))) return;
      const content = "✓ ünïcödé 🎉 日本語\nΩ ≠ ω\n";
      const name = "日本語 file ✓.txt";
      await sbx.files.write(`ünïcödé/${name}`, content);
      await sbx.files.write("emoji-🎉.txt", "🎉");
      expect(await sbx.files.read(`ünïcödé/${name}`, { encoding: "utf8" })).toBe(content);
      expect(await sbx.files.read("emoji-🎉.txt", { encoding: "utf8" })).toBe("🎉");
      const entries = await sbx.files.list("ünïcödé");
      expect(entries.map((entry) => entry.name)).toEqual([name]);
      expect(entries[0]?.size).toBe(Buffer.byteLength(content));
      expect((await sbx.exec(["cat", `ünïcödé/${name}`])).stdout).toBe(content);
    },
  },

  "files.empty-file": {
    title: "an empty file round-trips as zero bytes",
    async run(h, t) {
      await using sbx = await h.open();
      if (!(await hasFiles(h, sbx, t))) return;
      await sbx.files.write("empty.txt", "");
      await sbx.files.write("empty.bin", new Uint8Array(0));
      expect((await sbx.files.read("empty.txt")).byteLength).toBe(0);
      expect((await sbx.files.read("empty.bin")).byteLength).toBe(0);
      const sizes = Object.fromEntries((await sbx.files.list()).map((entry) => [entry.name, entry.size]));
      expect(sizes).toMatchObject({ "empty.txt": 0, "empty.bin": 0 });
    },
  },

  "files.stream-write": {
    title: "files.write takes an async iterable of chunks (4 MiB) and stores them in order",
    async run(h, t) {
      await using sbx = await h.open();
      if (!(await hasFiles(h, sbx, t))) return;
      const chunkSize = 64 * 1024;
      const count = 64;
      const expected = createHash("sha256");
      for (let i = 0; i < count; i++) expected.update(new Uint8Array(chunkSize).fill(i));
      async function* chunks(): AsyncGenerator<Uint8Array> {
        for (let i = 0; i < count; i++) yield new Uint8Array(chunkSize).fill(i);
      }
      await sbx.files.write("streamed.bin", chunks());
      const back = await sbx.files.read("streamed.bin");
      expect(back.byteLength).toBe(chunkSize * count);
      expect(sha256(back)).toBe(expected.digest("hex"));
    },
  },

  "files.list": {
    title: "files.list lists one directory with names, absolute paths, types and sizes",
    async run(h, t) {
      await using sbx = await h.open();
      if (!(await hasFiles(h, sbx, t))) return;
      const workdir = sbx.info.workdir;
      await sbx.files.write("dir/a.txt", "12345");
      await sbx.files.write("dir/b.bin", new Uint8Array(300));
      await sbx.files.write("dir/sub/nested.txt", "not listed");
      const entries = (await sbx.files.list("dir")).sort((x, y) => x.name.localeCompare(y.name));
      expect(entries.map(({ name, path, type }) => ({ name, path, type }))).toEqual([
        { name: "a.txt", path: `${workdir}/dir/a.txt`, type: "file" },
        { name: "b.bin", path: `${workdir}/dir/b.bin`, type: "file" },
        { name: "sub", path: `${workdir}/dir/sub`, type: "directory" },
      ]);
      expect(entries[0]?.size).toBe(5);
      expect(entries[1]?.size).toBe(300);
      for (const entry of entries) {
        if (entry.mode !== undefined) expect(entry.mode >= 0 && entry.mode <= 0o7777, `mode of ${entry.name}`).toBe(true);
        if (entry.modifiedAt !== undefined) expect(entry.modifiedAt).toBeInstanceOf(Date);
      }
      const absolute = await sbx.files.list(`${workdir}/dir`);
      expect(absolute.map((entry) => entry.name).sort()).toEqual(["a.txt", "b.bin", "sub"]);
      expect((await sbx.files.list()).map((entry) => entry.name), "the default is the workdir").toContain("dir");
    },
  },

  "files.mkdir-remove": {
    title: "mkdir creates parents and is idempotent; remove deletes files and, with recursive, trees",
    async run(h, t) {
      await using sbx = await h.open();
      if (!(await hasFiles(h, sbx, t))) return;
      await sbx.files.mkdir("m/n/o");
      await sbx.files.mkdir("m/n/o");
      expect((await sbx.files.list("m/n")).map(({ name, type }) => ({ name, type }))).toEqual([{ name: "o", type: "directory" }]);
      expect(await sbx.files.exists("m/n/o")).toBe(true);
      expect(await sbx.files.exists("m/n/nothing")).toBe(false);

      await sbx.files.write("m/n/o/f.txt", "f");
      await sbx.files.remove("m/n/o/f.txt");
      expect(await sbx.files.exists("m/n/o/f.txt")).toBe(false);
      await sbx.files.remove("m/n/o/f.txt");

      await sbx.files.write("m/keep.txt", "keep");
      await expectSandboxError(() => sbx.files.remove("m"), SandboxError, "removing a non-empty directory without recursive");
      expect(await sbx.files.read("m/keep.txt", { encoding: "utf8" }), "nothing was removed").toBe("keep");

      await sbx.files.remove("m", { recursive: true });
      expect(await sbx.files.exists("m")).toBe(false);
      expect((await sbx.exec(["test", "-e", "m"])).exitCode, "exec agrees").toBe(1);
      await expectSandboxError(() => sbx.files.remove(sbx.info.workdir, { recursive: true }), ValidationError, "removing the workdir");
    },
  },

  "files.not-found": {
    title: "reading or listing a missing path fails with FileNotFoundError",
    async run(h, t) {
      await using sbx = await h.open();
      if (!(await hasFiles(h, sbx, t))) return;
      const read = await expectSandboxError(() => sbx.files.read("missing.txt"), FileNotFoundError, "reading a missing file");
      expect(read.path).toMatch(/missing\.txt$/);
      await expectSandboxError(() => sbx.files.read("missing-dir/x.txt"), FileNotFoundError, "reading in a missing directory");
      await expectSandboxError(() => sbx.files.list("missing-dir"), FileNotFoundError, "listing a missing directory");
    },
  },

  "files.read-limit": {
    title: "files.read refuses a file larger than maxBytes with ValidationError",
    async run(h, t) {
      await using sbx = await h.open();
      if (!(await hasFiles(h, sbx, t))) return;
      await sbx.files.write("thousand.bin", new Uint8Array(1000).fill(1));
      await expectSandboxError(() => sbx.files.read("thousand.bin", { maxBytes: 999 }), ValidationError, "a read past maxBytes");
      expect((await sbx.files.read("thousand.bin", { maxBytes: 1000 })).byteLength).toBe(1000);
    },
  },

  "files.exec-visibility": {
    title: "files and exec see the same filesystem; mode 0o755 makes a runnable script",
    async run(h, t) {
      await using sbx = await h.open();
      if (!(await hasFiles(h, sbx, t))) return;
      await sbx.files.write("script.sh", '#!/bin/sh\necho from-script "$1"\n', { mode: 0o755 });
      expect((await sbx.exec(["./script.sh", "arg"])).stdout).toBe("from-script arg\n");
      const entry = (await sbx.files.list()).find((e) => e.name === "script.sh");
      if (entry?.mode !== undefined) expect(entry.mode & 0o777).toBe(0o755);

      await sbx.files.write("plain.txt", "plain");
      expect((await sbx.exec(["test", "-x", "plain.txt"])).exitCode, "the default mode is not executable").toBe(1);

      expect((await sbx.exec(["sh", "-c", "printf made-by-exec > made.txt; mkdir -p made-dir/inner"])).exitCode).toBe(0);
      expect(await sbx.files.read("made.txt", { encoding: "utf8" })).toBe("made-by-exec");
      const listed = (await sbx.files.list()).find((e) => e.name === "made-dir");
      expect(listed?.type).toBe("directory");
    },
  },
} satisfies Record<string, ConformanceCase>;
