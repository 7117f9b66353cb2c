import { execFile } from "node:child_process";
import { setImmediate as nextTurn } from "node:timers/promises";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { gunzipSync } from "node:zlib";
import { extract as tarExtract, type Header } from "tar-stream";
import { describe, expect, it } from "vitest";
import { AbortedError } from "../errors/aborted-error.ts";
import { UnsafeArchiveError } from "../errors/unsafe-archive-error.ts";
import { ValidationError } from "../errors/validation-error.ts";
import { type ArchiveEntry, packEntries } from "./pack-entries.ts";

const run = promisify(execFile);
const MiB = 1024 * 1024;

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** Parses a tar with tar-stream: headers and contents. */
async function parse(tar: Uint8Array): Promise<{ header: Header; content: Buffer }[]> {
  const extract = tarExtract();
  const out: { header: Header; content: Buffer }[] = [];
  const done = (async () => {
    for await (const entry of extract) out.push({ header: entry.header, content: await collect(entry as AsyncIterable<Uint8Array>) });
  })();
  extract.end(tar);
  await done;
  return out;
}

async function failure(stream: AsyncIterable<Uint8Array>): Promise<unknown> {
  return collect(stream).then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe("packEntries", () => {
  it("writes files, directories and links with the given modes and times, no owners", async () => {
    const mtime = new Date("2022-05-06T07:08:09Z");
    const entries: ArchiveEntry[] = [
      { path: "dir", type: "directory", mode: 0o750, mtime },
      { path: "dir/a.txt", type: "file", content: Buffer.from("hello"), mode: 0o4755, mtime },
      { path: "dir/streamed", type: "file", size: 6, content: () => (async function* () { yield Buffer.from("abc"); yield Buffer.from("def"); })(), mtime },
      { path: "link", type: "symlink", linkTarget: "dir/a.txt", mtime },
    ];
    const parsed = await parse(await collect(packEntries(entries)));
    expect(parsed.map(({ header, content }) => [header.name, header.type, header.mode, header.linkname, content.toString(), header.uid, header.uname])).toEqual([
      ["dir/", "directory", 0o750, null, "", 0, ""],
      // setuid is dropped: permission bits only.
      ["dir/a.txt", "file", 0o755, null, "hello", 0, ""],
      ["dir/streamed", "file", 0o644, null, "abcdef", 0, ""],
      ["link", "symlink", 0o777, "dir/a.txt", "", 0, ""],
    ]);
    expect(parsed.every(({ header }) => header.mtime.getTime() === mtime.getTime())).toBe(true);
  });

  it("normalises paths and stores long and unicode names (PAX)", async () => {
    const long = `${"a".repeat(150)}/${"b".repeat(200)}`;
    const parsed = await parse(
      await collect(
        packEntries([
          { path: "./x//y", type: "file", content: Buffer.from("1") },
          { path: long, type: "file", content: Buffer.from("2") },
          { path: "日本語/ファイル ☃.txt", type: "file", content: Buffer.from("3") },
          { path: "l", type: "symlink", linkTarget: "t".repeat(300) },
        ]),
      ),
    );
    expect(parsed.map(({ header }) => header.name)).toEqual(["x/y", long, "日本語/ファイル ☃.txt", "l"]);
    expect(parsed[3]!.header.linkname).toBe("t".repeat(300));
  });

  it("gzips on request", async () => {
    const gz = await collect(packEntries([{ path: "f", type: "file", content: Buffer.from("zipped") }], { gzip: true, gzipLevel: 9 }));
    expect([gz[0], gz[1]]).toEqual([0x1f, 0x8b]);
    expect((await parse(gunzipSync(gz)))[0]!.content.toString()).toBe("zipped");
  });

  it("is read by GNU tar when present", async (context) => {
    const hasTar = await run("tar", ["--version"]).then(
      () => true,
      () => false,
    );
    if (!hasTar) context.skip();
    const dir = await mkdtemp(join(tmpdir(), "sandkit-pack-"));
    try {
      await writeFile(join(dir, "a.tar"), await collect(packEntries([{ path: "ü/日本.txt", type: "file", content: Buffer.from("x") }, { path: `${"n".repeat(180)}.txt`, type: "file", content: Buffer.from("y") }])));
      const { stdout } = await run("tar", ["--quoting-style=literal", "-tf", join(dir, "a.tar")], { env: { ...process.env, LC_ALL: "C.UTF-8" } });
      expect(stdout.split("\n").filter(Boolean)).toEqual(["ü/日本.txt", `${"n".repeat(180)}.txt`]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ["../escape", "an escaping path"],
    ["/abs", "an absolute path"],
    ["", "an empty path"],
    ["a\0b", "a NUL byte"],
  ])("refuses %j (%s) with ValidationError", async (path) => {
    const error = await failure(packEntries([{ path, type: "file", content: Buffer.from("x") }]));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe("path");
  });

  it("refuses content that does not match its size, either way", async () => {
    const bytes = await failure(packEntries([{ path: "f", type: "file", size: 2, content: Buffer.from("abc") }]));
    expect(bytes).toBeInstanceOf(ValidationError);
    const tooLong = await failure(packEntries([{ path: "f", type: "file", size: 2, content: (async function* () { yield Buffer.from("abc"); })() }]));
    expect(tooLong).toBeInstanceOf(ValidationError);
    const tooShort = await failure(packEntries([{ path: "f", type: "file", size: 5, content: (async function* () { yield Buffer.from("abc"); })() }]));
    expect(tooShort).toBeInstanceOf(ValidationError);
    const noSize = await failure(packEntries([{ path: "f", type: "file", content: (async function* () { yield Buffer.from("abc"); })() }]));
    expect((noSize as ValidationError).field).toBe("size");
  });

  it("enforces maxEntries and maxBytes when given", async () => {
    const files = (n: number): ArchiveEntry[] => Array.from({ length: n }, (_, i) => ({ path: `f${i}`, type: "file", content: Buffer.alloc(100) }));
    expect(await failure(packEntries(files(3), { maxEntries: 2 }))).toMatchObject({ reason: "too-many-entries", entry: "f2" });
    const bytes = await failure(packEntries(files(3), { maxBytes: 250 }));
    expect(bytes).toBeInstanceOf(UnsafeArchiveError);
    expect(bytes).toMatchObject({ reason: "too-many-bytes", entry: "f2" });
  });

  it("fails with AbortedError when its signal aborts, and stops reading the content", async () => {
    const controller = new AbortController();
    let produced = 0;
    const content = async function* (): AsyncGenerator<Uint8Array> {
      for (;;) {
        produced += 1;
        yield Buffer.alloc(64 * 1024);
      }
    };
    const stream = packEntries([{ path: "endless", type: "file", size: Number.MAX_SAFE_INTEGER, content }], { signal: controller.signal });
    let received = 0;
    const error = await (async () => {
      try {
        for await (const chunk of stream) {
          received += chunk.byteLength;
          if (received > 4 * MiB) controller.abort();
        }
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(AbortedError);
    const producedAtAbort = produced;
    await nextTurn();
    await nextTurn();
    expect(produced).toBe(producedAtAbort);
  });

  it("stops reading content when the consumer destroys the stream", async () => {
    let finished = false;
    let produced = 0;
    const content = async function* (): AsyncGenerator<Uint8Array> {
      try {
        for (let i = 0; i < 1000; i += 1) {
          produced += 1;
          yield Buffer.alloc(64 * 1024);
        }
      } finally {
        finished = true;
      }
    };
    const stream = packEntries([{ path: "big", type: "file", size: 1000 * 64 * 1024, content }]);
    for await (const _ of stream) {
      stream.destroy();
      break;
    }
    // Poll (bounded) until the producer has been closed.
    for (let i = 0; i < 100 && !finished; i += 1) await nextTurn();
    expect(finished).toBe(true);
    expect(produced).toBeLessThan(100);
  });
});

/** The garbage collector, exposed at run time (vitest workers do not start with --expose-gc). */
function exposeGc(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

describe("backpressure", () => {
  const SIZE = 256 * MiB;
  const CHUNK = 64 * 1024;

  for (const gzip of [false, true]) {
    it(`packs a ${SIZE / MiB} MiB streamed entry reading ahead only a few chunks (${gzip ? "tar.gz" : "tar"})`, { timeout: 60_000 }, async () => {
      let produced = 0;
      let maxAhead = 0;
      const gc = exposeGc();
      gc();
      const rssBefore = process.memoryUsage.rss();
      let rssPeak = rssBefore;
      // Fresh chunks, as a file read makes them: memory would grow if the packer ran ahead of its reader.
      const content = async function* (): AsyncGenerator<Uint8Array> {
        for (let sent = 0, n = 0; sent < SIZE; sent += CHUNK, n += 1) {
          if (n % 16 === 0) rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
          // Collect garbage every 16 MiB, so that RSS shows what is held rather than what is not yet collected.
          if (n % 256 === 0) gc();
          produced += CHUNK;
          yield Buffer.alloc(CHUNK, n);
        }
      };
      let out = 0;
      let chunks = 0;
      let compressedIn = 0;
      const stream = packEntries([{ path: "big.bin", type: "file", size: SIZE, content }], { gzip, gzipLevel: 1 });
      for await (const chunk of stream) {
        out += chunk.byteLength;
        // What the reader has taken so far: tar bytes out (less the 512-byte header), or for gzip
        // what zlib has consumed from the tar side.
        compressedIn = gzip ? (stream as unknown as { bytesWritten: number }).bytesWritten : Math.max(0, out - 512);
        maxAhead = Math.max(maxAhead, produced - compressedIn);
        chunks += 1;
        if (chunks % 16 === 0) rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
        // Give the producer every chance to run ahead.
        await nextTurn();
      }
      console.log(
        `pack ${gzip ? "tar.gz" : "tar"} of ${SIZE / MiB} MiB: read-ahead at most ${(maxAhead / MiB).toFixed(2)} MiB; ` +
          `peak RSS growth ${((rssPeak - rssBefore) / MiB).toFixed(1)} MiB`,
      );
      expect(produced).toBe(SIZE);
      if (!gzip) expect(out).toBeGreaterThanOrEqual(SIZE + 512 + 1024);
      // The content read never runs more than a few buffers ahead of what was consumed.
      expect(maxAhead).toBeLessThan(2 * MiB);
      // Measured at 0 to 30 MiB (GC every 16 MiB); the bound is generous.
      expect(rssPeak - rssBefore).toBeLessThan(64 * MiB);
    });
  }
});
