import { existsSync } from "node:fs";
import { link, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { constants as zlibConstants, crc32, deflateRawSync, gunzipSync, gzipSync } from "node:zlib";
import { pack as tarPack, type Header } from "tar-stream";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AbortedError } from "../errors/aborted-error.ts";
import { RequestTimeoutError } from "../errors/request-timeout-error.ts";
import { UnsafeArchiveError } from "../errors/unsafe-archive-error.ts";
import { ValidationError } from "../errors/validation-error.ts";
import { extractArchive, listArchive } from "./extract-archive.ts";

type TestEntry = Partial<Header> & { name: string; content?: string | Uint8Array };

/** A tar archive built with tar-stream, which writes whatever names it is given. */
async function tarOf(entries: TestEntry[]): Promise<Buffer> {
  const pack = tarPack();
  for (const { content, ...header } of entries) {
    if (content === undefined) pack.entry(header);
    else pack.entry(header, typeof content === "string" ? Buffer.from(content) : content);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Everything under `dir` (links not followed), with file contents, except the `skip` subtree. */
async function snapshot(dir: string, skip: string, relative = ""): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(join(dir, relative))).sort()) {
    const path = relative === "" ? name : `${relative}/${name}`;
    if (join(dir, path) === skip) continue;
    const stats = await lstat(join(dir, path));
    if (stats.isSymbolicLink()) out[path] = `-> ${await readlink(join(dir, path))}`;
    else if (stats.isDirectory()) Object.assign(out, { [path]: "dir" }, await snapshot(dir, skip, path));
    else out[path] = `${stats.mode.toString(8)} ${(await readFile(join(dir, path))).toString("hex")}`;
  }
  return out;
}

/** A valid gzip stream of `mebibytes` MiB of zeros, built from one compressed segment, never allocated whole. */
function* gzipZeros(mebibytes: number, onSegment: () => void): Generator<Buffer> {
  const zeros = Buffer.alloc(1024 * 1024);
  // A full flush ends the segment on a byte boundary with an empty dictionary, so copies chain.
  const segment = deflateRawSync(zeros, { finishFlush: zlibConstants.Z_FULL_FLUSH });
  yield Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
  let crc = 0;
  for (let i = 0; i < mebibytes; i += 1) {
    crc = crc32(zeros, crc);
    onSegment();
    yield segment;
  }
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE((mebibytes * 1024 * 1024) % 2 ** 32, 4);
  yield Buffer.concat([deflateRawSync(Buffer.alloc(0)), trailer]);
}

let root: string;
let dest: string;
let outside: string;
let before: Record<string, string>;

beforeEach(async () => {
  // root/outside is what hostile links aim at; root/nest/dest is the destination, so `../..` from it is root.
  root = await mkdtemp(join(tmpdir(), "sandkit-extract-"));
  outside = join(root, "outside");
  dest = join(root, "nest", "dest");
  await mkdir(outside);
  await mkdir(dest, { recursive: true });
  await writeFile(join(outside, "target"), "original");
  before = await snapshot(root, dest);
});

afterEach(async () => {
  // Nothing outside the destination may have changed, whatever the test did.
  expect(await snapshot(root, dest)).toEqual(before);
  expect(existsSync("/sandkit-escape")).toBe(false);
  await rm(root, { recursive: true, force: true });
});

/** Whether the suite being run lets small files use synchronous calls (both ways are run). */
let syncSmallFiles = true;

type Source = Parameters<typeof extractArchive>[0];
type Options = Parameters<typeof extractArchive>[2];

/** extractArchive into `dest`, in the mode of the suite being run. */
function extract(archive: Source, options: Options = {}): ReturnType<typeof extractArchive> {
  return extractArchive(archive, dest, { syncSmallFiles, ...options });
}

/** Extracts and returns the `UnsafeArchiveError` it must throw. */
async function refused(archive: Source, options: Options = {}): Promise<UnsafeArchiveError> {
  const error = await extract(archive, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UnsafeArchiveError);
  return error as UnsafeArchiveError;
}

async function linksIn(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isSymbolicLink()) found.push(join(entry.parentPath, entry.name));
  }
  return found;
}

for (const sync of [true, false]) {
  describe(`small files with ${sync ? "synchronous" : "asynchronous"} calls`, () => {
    beforeEach(() => {
      syncSmallFiles = sync;
    });

    describe("names", () => {
      it.each([
        ["../evil", "path-traversal"],
        ["a/../../evil", "path-traversal"],
        ["a/../b", "path-traversal"],
        ["/sandkit-escape", "absolute-path"],
      ] as const)("refuses %j (%s)", async (name, reason) => {
        const error = await refused(await tarOf([{ name: "ok.txt", content: "fine" }, { name, content: "pwned" }]));
        expect(error.reason).toBe(reason);
        expect(error.entry).toBe(name);
        expect(error.operation).toBe("extractArchive");
        // The entry before the bad one was extracted: the documented partial state.
        expect(await readFile(join(dest, "ok.txt"), "utf8")).toBe("fine");
      });

      it("refuses an absolute path aimed at a real directory outside", async () => {
        const error = await refused(await tarOf([{ name: join(outside, "absolute") , content: "pwned" }]));
        expect(error.reason).toBe("absolute-path");
      });

      it("refuses a PAX header that overrides a safe name with an escaping one", async () => {
        const error = await refused(await tarOf([{ name: "safe.txt", pax: { path: "../pax-evil" }, content: "pwned" }]));
        expect(error.reason).toBe("path-traversal");
        expect(error.entry).toBe("../pax-evil");
      });

      it("refuses a NUL byte in a PAX path and shows it escaped", async () => {
        const error = await refused(await tarOf([{ name: "safe.txt", pax: { path: "a\0b" }, content: "x" }]));
        expect(error.reason).toBe("invalid-name");
        expect(error.entry).toBe("a\\u0000b");
        expect(error.message).not.toContain("\0");
      });

      it("escapes control and direction characters in the entry it names", async () => {
        const error = await refused(await tarOf([{ name: "../\u001b[31mred\u202e", content: "x" }]));
        expect(error.entry).toBe("../\\u001b[31mred\\u202e");
      });

      it("refuses an entry with an empty name", async () => {
        const error = await refused(await tarOf([{ name: "./", type: "file", content: "x" }]));
        expect(error.reason).toBe("invalid-name");
      });

      it("accepts ./ prefixes, duplicate slashes and the ./ root entry", async () => {
        await extract(await tarOf([{ name: "./", type: "directory", mode: 0o700 }, { name: ".//a//b.txt", content: "b" }]));
        expect(await readFile(join(dest, "a/b.txt"), "utf8")).toBe("b");
        // The root entry does not change the destination's own mode.
        expect((await stat(dest)).mode & 0o777).not.toBe(0o700);
      });
    });

    describe("symbolic links", () => {
      it.each([
        ["/", "an absolute target"],
        ["../..", "a climbing target"],
        [".." , "the parent"],
        ["a/../../..", "a target that climbs after descending"],
      ])("refuses a link to %j (%s) and writes nothing through it", async (target) => {
        const error = await refused(await tarOf([{ name: "link", type: "symlink", linkname: target }, { name: "link/sandkit-escape", content: "pwned" }]));
        expect(error.reason).toBe("link-escape");
        expect(error.entry).toBe("link");
        expect(await linksIn(dest)).toEqual([]);
      });

      it("refuses a link to a directory outside, then a file through it (symlink-then-file)", async () => {
        const error = await refused(await tarOf([{ name: "a", type: "symlink", linkname: outside }, { name: "a/target", content: "pwned" }]));
        expect(error.reason).toBe("link-escape");
      });

      it("refuses a file through a link the archive made, even one pointing inside", async () => {
        const error = await refused(await tarOf([{ name: "sub/", type: "directory" }, { name: "s", type: "symlink", linkname: "sub" }, { name: "s/f", content: "x" }]));
        expect(error.reason).toBe("link-escape");
        expect(error.entry).toBe("s/f");
        expect(await linksIn(dest)).toEqual([]);
      });

      it("refuses a chain of links that escapes although each one looks inside", async () => {
        // x/y -> .. is the root; a -> x/y is the root; c -> a/.. is then the root's parent.
        const error = await refused(
          await tarOf([
            { name: "c", type: "symlink", linkname: "a/.." },
            { name: "x/", type: "directory" },
            { name: "x/y", type: "symlink", linkname: ".." },
            { name: "a", type: "symlink", linkname: "x/y" },
          ]),
        );
        expect(error.reason).toBe("link-escape");
        expect(error.entry).toBe("c");
        // Links are created only once all are checked: none were made.
        expect(await linksIn(dest)).toEqual([]);
      });

      it("refuses a link that escapes through a link already in the destination", async () => {
        await symlink(outside, join(dest, "pre"));
        const error = await refused(await tarOf([{ name: "l", type: "symlink", linkname: "pre/target" }]));
        expect(error.reason).toBe("link-escape");
        expect(error.entry).toBe("l");
      });

      it("refuses a loop of more than 40 hops but accepts a short loop-free chain", async () => {
        const chain: TestEntry[] = [{ name: "l0", type: "symlink", linkname: "real" }, { name: "real", content: "r" }];
        for (let i = 1; i <= 10; i += 1) chain.push({ name: `l${i}`, type: "symlink", linkname: `l${i - 1}` });
        await extract(await tarOf(chain));
        expect(await readFile(join(dest, "l10"), "utf8")).toBe("r");
        const loop = await refused(await tarOf([{ name: "p", type: "symlink", linkname: "q/x" }, { name: "q", type: "symlink", linkname: "p" }]));
        expect(loop.reason).toBe("link-escape");
      });

      it("creates links that stay inside, including ones that climb and come back", async () => {
        await extract(
          await tarOf([
            { name: "dir/file", content: "data" },
            { name: "dir/sub/up", type: "symlink", linkname: "../file" },
            { name: "top", type: "symlink", linkname: "dir/sub/up" },
            { name: "dangling", type: "symlink", linkname: "nowhere/yet" },
          ]),
        );
        expect(await readFile(join(dest, "top"), "utf8")).toBe("data");
        expect(await readlink(join(dest, "dangling"))).toBe("nowhere/yet");
      });

      it("refuses a PAX linkpath override that escapes", async () => {
        const error = await refused(await tarOf([{ name: "l", type: "symlink", linkname: "ok", pax: { linkpath: "/etc" } }]));
        expect(error.reason).toBe("link-escape");
      });

      it("never writes through a link already in the destination", async () => {
        await symlink(outside, join(dest, "pre"));
        const error = await refused(await tarOf([{ name: "pre/target", content: "pwned" }]));
        expect(error.reason).toBe("link-escape");
        expect(error.entry).toBe("pre/target");
      });

      it("replaces a link where the archive has a file, without following it", async () => {
        await symlink(join(outside, "target"), join(dest, "victim"));
        await extract(await tarOf([{ name: "victim", content: "new" }]));
        expect((await lstat(join(dest, "victim"))).isFile()).toBe(true);
        expect(await readFile(join(dest, "victim"), "utf8")).toBe("new");
      });

      it("replaces a link where the archive has a directory", async () => {
        await symlink(outside, join(dest, "d"));
        await extract(await tarOf([{ name: "d/", type: "directory" }, { name: "d/f", content: "f" }]));
        expect((await lstat(join(dest, "d"))).isDirectory()).toBe(true);
        expect(await readFile(join(dest, "d/f"), "utf8")).toBe("f");
      });
    });

    describe("hard links", () => {
      it.each([
        ["../outside/target", "a climbing target"],
        ["/etc/passwd", "an absolute target"],
      ])("refuses a hard link to %j (%s)", async (target) => {
        const error = await refused(await tarOf([{ name: "h", type: "link", linkname: target }, { name: "h", content: "pwned" }]));
        expect(error.reason).toBe("link-escape");
      });

      it("refuses a hard link to a file that was in the destination before", async () => {
        await writeFile(join(dest, "old"), "old");
        const error = await refused(await tarOf([{ name: "h", type: "link", linkname: "old" }]));
        expect(error.reason).toBe("link-escape");
      });

      it("links to a file extracted earlier, and a later entry replaces rather than writes through", async () => {
        await extract(
          await tarOf([
            { name: "a", content: "first" },
            { name: "b", type: "link", linkname: "a" },
            { name: "b", content: "second" },
          ]),
        );
        expect(await readFile(join(dest, "a"), "utf8")).toBe("first");
        expect(await readFile(join(dest, "b"), "utf8")).toBe("second");
      });

      it("makes the link a real hard link", async () => {
        const result = await extract(await tarOf([{ name: "a", content: "x" }, { name: "dir/b", type: "link", linkname: "a" }]));
        expect((await stat(join(dest, "a"))).ino).toBe((await stat(join(dest, "dir/b"))).ino);
        expect(result.hardlinks).toBe(1);
      });

      it("refuses every hard link with hardlinks: reject", async () => {
        const error = await refused(await tarOf([{ name: "a", content: "x" }, { name: "b", type: "link", linkname: "a" }]), { hardlinks: "reject" });
        expect(error.reason).toBe("special-file");
      });

      it("does not write through a hard link already in the destination", async () => {
        await link(join(outside, "target"), join(dest, "shared"));
        await extract(await tarOf([{ name: "shared", content: "new" }]));
        expect(await readFile(join(dest, "shared"), "utf8")).toBe("new");
      });
    });

    describe("special entries and modes", () => {
      it.each([
        ["character-device", { type: "character-device", devmajor: 1, devminor: 3 }],
        ["block-device", { type: "block-device", devmajor: 8, devminor: 0 }],
        ["fifo", { type: "fifo" }],
      ] as const)("refuses a %s", async (_, header) => {
        const error = await refused(await tarOf([{ name: "dev", ...header }]));
        expect(error.reason).toBe("special-file");
        expect(existsSync(join(dest, "dev"))).toBe(false);
      });

      it("strips setuid, setgid and sticky bits and applies the umask", async () => {
        await extract(
          await tarOf([
            { name: "suid", mode: 0o4755, content: "x" },
            { name: "sgid", mode: 0o2777, content: "x" },
            { name: "sticky/", type: "directory", mode: 0o1777 },
            { name: "ro/", type: "directory", mode: 0o555 },
            { name: "ro/inside", mode: 0o444, content: "x" },
          ]),
        );
        expect((await stat(join(dest, "suid"))).mode & 0o7777).toBe(0o755);
        expect((await stat(join(dest, "sgid"))).mode & 0o7777).toBe(0o755);
        expect((await stat(join(dest, "sticky"))).mode & 0o7777).toBe(0o755);
        expect((await stat(join(dest, "ro"))).mode & 0o7777).toBe(0o555);
        expect((await stat(join(dest, "ro/inside"))).mode & 0o7777).toBe(0o444);
      });

      it("applies a stricter umask", async () => {
        await extract(await tarOf([{ name: "d/f", mode: 0o755, content: "x" }]), { umask: 0o077 });
        expect((await stat(join(dest, "d/f"))).mode & 0o777).toBe(0o700);
        expect((await stat(join(dest, "d"))).mode & 0o777).toBe(0o700);
      });

      it("keeps modification times", async () => {
        await extract(await tarOf([{ name: "f", mtime: new Date("2001-02-03T04:05:06Z"), content: "x" }]));
        expect((await stat(join(dest, "f"))).mtime.toISOString()).toBe("2001-02-03T04:05:06.000Z");
      });
    });

    describe("replacing what is there", () => {
      it("replaces a file with a directory and an empty directory with a file", async () => {
        await writeFile(join(dest, "was-file"), "x");
        await mkdir(join(dest, "was-dir"));
        await extract(await tarOf([{ name: "was-file/inner", content: "in" }, { name: "was-dir", content: "now a file" }]));
        expect(await readFile(join(dest, "was-file/inner"), "utf8")).toBe("in");
        expect(await readFile(join(dest, "was-dir"), "utf8")).toBe("now a file");
      });

      it("refuses to replace a directory that is not empty", async () => {
        await mkdir(join(dest, "full"));
        await writeFile(join(dest, "full/keep"), "keep");
        const error = await refused(await tarOf([{ name: "full", content: "x" }]));
        expect(error.reason).toBe("invalid-name");
        expect(await readFile(join(dest, "full/keep"), "utf8")).toBe("keep");
      });

      it("lets the last of duplicate entries win", async () => {
        await extract(await tarOf([{ name: "f", content: "one" }, { name: "f", content: "two" }]));
        expect(await readFile(join(dest, "f"), "utf8")).toBe("two");
      });

      it("orders work on one name: a large file, then a small one over it, then links to large files", async () => {
        const large = Buffer.alloc(200_000, 7);
        await extract(
          await tarOf([
            { name: "f", content: large },
            { name: "f", content: "small now" },
            { name: "g", content: large },
            { name: "h", type: "link", linkname: "g" },
            { name: "g", content: "replaced" },
          ]),
        );
        expect(await readFile(join(dest, "f"), "utf8")).toBe("small now");
        expect((await readFile(join(dest, "h"))).equals(large)).toBe(true);
        expect(await readFile(join(dest, "g"), "utf8")).toBe("replaced");
      });
    });

    describe("limits", () => {
      it("builds a valid gzip bomb for the test below", () => {
        const small = Buffer.concat([...gzipZeros(3, () => undefined)]);
        expect(small.byteLength).toBeLessThan(10_000);
        expect(gunzipSync(small).equals(Buffer.alloc(3 * 1024 * 1024))).toBe(true);
      });

      it("stops past maxEntries", async () => {
        const entries = Array.from({ length: 11 }, (_, i) => ({ name: `f${i}`, content: "x" }));
        const error = await refused(await tarOf(entries), { maxEntries: 10 });
        expect(error.reason).toBe("too-many-entries");
        expect(error.entry).toBe("f10");
      });

      it("refuses an entry larger than maxEntryBytes before reading it", async () => {
        const error = await refused(await tarOf([{ name: "big", content: Buffer.alloc(2048) }]), { maxEntryBytes: 1024 });
        expect(error.reason).toBe("entry-too-large");
        expect(existsSync(join(dest, "big"))).toBe(false);
      });

      it("refuses an entry whose declared size passes maxBytes before reading it", async () => {
        const error = await refused(await tarOf([{ name: "big", content: Buffer.alloc(64 * 1024) }]), { maxBytes: 32 * 1024 });
        expect(error.reason).toBe("too-many-bytes");
        expect(existsSync(join(dest, "big"))).toBe(false);
      });

      it("stops a gzip bomb at maxBytes of decompressed data, having read little of it", async () => {
        // 1 GiB of zeros in about 1 MB of gzip: tar-stream reads zero blocks forever, so only the byte count stops it.
        let segmentsSent = 0;
        const source = Readable.from(
          gzipZeros(1024, () => {
            segmentsSent += 1;
          }),
        );
        const error = await refused(source, { maxBytes: 8 * 1024 * 1024 });
        expect(error.reason).toBe("too-many-bytes");
        // Of 1024 segments, only those consumed plus what stream buffers hold (about 64 KiB of input) were read.
        expect(segmentsSent).toBeLessThan(160);
        expect(source.destroyed).toBe(true);
      });

      it("counts the limit across entries", async () => {
        const entries = Array.from({ length: 8 }, (_, i) => ({ name: `f${i}`, content: Buffer.alloc(10_000, 1) }));
        const error = await refused(await tarOf(entries), { maxBytes: 50_000 });
        expect(error.reason).toBe("too-many-bytes");
      });

      it("refuses a destination that is a file", async () => {
    await writeFile(join(root, "nest", "file"), "x");
    const error = await extractArchive(await tarOf([]), join(root, "nest", "file")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe("destDir");
    await rm(join(root, "nest", "file"));
  });

  it("checks its options", async () => {
        await expect(extract(await tarOf([]), { maxBytes: -1 })).rejects.toBeInstanceOf(ValidationError);
        await expect(extract(await tarOf([]), { umask: 0o1000 })).rejects.toBeInstanceOf(ValidationError);
      });
    });

    describe("corrupt and failing sources", () => {
      it("refuses a header with a bad checksum", async () => {
        const archive = await tarOf([{ name: "f", content: "x" }]);
        archive[0] = 0x41;
        expect((await refused(archive)).reason).toBe("corrupt");
      });

      it("refuses an archive cut inside an entry, and removes the half-written file", async () => {
        const archive = await tarOf([{ name: "f", content: Buffer.alloc(100_000, 7) }]);
        expect((await refused(archive.subarray(0, 50_000))).reason).toBe("corrupt");
        expect(existsSync(join(dest, "f"))).toBe(false);
      });

      it("refuses an archive cut between entries (no end marker)", async () => {
        const archive = await tarOf([{ name: "f", content: "x".repeat(512) }, { name: "g", content: "y" }]);
        expect((await refused(archive.subarray(0, 1024))).reason).toBe("corrupt");
      });

      it("refuses an empty source and bytes that are not an archive", async () => {
        expect((await refused(new Uint8Array(0))).reason).toBe("corrupt");
        expect((await refused(Buffer.from("this is not a tar archive at all".repeat(40)))).reason).toBe("corrupt");
        expect((await refused(Buffer.from([0x1f, 0x8b, 1, 2, 3, 4, 5, 6, 7, 8, 9]))).reason).toBe("corrupt");
      });

      it("accepts an empty archive (just the end marker), plain or gzip", async () => {
        const empty = await tarOf([]);
        expect((await extract(empty)).entries).toBe(0);
        expect((await extract(gzipSync(empty))).entries).toBe(0);
      });

      it("passes the source's own error through unchanged", async () => {
        const archive = await tarOf([{ name: "f", content: Buffer.alloc(10_000) }]);
        class DownloadFailed extends Error {}
        const source = Readable.from(
          (async function* () {
            yield archive.subarray(0, 1024);
            throw new DownloadFailed("connection reset");
          })(),
        );
        await expect(extract(source)).rejects.toBeInstanceOf(DownloadFailed);
      });
    });

    describe("abort", () => {
      it("stops a stalled download promptly with AbortedError", async () => {
        const controller = new AbortController();
        const archive = await tarOf([{ name: "f", content: "x" }]);
        let resolveStalled!: () => void;
        const stalled = new Promise<void>((resolve) => {
          resolveStalled = resolve;
        });
        const source = (async function* () {
          yield archive.subarray(0, 600);
          controller.abort();
          await stalled;
        })();
        await expect(extract(source, { signal: controller.signal })).rejects.toBeInstanceOf(AbortedError);
        resolveStalled();
      });

      it("throws the signal's reason when it is a sandkit error", async () => {
        const controller = new AbortController();
        controller.abort(new RequestTimeoutError("deadline passed", { timeoutMs: 5 }));
        await expect(extract(await tarOf([]), { signal: controller.signal })).rejects.toBeInstanceOf(RequestTimeoutError);
      });
    });
  });
}

describe("skipping links and special entries", () => {
  it("leaves out links and special entries on request, and reports them", async () => {
    const skipped: string[] = [];
    const result = await extractArchive(
      await tarOf([
        { name: "file", content: "kept" },
        { name: "link", type: "symlink", linkname: "file" },
        { name: "pipe", type: "fifo" },
        { name: "null", type: "character-device", devmajor: 1, devminor: 3 },
      ]),
      dest,
      { symlinks: "skip", specialFiles: "skip", onSkip: (entry) => skipped.push(`${entry.type}:${entry.path}`) },
    );
    expect(skipped).toEqual(["symlink:link", "special:pipe", "special:null"]);
    expect(result.skipped).toEqual(["link", "pipe", "null"]);
    expect(await readdir(dest)).toEqual(["file"]);
  });

  it("still refuses a link that points outside when links are skipped", async () => {
    const error = await refused(await tarOf([{ name: "link", type: "symlink", linkname: "/" }]), { symlinks: "skip" });
    expect(error.reason).toBe("link-escape");
  });
});

describe("memory", () => {
  it("extracts a 256 MiB entry from a stream with bounded memory", { timeout: 60_000 }, async () => {
    const SIZE = 256 * 1024 * 1024;
    const CHUNK = 64 * 1024;
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    // Only the header, from tar-stream; the content is generated below.
    const packer = tarPack();
    packer.entry({ name: "big.bin", size: SIZE });
    const header = Buffer.from((await packer[Symbol.asyncIterator]().next()).value as Uint8Array);
    packer.destroy();
    expect(header.byteLength).toBe(512);
    gc();
    const rssBefore = process.memoryUsage.rss();
    let rssPeak = rssBefore;
    const source = (async function* () {
      yield header;
      for (let sent = 0, n = 0; sent < SIZE; sent += CHUNK, n += 1) {
        if (n % 16 === 0) rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
        if (n % 256 === 0) gc();
        yield Buffer.alloc(CHUNK, n);
      }
      yield Buffer.alloc(1024);
    })();
    const result = await extract(source, { maxBytes: 2 * SIZE });
    expect(result.bytes).toBe(SIZE);
    expect((await stat(join(dest, "big.bin"))).size).toBe(SIZE);
    console.log(`extract of a ${SIZE / 1024 / 1024} MiB entry: peak RSS growth ${((rssPeak - rssBefore) / 1024 / 1024).toFixed(1)} MiB`);
    expect(rssPeak - rssBefore).toBeLessThan(64 * 1024 * 1024);
  });
});

describe("listArchive", () => {
  it("lists entries with the same checks and writes nothing", async () => {
    const listing = await listArchive(
      gzipSync(await tarOf([{ name: "d/", type: "directory" }, { name: "d/f", mode: 0o4755, content: "abc" }, { name: "l", type: "symlink", linkname: "d/f" }])),
    );
    expect(listing.map(({ path, type, size, mode, linkTarget }) => ({ path, type, size, mode, linkTarget }))).toEqual([
      { path: "d", type: "directory", size: 0, mode: 0o755, linkTarget: undefined },
      { path: "d/f", type: "file", size: 3, mode: 0o4755, linkTarget: undefined },
      { path: "l", type: "symlink", size: 0, mode: 0o644, linkTarget: "d/f" },
    ]);
    await expect(listArchive(await tarOf([{ name: "../x", content: "x" }]))).rejects.toMatchObject({ reason: "path-traversal" });
  });
});

describe("a failing source", () => {
  it("rejects with the source's own error when it fails before its first byte", async () => {
    const dest = await mkdtemp(join(tmpdir(), "sandkit-extract-source-"));
    try {
      const own = new Error("the upload connection broke");
      async function* failing(): AsyncGenerator<Uint8Array> {
        throw own;
      }
      await expect(extractArchive(failing(), dest)).rejects.toBe(own);
    } finally {
      await rm(dest, { recursive: true, force: true });
    }
  });
});
