import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ValidationError } from "../errors/validation-error.ts";
import { listArchive } from "./extract-archive.ts";
import { packDirectory, type PackSkippedEntry } from "./pack-directory.ts";

const run = promisify(execFile);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "sandkit-packdir-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function bytesOf(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

describe("packDirectory", () => {
  it("stores links as links, never following them, or skips them on request", async () => {
    await writeFile(join(dir, "real"), "data");
    await symlink("/etc", join(dir, "abs-link"));
    await symlink("real", join(dir, "rel-link"));
    const listing = await listArchive(await bytesOf(packDirectory(dir)), {}).catch((error: unknown) => error);
    // listArchive refuses the absolute link, as any extraction would: it was stored, not followed.
    expect(listing).toMatchObject({ reason: "link-escape", entry: "abs-link" });
    const skipped: PackSkippedEntry[] = [];
    const entries = await listArchive(await bytesOf(packDirectory(dir, { symlinks: "skip", onSkip: (s) => skipped.push(s) })));
    expect(entries.map((e) => e.path)).toEqual(["real"]);
    expect(skipped).toEqual([
      { path: "abs-link", reason: "symlink" },
      { path: "rel-link", reason: "symlink" },
    ]);
  });

  it("skips FIFOs and reports them", async (context) => {
    const made = await run("mkfifo", [join(dir, "pipe")]).then(
      () => true,
      () => false,
    );
    if (!made) context.skip();
    await writeFile(join(dir, "file"), "x");
    const skipped: PackSkippedEntry[] = [];
    const entries = await listArchive(await bytesOf(packDirectory(dir, { onSkip: (s) => skipped.push(s) })));
    expect(entries.map((e) => e.path)).toEqual(["file"]);
    expect(skipped).toEqual([{ path: "pipe", reason: "special-file" }]);
  });

  it("leaves out what the filter refuses, without entering refused directories", async () => {
    await mkdir(join(dir, "node_modules/pkg"), { recursive: true });
    await writeFile(join(dir, "node_modules/pkg/index.js"), "x");
    await mkdir(join(dir, "src"));
    await writeFile(join(dir, "src/main.ts"), "x");
    const seen: string[] = [];
    const entries = await listArchive(
      await bytesOf(
        packDirectory(dir, {
          filter: (path) => {
            seen.push(path);
            return path !== "node_modules";
          },
        }),
      ),
    );
    expect(entries.map((e) => e.path)).toEqual(["src", "src/main.ts"]);
    expect(seen).not.toContain("node_modules/pkg");
  });

  it("fails the stream with ValidationError when the directory is missing or a file", async () => {
    await writeFile(join(dir, "file"), "x");
    for (const path of [join(dir, "missing"), join(dir, "file")]) {
      const error = await bytesOf(packDirectory(path)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe("dir");
    }
  });

  it("closes every file it opened when the reader stops early", async (context) => {
    if (!existsSync("/proc/self/fd")) context.skip();
    await writeFile(join(dir, "big.bin"), Buffer.alloc(4 * 1024 * 1024, 1));
    for (let i = 0; i < 40; i += 1) await writeFile(join(dir, `small-${String(i).padStart(2, "0")}`), "x");
    for (const syncSmallFiles of [true, false]) {
      const before = (await readdir("/proc/self/fd")).length;
      const stream = packDirectory(dir, { syncSmallFiles });
      for await (const _ of stream) break;
      stream.destroy();
      // Poll (bounded) until the descriptors are closed again.
      let open = Infinity;
      for (let i = 0; i < 200 && open > before; i += 1) {
        await nextTurn();
        open = (await readdir("/proc/self/fd")).length;
      }
      expect(open).toBeLessThanOrEqual(before);
    }
  });

  it("packs an empty directory as an empty archive", async () => {
    expect(await listArchive(await bytesOf(packDirectory(dir, { gzip: true })))).toEqual([]);
  });
});
