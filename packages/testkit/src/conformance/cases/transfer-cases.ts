import { mkdir, readdir, symlink, writeFile } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { FileNotFoundError, UnsafeArchiveError } from "@sandkit/core";
import { expect } from "vitest";
import { describeError, expectSandboxError } from "../assertions.js";
import type { ConformanceCase } from "../case.js";
import { snapshotTree, writeSampleTree } from "../tree.js";
import { hasFiles } from "./files-cases.js";

/** Cases about `files.upload` and `files.download` of whole directories. */
export const transferCases = {
  "transfer.round-trip": {
    title: "upload then download of a tree (nested and empty dirs, 300+ files) gives the same tree byte for byte",
    timeoutMs: 60_000,
    async run(h, t) {
      await using sbx = await h.open();
      if (!(await hasFiles(h, sbx, t))) return;
      const source = await h.tempDir();
      const sample = await writeSampleTree(source);

      const up = await sbx.files.upload(source, "tree");
      expect(up.files).toBe(sample.files);
      expect(up.bytes).toBe(sample.bytes);
      expect(up.skipped).toEqual([]);

      const files = await sbx.sh("find tree -type f | wc -l");
      expect(files.stdout.trim(), "exec sees every uploaded file").toBe(String(sample.files));
      const dirs = await sbx.sh("find tree -mindepth 1 -type d | wc -l");
      expect(dirs.stdout.trim(), "exec sees every uploaded directory, empty ones too").toBe(String(sample.directories.length));
      const allBytes = await sbx.files.read("tree/a/all-bytes.bin");
      expect(Buffer.from(allBytes).equals(Uint8Array.from({ length: 256 }, (_, i) => i))).toBe(true);

      const target = await h.tempDir();
      const down = await sbx.files.download("tree", target);
      expect(down.files).toBe(sample.files);
      expect(down.bytes).toBe(sample.bytes);
      expect(down.skipped).toEqual([]);
      expect(await snapshotTree(target)).toEqual(await snapshotTree(source));
    },
  },

  "transfer.upload-skips-links": {
    title: "upload does not follow local symbolic links; it reports them as skipped",
    async run(h, t) {
      await using sbx = await h.open();
      if (!(await hasFiles(h, sbx, t))) return;
      const source = await h.tempDir();
      await writeFile(join(source, "real.txt"), "real\n");
      await symlink("/etc/passwd", join(source, "link-out"));
      await symlink("real.txt", join(source, "link-in"));
      const up = await sbx.files.upload(source, "up");
      expect(up.files).toBe(1);
      expect(up.skipped).toHaveLength(2);
      expect(up.skipped.some((path) => path.endsWith("link-out"))).toBe(true);
      expect(up.skipped.some((path) => path.endsWith("link-in"))).toBe(true);
      expect((await sbx.files.list("up")).map((entry) => entry.name)).toEqual(["real.txt"]);
    },
  },

  "transfer.download-hostile-links": {
    title: "download treats the sandbox's links as hostile: nothing lands outside the local directory",
    async run(h, t) {
      await using sbx = await h.open();
      if (!(await hasFiles(h, sbx, t))) return;
      const made = await sbx.sh(
        "mkdir -p d/sub && echo content > d/file.txt && ln -s / d/root-link && ln -s /etc/passwd d/passwd-link && ln -s ../../.. d/sub/up-link && ln -s file.txt d/inner-link",
      );
      expect(made.exitCode, made.stderr).toBe(0);
      const parent = await h.tempDir();
      const target = join(parent, "out");
      await mkdir(target);
      try {
        const down = await sbx.files.download("d", target);
        expect(down.files).toBe(1);
        for (const link of ["root-link", "passwd-link", "sub/up-link"]) {
          expect(down.skipped.some((path) => path.endsWith(link)), `${link} is reported as skipped`).toBe(true);
        }
      } catch (error) {
        if (!(error instanceof UnsafeArchiveError)) {
          expect.fail(`download of escaping links should succeed (skipping them) or fail with UnsafeArchiveError, but failed with ${describeError(error)}`);
        }
      }
      expect(await readdir(parent), "nothing was written beside the local directory").toEqual(["out"]);
      const snapshot = await snapshotTree(target);
      for (const [path, entry] of Object.entries(snapshot)) {
        if (entry.type !== "symlink") continue;
        const resolved = resolve(dirname(join(target, path)), entry.target);
        const inside = resolved === target || resolved.startsWith(`${target}${sep}`);
        expect(inside, `symlink ${path} -> ${entry.target} leads out of the local directory`).toBe(true);
      }
      const file = snapshot["file.txt"];
      if (file !== undefined) expect(file).toMatchObject({ type: "file", size: 8 });
    },
  },

  "transfer.download-missing": {
    title: "downloading a missing sandbox directory fails with FileNotFoundError and writes nothing",
    async run(h, t) {
      await using sbx = await h.open();
      if (!(await hasFiles(h, sbx, t))) return;
      const target = await h.tempDir();
      await expectSandboxError(() => sbx.files.download("no-such-dir", target), FileNotFoundError, "downloading a missing directory");
      expect(await readdir(target)).toEqual([]);
    },
  },
} satisfies Record<string, ConformanceCase>;
