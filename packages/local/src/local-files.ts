import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { type FileHandle, lstat, open, readdir, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import {
  type ByteSourceV1,
  type CallContextV1,
  extractArchive,
  type FileEntryV1,
  packDirectory,
  type SandboxFilesV1,
  throwIfAborted,
} from "@sandkit/core";
import { BACKEND_NAME, type ErrorSite, errnoOf, fileSystemError, invalid, notFound } from "./local-errors.js";
import { openDirectoryChain } from "./pinned-dir.js";
import { removeEntry } from "./remove-tree.js";
import { resolveWorkspacePath, type ResolvedWorkspacePath, sandboxPathOf, workspaceSegments } from "./workspace-paths.js";

/** What the file operations need to know about their sandbox. */
export interface WorkspaceHandle {
  /** The sandbox id, for errors. */
  readonly id: string;
  /** The host directory mounted at `/workspace` (a real path, no links). */
  readonly dir: string;
  /** Throws `SandboxNotFoundError` when the sandbox is gone. */
  ensureLive(operation: string): Promise<void>;
}

const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const TEMP_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const READ_CHUNK = 64 * 1024;
const DEFAULT_FILE_MODE = 0o644;

/**
 * Native file operations on a local workspace. Every path is a sandbox path under `/workspace`;
 * one that would leave the workspace, directly or through a symbolic link, is refused with
 * `ValidationError` before anything is opened. Directories are walked by descriptor and final
 * components are opened with `O_NOFOLLOW`, so a link swapped in meanwhile is refused, not
 * followed. Writes go to a temporary file in the same directory and are renamed into place.
 */
export class LocalFiles implements SandboxFilesV1 {
  readonly #workspace: WorkspaceHandle;

  constructor(workspace: WorkspaceHandle) {
    this.#workspace = workspace;
  }

  /** Reads a whole regular file; `ValidationError` (field `maxBytes`) past `maxBytes`. */
  async read(path: string, options: { readonly maxBytes: number }, call: CallContextV1): Promise<Uint8Array> {
    const site = await this.#begin("files.read", call);
    const maxBytes = options.maxBytes;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw invalid("maxBytes must be a whole number of bytes", "maxBytes", site);
    const target = await this.#resolve(path, true, site);
    if (!target.exists) throw notFound(target.sandboxPath, site);
    if (target.segments.length === 0) throw invalid(`${target.sandboxPath} is a directory`, "path", site);
    try {
      await using dir = await openDirectoryChain(this.#workspace.dir, target.segments.slice(0, -1));
      const handle = await open(dir.child(target.segments.at(-1)!), READ_FLAGS);
      try {
        const stats = await handle.stat();
        if (stats.isDirectory()) throw invalid(`${sandboxPathOf(target.segments)} is a directory`, "path", site);
        if (!stats.isFile()) throw invalid(`${sandboxPathOf(target.segments)} is not a regular file`, "path", site);
        if (stats.size > maxBytes) throw tooLarge(target.sandboxPath, maxBytes, site);
        return await readAll(handle, maxBytes, call, () => tooLarge(target.sandboxPath, maxBytes, site), site);
      } finally {
        await handle.close();
      }
    } catch (error) {
      throw fileSystemError(error, target.sandboxPath, "path", site);
    }
  }

  /** Creates or replaces a file atomically; parents are created; `mode` is applied exactly (no umask). */
  async write(path: string, data: ByteSourceV1, options: { readonly mode?: number | undefined }, call: CallContextV1): Promise<void> {
    const site = await this.#begin("files.write", call);
    const mode = options.mode;
    if (mode !== undefined && (!Number.isInteger(mode) || mode < 0 || mode > 0o777)) {
      throw invalid("mode must be permission bits between 0 and 0o777", "mode", site);
    }
    if (!(data instanceof Uint8Array) && !isAsyncIterable(data)) {
      throw invalid("data must be a Uint8Array or an AsyncIterable of Uint8Array", "data", site);
    }
    const target = await this.#resolve(path, true, site);
    if (target.segments.length === 0) throw invalid(`${target.sandboxPath} is a directory`, "path", site);
    const name = target.segments.at(-1)!;
    try {
      await using dir = await openDirectoryChain(this.#workspace.dir, target.segments.slice(0, -1), true);
      const existingMode = await modeOfExisting(dir.child(name), target.sandboxPath, site);
      const temp = `.${name.slice(0, 64)}.sandkit-${randomBytes(6).toString("hex")}.tmp`;
      const handle = await open(dir.child(temp), TEMP_FLAGS, 0o600);
      let renamed = false;
      try {
        await writeAll(handle, data, call, site);
        await handle.chmod(mode ?? existingMode ?? DEFAULT_FILE_MODE);
        await handle.close();
        throwIfAborted(call.signal, { backend: BACKEND_NAME, ...site });
        await rename(dir.child(temp), dir.child(name));
        renamed = true;
      } finally {
        if (!renamed) {
          await handle.close().catch(() => undefined);
          await unlink(dir.child(temp)).catch(() => undefined);
        }
      }
    } catch (error) {
      const code = errnoOf(error);
      if (code === "ENOTDIR" || code === "EEXIST") throw invalid(`a parent of ${target.sandboxPath} exists and is not a directory`, "path", site);
      throw fileSystemError(error, target.sandboxPath, "path", site);
    }
  }

  /** Lists a directory, not recursively, sorted by name. Entries are not followed (links are `symlink`). */
  async list(path: string, call: CallContextV1): Promise<FileEntryV1[]> {
    const site = await this.#begin("files.list", call);
    const shown = sandboxPathOf(workspaceSegments(path, "path", site));
    const target = await this.#resolve(path, true, site);
    if (!target.exists) throw notFound(shown, site);
    try {
      await using dir = await openDirectoryChain(this.#workspace.dir, target.segments);
      const names = (await readdir(dir.path)).sort();
      const entries: FileEntryV1[] = [];
      for (const name of names) {
        let stats;
        try {
          stats = await lstat(dir.child(name));
        } catch (error) {
          if (errnoOf(error) === "ENOENT") continue;
          throw error;
        }
        entries.push({
          name,
          path: shown === "/workspace" ? `/workspace/${name}` : `${shown}/${name}`,
          type: stats.isFile() ? "file" : stats.isDirectory() ? "directory" : stats.isSymbolicLink() ? "symlink" : "other",
          size: stats.isFile() ? stats.size : 0,
          mode: stats.mode & 0o777,
          modifiedAt: stats.mtime,
        });
      }
      return entries;
    } catch (error) {
      if (errnoOf(error) === "ENOTDIR") throw invalid(`${shown} is not a directory`, "path", site);
      throw fileSystemError(error, shown, "path", site);
    }
  }

  /** Removes a file or link, or a directory with `recursive`. Missing is fine. The workspace itself cannot be removed. */
  async remove(path: string, options: { readonly recursive: boolean }, call: CallContextV1): Promise<void> {
    const site = await this.#begin("files.remove", call);
    const target = await this.#resolve(path, false, site);
    if (target.segments.length === 0) throw invalid(`refusing to remove the workspace ${target.sandboxPath}`, "path", site);
    if (!target.exists) return;
    const name = target.segments.at(-1)!;
    try {
      await using dir = await openDirectoryChain(this.#workspace.dir, target.segments.slice(0, -1));
      let stats;
      try {
        stats = await lstat(dir.child(name));
      } catch (error) {
        if (errnoOf(error) === "ENOENT") return;
        throw error;
      }
      if (stats.isDirectory() && options.recursive !== true) {
        throw invalid(`${target.sandboxPath} is a directory; pass recursive: true to remove it`, "path", site);
      }
      await removeEntry(dir, name);
    } catch (error) {
      if (errnoOf(error) === "ENOENT" || errnoOf(error) === "ENOTDIR") return;
      throw fileSystemError(error, target.sandboxPath, "path", site);
    }
  }

  /** Creates a directory and its parents; an existing directory is fine, an existing file is a `ValidationError`. */
  async mkdir(path: string, call: CallContextV1): Promise<void> {
    const site = await this.#begin("files.mkdir", call);
    const target = await this.#resolve(path, true, site);
    try {
      await using _dir = await openDirectoryChain(this.#workspace.dir, target.segments, true);
    } catch (error) {
      const code = errnoOf(error);
      if (code === "ENOTDIR" || code === "EEXIST") throw invalid(`${target.sandboxPath} (or a parent) exists and is not a directory`, "path", site);
      throw fileSystemError(error, target.sandboxPath, "path", site);
    }
  }

  /**
   * Unpacks a tar or tar.gz stream into a workspace directory (created if missing) through core's
   * hostile-input extractor: entries that would leave the directory, links that escape it and
   * special files are refused with `UnsafeArchiveError`.
   */
  async uploadArchive(dir: string, archive: AsyncIterable<Uint8Array>, call: CallContextV1): Promise<void> {
    const site = await this.#begin("files.upload", call);
    await this.mkdir(dir, call);
    const target = await this.#resolve(dir, true, site);
    await extractArchive(archive, join(this.#workspace.dir, ...target.segments), { signal: call.signal, operation: "files.upload" });
  }

  /** Packs a workspace directory into a tar stream (links kept as links, special files left out). */
  async downloadArchive(dir: string, call: CallContextV1): Promise<AsyncIterable<Uint8Array>> {
    const site = await this.#begin("files.download", call);
    const target = await this.#resolve(dir, true, site);
    if (!target.exists) throw notFound(target.sandboxPath, site);
    const hostDir = join(this.#workspace.dir, ...target.segments);
    const info = await lstat(hostDir);
    if (!info.isDirectory()) throw invalid(`${target.sandboxPath} is not a directory`, "path", site);
    return packDirectory(hostDir, { signal: call.signal, operation: "files.download" });
  }

  async #begin(operation: string, call: CallContextV1): Promise<ErrorSite> {
    const site = { operation, sandboxId: this.#workspace.id };
    throwIfAborted(call.signal, { backend: BACKEND_NAME, ...site });
    await this.#workspace.ensureLive(operation);
    return site;
  }

  async #resolve(path: string, followFinal: boolean, site: ErrorSite): Promise<ResolvedWorkspacePath> {
    try {
      return await resolveWorkspacePath(this.#workspace.dir, path, { field: "path", followFinal, site });
    } catch (error) {
      throw fileSystemError(error, typeof path === "string" ? path : "", "path", site);
    }
  }
}

function tooLarge(path: string, maxBytes: number, site: ErrorSite): Error {
  return invalid(`${path} is larger than maxBytes (${maxBytes} bytes)`, "maxBytes", site);
}

async function readAll(handle: FileHandle, maxBytes: number, call: CallContextV1, tooBig: () => Error, site: ErrorSite): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    throwIfAborted(call.signal, { backend: BACKEND_NAME, ...site });
    const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK, maxBytes - total + 1));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
    if (bytesRead === 0) break;
    total += bytesRead;
    if (total > maxBytes) throw tooBig();
    chunks.push(buffer.subarray(0, bytesRead));
  }
  const out = Buffer.concat(chunks, total);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

async function writeAll(handle: FileHandle, data: ByteSourceV1, call: CallContextV1, site: ErrorSite): Promise<void> {
  const where = { backend: BACKEND_NAME, ...site };
  if (data instanceof Uint8Array) {
    await writeChunk(handle, data);
    return;
  }
  for await (const chunk of data) {
    throwIfAborted(call.signal, where);
    if (!(chunk instanceof Uint8Array)) throw invalid("every chunk of data must be a Uint8Array", "data", site);
    await writeChunk(handle, chunk);
  }
  throwIfAborted(call.signal, where);
}

async function writeChunk(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset, null);
    offset += bytesWritten;
  }
}

/** The permission bits of an existing regular file at `path`, to keep them on replace; refuses a directory. */
async function modeOfExisting(path: string, sandboxPath: string, site: ErrorSite): Promise<number | undefined> {
  try {
    const stats = await lstat(path);
    if (stats.isDirectory()) throw invalid(`${sandboxPath} is a directory`, "path", site);
    return stats.isFile() ? stats.mode & 0o777 : undefined;
  } catch (error) {
    if (errnoOf(error) === "ENOENT") return undefined;
    throw error;
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<Uint8Array> {
  return typeof value === "object" && value !== null && typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === "function";
}
