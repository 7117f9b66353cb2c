import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile, chmod, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createWriteStream } from "node:fs";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { extractArchive } from "./extract-archive.ts";
import { packDirectory } from "./pack-directory.ts";

const run = promisify(execFile);

/** What a tree holds, path by path: type, permission bits, content hash or link target. */
async function describeTree(root: string, relative = ""): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const names = (await readdir(join(root, relative))).sort();
  for (const name of names) {
    const path = relative === "" ? name : `${relative}/${name}`;
    const stats = await lstat(join(root, path));
    const mode = (stats.mode & 0o7777).toString(8);
    if (stats.isSymbolicLink()) out[path] = `symlink -> ${await readlink(join(root, path))}`;
    else if (stats.isDirectory()) {
      out[path] = `dir ${mode}`;
      Object.assign(out, await describeTree(root, path));
    } else {
      const content = await readFile(join(root, path));
      out[path] = `file ${mode} ${content.byteLength} ${content.toString("base64").slice(0, 64)} ${Math.floor(stats.mtimeMs / 1000)}`;
    }
  }
  return out;
}

/** A tree with nested and empty directories, binary files, modes, long and unicode names, and links inside. */
async function makeTree(root: string): Promise<void> {
  await mkdir(join(root, "src/nested/deeper"), { recursive: true });
  await mkdir(join(root, "empty"));
  await mkdir(join(root, "locked"));
  await writeFile(join(root, "README.md"), "# hello\n");
  await writeFile(join(root, "empty-file"), "");
  await writeFile(join(root, "src/nested/binary.bin"), randomBytes(300_000));
  await writeFile(join(root, "src/nested/deeper/exactly-512"), randomBytes(512));
  await writeFile(join(root, "run.sh"), "#!/bin/sh\necho hi\n");
  await chmod(join(root, "run.sh"), 0o755);
  await writeFile(join(root, "private"), "secret-ish");
  await chmod(join(root, "private"), 0o600);
  await writeFile(join(root, "locked/file"), "x");
  await chmod(join(root, "locked"), 0o750);
  await writeFile(join(root, "héllo wörld ☃ 日本語.txt"), "unicode");
  const longDir = "d".repeat(120);
  await mkdir(join(root, longDir));
  await writeFile(join(root, longDir, `${"f".repeat(200)}.txt`), "long name");
  await symlink("src/nested/binary.bin", join(root, "link-to-binary"));
  await symlink("../README.md", join(root, "src/up-link"));
  await utimes(join(root, "README.md"), new Date("2020-01-02T03:04:05Z"), new Date("2020-01-02T03:04:05Z"));
}

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "sandkit-roundtrip-"));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("pack then extract", () => {
  for (const [gzip, syncSmallFiles] of [
    [false, true],
    [true, true],
    [false, false],
    [true, false],
  ] as const) {
    it(`reproduces a tree exactly (${gzip ? "tar.gz" : "tar"}, ${syncSmallFiles ? "synchronous" : "asynchronous"} small files)`, async () => {
      const source = join(work, "source");
      await mkdir(source);
      await makeTree(source);
      const result = await extractArchive(packDirectory(source, { gzip, syncSmallFiles }), join(work, "copy"), { syncSmallFiles });
      expect(await describeTree(join(work, "copy"))).toEqual(await describeTree(source));
      expect(result).toMatchObject({ files: 9, directories: 6, symlinks: 2, hardlinks: 0 });
    });
  }

  it("packs in a deterministic order, each directory before its contents", async () => {
    const source = join(work, "source");
    await mkdir(source);
    await makeTree(source);
    const seen: string[] = [];
    for await (const _ of packDirectory(source, { onEntry: (entry) => seen.push(entry.path) })) {
      // consume
    }
    const again: string[] = [];
    for await (const _ of packDirectory(source, { onEntry: (entry) => again.push(entry.path) })) {
      // consume
    }
    expect(seen).toEqual(again);
    expect(seen.indexOf("src")).toBeLessThan(seen.indexOf("src/nested"));
    expect(seen.indexOf("src/nested")).toBeLessThan(seen.indexOf("src/nested/binary.bin"));
    expect(seen[0]).toBe("README.md");
  });
});

describe("GNU tar interoperability", async () => {
  const hasTar = await run("tar", ["--version"]).then(
    (r) => r.stdout.includes("GNU tar"),
    () => false,
  );

  it.skipIf(!hasTar)("GNU tar extracts what packDirectory wrote", async () => {
    const source = join(work, "source");
    await mkdir(source);
    await makeTree(source);
    const archive = join(work, "out.tar.gz");
    await pipeline(packDirectory(source, { gzip: true }), createWriteStream(archive));
    await mkdir(join(work, "gnu"));
    await run("tar", ["-xzf", archive, "-C", join(work, "gnu")]);
    expect(await describeTree(join(work, "gnu"))).toEqual(await describeTree(source));
  });

  it.skipIf(!hasTar)("extractArchive extracts what GNU tar wrote (with ./ entries)", async () => {
    const source = join(work, "source");
    await mkdir(source);
    await makeTree(source);
    // gnu: long names as ././@LongLink entries; pax: as extended headers.
    for (const format of ["gnu", "pax"]) {
      const archive = join(work, `gnu-${format}.tar`);
      await run("tar", ["--format", format, "-cf", archive, "-C", source, "."]);
      const dest = join(work, `ours-${format}`);
      await extractArchive(Readable.from([await readFile(archive)]), dest);
      expect(await describeTree(dest), format).toEqual(await describeTree(source));
    }
  });
});
