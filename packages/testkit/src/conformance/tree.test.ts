import { cp, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { pseudoRandomBytes, snapshotTree, writeSampleTree } from "./tree.ts";

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "sandkit-tree-test-"));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe("pseudoRandomBytes", () => {
  it("is deterministic per seed and differs across seeds", () => {
    expect(Buffer.from(pseudoRandomBytes(64, 7)).equals(pseudoRandomBytes(64, 7))).toBe(true);
    expect(Buffer.from(pseudoRandomBytes(64, 7)).equals(pseudoRandomBytes(64, 8))).toBe(false);
    expect(pseudoRandomBytes(0, 1).byteLength).toBe(0);
  });
});

describe("writeSampleTree and snapshotTree", () => {
  it("writes the tree it reports, empty directories included", async () => {
    const root = await tempDir();
    const sample = await writeSampleTree(root, 20);
    const snapshot = await snapshotTree(root);
    const files = Object.values(snapshot).filter((entry) => entry.type === "file");
    expect(files).toHaveLength(sample.files);
    expect(files.reduce((sum, entry) => sum + (entry.type === "file" ? entry.size : 0), 0)).toBe(sample.bytes);
    for (const dir of sample.directories) expect(snapshot[dir], dir).toEqual({ type: "directory" });
    expect(snapshot.empty).toEqual({ type: "directory" });
    expect(snapshot["a/zero.bin"]).toMatchObject({ type: "file", size: 0 });
  });

  it("gives equal snapshots for a copy and different ones after a one-byte change", async () => {
    const root = await tempDir();
    await writeSampleTree(root, 5);
    const copy = join(await tempDir(), "copy");
    await cp(root, copy, { recursive: true });
    expect(await snapshotTree(copy)).toEqual(await snapshotTree(root));
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    bytes[200] = 0;
    await writeFile(join(copy, "a/all-bytes.bin"), bytes);
    expect(await snapshotTree(copy)).not.toEqual(await snapshotTree(root));
  });

  it("records symbolic links without following them", async () => {
    const root = await tempDir();
    await symlink("/", join(root, "to-root"));
    expect(await snapshotTree(root)).toEqual({ "to-root": { type: "symlink", target: "/" } });
  });
});
