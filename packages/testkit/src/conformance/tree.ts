import { createHash } from "node:crypto";
import { lstat, mkdir, readdir, readFile, readlink, writeFile } from "node:fs/promises";
import { join, posix } from "node:path";

/** One entry of a local tree snapshot, keyed by its `/`-separated path relative to the root. */
export type TreeEntry =
  | { readonly type: "directory" }
  | { readonly type: "file"; readonly size: number; readonly sha256: string }
  | { readonly type: "symlink"; readonly target: string }
  | { readonly type: "other" };

/** What {@link writeSampleTree} wrote. */
export interface SampleTree {
  readonly files: number;
  readonly bytes: number;
  /** Every directory below the root, including empty ones. */
  readonly directories: readonly string[];
}

/** Deterministic bytes (xorshift32) so a tree is the same on every run without binary fixtures. */
export function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = (seed | 0) || 0x9e3779b9;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * Writes the sample tree the transfer cases use under `root`: nested directories, two empty
 * directories, unicode and space-bearing names, an empty file, a file of all 256 byte values, a
 * 1 MiB file and `manyFiles` small files of varied sizes.
 */
export async function writeSampleTree(root: string, manyFiles = 300): Promise<SampleTree> {
  const directories = ["a", "a/b", "a/b/c", "a/b/empty-nested", "empty", "ünï cödé", "many"];
  for (const dir of directories) await mkdir(join(root, dir), { recursive: true });
  const files: [string, Uint8Array][] = [
    ["README.txt", new TextEncoder().encode("a sample tree for the sandkit conformance suite\n")],
    ["a/zero.bin", new Uint8Array(0)],
    ["a/all-bytes.bin", Uint8Array.from({ length: 256 }, (_, i) => i)],
    ["a/big.bin", pseudoRandomBytes(1024 * 1024, 1)],
    ["a/b/with space.txt", new TextEncoder().encode("spaces in names\n")],
    ["a/b/c/deep.txt", new TextEncoder().encode("deep\n")],
    ["ünï cödé/日本語 ✓.txt", new TextEncoder().encode("✓ 日本語 🎉\n")],
  ];
  for (let i = 0; i < manyFiles; i++) {
    files.push([`many/f-${String(i).padStart(3, "0")}.bin`, pseudoRandomBytes((i * 37) % 5000, i + 2)]);
  }
  let bytes = 0;
  for (const [path, content] of files) {
    await writeFile(join(root, path), content);
    bytes += content.byteLength;
  }
  return { files: files.length, bytes, directories };
}

/**
 * Snapshots a local tree: every entry below `root` (not `root` itself) with its type, and for
 * files their size and SHA-256, so two snapshots are equal exactly when the trees are byte for
 * byte the same. Symbolic links are recorded, never followed.
 */
export async function snapshotTree(root: string): Promise<Record<string, TreeEntry>> {
  const out: Record<string, TreeEntry> = {};
  async function walk(dir: string, relative: string): Promise<void> {
    const names = (await readdir(dir)).sort();
    for (const name of names) {
      const path = join(dir, name);
      const rel = relative === "" ? name : posix.join(relative, name);
      const stats = await lstat(path);
      if (stats.isSymbolicLink()) {
        out[rel] = { type: "symlink", target: await readlink(path) };
      } else if (stats.isDirectory()) {
        out[rel] = { type: "directory" };
        await walk(path, rel);
      } else if (stats.isFile()) {
        const content = await readFile(path);
        out[rel] = { type: "file", size: content.byteLength, sha256: createHash("sha256").update(content).digest("hex") };
      } else {
        out[rel] = { type: "other" };
      }
    }
  }
  await walk(root, "");
  return out;
}
