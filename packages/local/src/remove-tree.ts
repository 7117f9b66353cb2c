import { chmod, lstat, readdir, rmdir, unlink } from "node:fs/promises";
import { errnoOf } from "./local-errors.js";
import { openChildDirectory, type PinnedDir } from "./pinned-dir.js";

/**
 * Removes the entry `name` inside `parent` and, when it is a directory, everything below it.
 * Never follows a symbolic link: links are unlinked, directories are entered by descriptor one
 * level at a time (so a directory swapped for a link meanwhile is refused, not followed).
 * Directories made unreadable (`chmod 000`) by a command are made accessible again first.
 * A missing entry is not an error.
 */
export async function removeEntry(parent: PinnedDir, name: string): Promise<void> {
  const path = parent.child(name);
  let isDirectory: boolean;
  try {
    isDirectory = (await lstat(path)).isDirectory();
  } catch (error) {
    if (errnoOf(error) === "ENOENT") return;
    throw error;
  }
  if (!isDirectory) {
    await ignoreMissing(unlink(path));
    return;
  }
  let dir: PinnedDir;
  try {
    dir = await openChildDirectory(parent, name);
  } catch (error) {
    const code = errnoOf(error);
    if (code === "ENOENT") return;
    if (code !== "EACCES" && code !== "EPERM") throw error;
    // Only an unreadable directory (not a link: lstat said so, and the open refuses links) gets here.
    await chmod(path, 0o700);
    dir = await openChildDirectory(parent, name);
  }
  try {
    let names: string[];
    try {
      names = await readdir(dir.path);
    } catch (error) {
      if (errnoOf(error) !== "EACCES") throw error;
      await chmod(dir.path, 0o700);
      names = await readdir(dir.path);
    }
    for (const child of names) {
      try {
        await removeEntry(dir, child);
      } catch (error) {
        if (errnoOf(error) !== "EACCES") throw error;
        // A directory without write permission: its entries cannot be unlinked until it has it.
        await chmod(dir.path, 0o700);
        await removeEntry(dir, child);
      }
    }
  } finally {
    await dir.close();
  }
  await ignoreMissing(rmdir(path));
}

async function ignoreMissing(pending: Promise<void>): Promise<void> {
  try {
    await pending;
  } catch (error) {
    if (errnoOf(error) !== "ENOENT") throw error;
  }
}
