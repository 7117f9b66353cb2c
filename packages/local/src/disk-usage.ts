import { lstat, readdir } from "node:fs/promises";
import { errnoOf } from "./local-errors.js";

/**
 * Bytes of disk a directory tree uses (allocated blocks, so sparse files count what they take),
 * without following links. `checkpoint` runs between directories (throw from it to stop). Entries that vanish or cannot be read while walking are skipped.
 */
export async function diskUsage(dir: string, checkpoint: () => void = () => undefined): Promise<number> {
  let total = 0;
  const pending = [dir];
  while (pending.length > 0) {
    checkpoint();
    const current = pending.pop()!;
    let names: string[];
    try {
      names = await readdir(current);
    } catch (error) {
      if (skippable(error)) continue;
      throw error;
    }
    for (const name of names) {
      const path = `${current}/${name}`;
      try {
        const stats = await lstat(path);
        total += stats.blocks > 0 || stats.size === 0 ? stats.blocks * 512 : stats.size;
        if (stats.isDirectory()) pending.push(path);
      } catch (error) {
        if (!skippable(error)) throw error;
      }
    }
  }
  return total;
}

function skippable(error: unknown): boolean {
  const code = errnoOf(error);
  return code === "ENOENT" || code === "ENOTDIR" || code === "EACCES" || code === "EPERM";
}
