import { constants, existsSync } from "node:fs";
import { type FileHandle, mkdir, open } from "node:fs/promises";
import { errnoOf } from "./local-errors.js";

/**
 * Whether directories can be pinned by descriptor: on Linux, `/proc/self/fd/<fd>/<name>` names
 * `<name>` inside the directory the descriptor holds, whatever happens to the directory's path
 * afterwards. That is how this package gets the effect of `openat()` and friends from Node.js.
 */
const FD_PATHS = process.platform === "linux" && existsSync("/proc/self/fd");

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/**
 * An open directory. Path-based calls made through {@link PinnedDir.child} act inside this very
 * directory even if a component of its path is swapped for a symbolic link meanwhile (on Linux;
 * elsewhere they fall back to the path, which is checked but not pinned).
 */
export interface PinnedDir extends AsyncDisposable {
  /** A path that names the directory itself. */
  readonly path: string;
  /** A path that names the entry `name` (one component) inside the directory. */
  child(name: string): string;
  close(): Promise<void>;
}

class DescriptorDir implements PinnedDir {
  readonly path: string;
  readonly #handle: FileHandle;
  #closed = false;

  constructor(handle: FileHandle, hostPath: string) {
    this.#handle = handle;
    this.path = FD_PATHS ? `/proc/self/fd/${handle.fd}` : hostPath;
  }

  child(name: string): string {
    if (name.length === 0 || name === "." || name === ".." || name.includes("/")) {
      throw new TypeError(`not a single path component: ${JSON.stringify(name)}`);
    }
    return `${this.path}/${name}`;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#handle.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Opens the directory at `hostPath`, refusing a symbolic link in its last component. */
export async function openDirectory(hostPath: string): Promise<PinnedDir> {
  return new DescriptorDir(await open(hostPath, DIR_FLAGS), hostPath);
}

/**
 * Opens the directory `name` inside `parent`, never through a symbolic link (`ELOOP`/`ENOTDIR`
 * when `name` is one). With `create`, makes it first when missing.
 */
export async function openChildDirectory(parent: PinnedDir, name: string, create = false): Promise<PinnedDir> {
  const path = parent.child(name);
  if (create) {
    try {
      await mkdir(path, 0o755);
    } catch (error) {
      if (errnoOf(error) !== "EEXIST") throw error;
    }
  }
  return new DescriptorDir(await open(path, DIR_FLAGS), path);
}

/**
 * Opens `root` and then each of `segments` below it, one component at a time, never following a
 * symbolic link. With `create`, missing directories are made on the way.
 */
export async function openDirectoryChain(root: string, segments: readonly string[], create = false): Promise<PinnedDir> {
  let current = await openDirectory(root);
  try {
    for (const segment of segments) {
      const next = await openChildDirectory(current, segment, create);
      await current.close();
      current = next;
    }
    return current;
  } catch (error) {
    await current.close().catch(() => undefined);
    throw error;
  }
}
