import { constants as fsConstants } from "node:fs";
import { type FileHandle, lstat, mkdir, open, opendir, stat, unlink } from "node:fs/promises";
import { join, posix } from "node:path";
import { UnsafeArchiveError } from "../errors/unsafe-archive-error.js";
import { ValidationError } from "../errors/validation-error.js";
import { throwIfAborted } from "../internal/call-context.js";
import type { CallContextV1 } from "../spec/v1/call-context.js";
import type { SandboxFilesV1 } from "../spec/v1/files.js";
import type { FileEntryV1 } from "../spec/v1/types.js";
import type { TransferResult } from "./files-types.js";

/** Limits of a directory transfer. */
export interface TransferLimits {
  /** Total bytes of file content; past it the transfer stops with `UnsafeArchiveError` (`too-many-bytes`). */
  readonly maxBytes: number;
  /** Entries seen (files, directories, and skipped links or special files); past it `UnsafeArchiveError` (`too-many-entries`). */
  readonly maxEntries: number;
}

/** Bytes read from a local file per chunk handed to `files.write`. */
const READ_CHUNK = 256 * 1024;

/** Counts entries and bytes against the limits, with errors that name the entry. */
class Budget {
  entries = 0;
  bytes = 0;
  files = 0;
  directories = 0;
  readonly skipped: string[] = [];

  constructor(
    readonly limits: TransferLimits,
    readonly operation: string,
  ) {}

  /** Counts one entry; throws past `maxEntries`. */
  addEntry(entry: string): void {
    this.entries += 1;
    if (this.entries > this.limits.maxEntries) {
      throw new UnsafeArchiveError(`${this.operation} stopped: more than ${this.limits.maxEntries} entries (at ${showName(entry)})`, {
        reason: "too-many-entries",
        entry: showName(entry),
        operation: this.operation,
      });
    }
  }

  /** Bytes still allowed. */
  get remaining(): number {
    return this.limits.maxBytes - this.bytes;
  }

  /** Counts `n` bytes of `entry`; throws past `maxBytes`. */
  addBytes(entry: string, n: number): void {
    if (n > this.remaining) throw this.tooManyBytes(entry);
    this.bytes += n;
  }

  tooManyBytes(entry: string, cause?: unknown): UnsafeArchiveError {
    return new UnsafeArchiveError(`${this.operation} stopped: more than ${this.limits.maxBytes} bytes in total (at ${showName(entry)})`, {
      reason: "too-many-bytes",
      entry: showName(entry),
      operation: this.operation,
      cause,
    });
  }

  result(): TransferResult {
    return { files: this.files, directories: this.directories, bytes: this.bytes, skipped: [...this.skipped] };
  }
}

/**
 * Copies `localDir` into the sandbox directory `remoteDir`, file by file: directories with
 * `files.mkdir`, each regular file streamed to `files.write` in bounded chunks. Symbolic links and
 * special files are never followed; they are listed in `skipped`. `localDir` itself may be a link
 * to a directory (the caller named it).
 */
export async function uploadDirectory(
  files: SandboxFilesV1,
  localDir: string,
  remoteDir: string,
  limits: TransferLimits,
  call: CallContextV1,
): Promise<TransferResult> {
  const where = { operation: "files.upload" };
  const rootStat = await stat(localDir).catch((error: unknown) => {
    throw new ValidationError(`localDir ${JSON.stringify(localDir)} cannot be read: ${errnoOf(error) ?? "error"}`, { field: "localDir", ...where, cause: error });
  });
  if (!rootStat.isDirectory()) {
    throw new ValidationError(`localDir ${JSON.stringify(localDir)} is not a directory`, { field: "localDir", ...where });
  }
  const budget = new Budget(limits, "files.upload");
  throwIfAborted(call.signal, where);
  await files.mkdir(remoteDir, call);
  // Depth-first, with an explicit stack: no recursion depth limit, memory bounded by pending directories.
  const pending: { local: string; remote: string }[] = [{ local: localDir, remote: remoteDir }];
  while (pending.length > 0) {
    const { local, remote } = pending.pop()!;
    const dir = await opendir(local);
    try {
      for await (const dirent of dir) {
        throwIfAborted(call.signal, where);
        const localPath = join(local, dirent.name);
        const remotePath = posix.join(remote, dirent.name);
        budget.addEntry(localPath);
        if (dirent.isDirectory()) {
          await files.mkdir(remotePath, call);
          budget.directories += 1;
          pending.push({ local: localPath, remote: remotePath });
        } else if (dirent.isFile()) {
          const sent = await uploadFile(files, localPath, remotePath, budget, call);
          if (sent) budget.files += 1;
          else budget.skipped.push(localPath);
        } else {
          budget.skipped.push(localPath);
        }
      }
    } finally {
      await dir.close().catch(() => undefined);
    }
  }
  return budget.result();
}

/**
 * Streams one local file to the sandbox. Opens it without following links and without blocking
 * on a FIFO that replaced it after the directory was read; returns `false` (skipped) when it is
 * no longer a regular file.
 */
async function uploadFile(files: SandboxFilesV1, localPath: string, remotePath: string, budget: Budget, call: CallContextV1): Promise<boolean> {
  let handle: FileHandle;
  try {
    handle = await open(localPath, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
  } catch (error) {
    // Replaced by a link (ELOOP) or a FIFO without a writer (ENXIO) since the listing: skip it.
    if (errnoOf(error) === "ELOOP" || errnoOf(error) === "ENXIO") return false;
    throw error;
  }
  let limitError: UnsafeArchiveError | undefined;
  try {
    const info = await handle.stat();
    if (!info.isFile()) return false;
    if (info.size > budget.remaining) throw budget.tooManyBytes(localPath);
    const chunks = async function* (): AsyncGenerator<Uint8Array> {
      for (;;) {
        throwIfAborted(call.signal, { operation: "files.upload" });
        const buffer = new Uint8Array(READ_CHUNK);
        const { bytesRead } = await handle.read(buffer, 0, READ_CHUNK, null);
        if (bytesRead === 0) return;
        try {
          // Counted as read, so a file that grows while it is sent cannot pass the limit.
          budget.addBytes(localPath, bytesRead);
        } catch (error) {
          limitError = error as UnsafeArchiveError;
          throw error;
        }
        yield buffer.subarray(0, bytesRead);
      }
    };
    await files.write(remotePath, chunks(), { mode: info.mode & 0o777 }, call);
    return true;
  } catch (error) {
    throw limitError ?? error;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * Copies the sandbox directory `remoteDir` into `localDir` (created if missing). Every name the
 * sandbox returns is hostile: empty names, `.`, `..`, names with `/`, NUL or other path syntax
 * stop the transfer with `UnsafeArchiveError`. Links and special entries are skipped (listed in
 * `skipped`). Below `localDir` nothing is followed: an existing link where a directory or file
 * would go stops the transfer, and files are opened with `O_NOFOLLOW`. Limits count real bytes
 * as they are written, whatever sizes the listing claimed.
 */
export async function downloadDirectory(
  files: SandboxFilesV1,
  remoteDir: string,
  localDir: string,
  limits: TransferLimits,
  call: CallContextV1,
): Promise<TransferResult> {
  const where = { operation: "files.download" };
  const budget = new Budget(limits, "files.download");
  throwIfAborted(call.signal, where);
  await mkdir(localDir, { recursive: true });
  const rootStat = await stat(localDir);
  if (!rootStat.isDirectory()) {
    throw new ValidationError(`localDir ${JSON.stringify(localDir)} is not a directory`, { field: "localDir", ...where });
  }
  const pending: { remote: string; local: string; relative: string }[] = [{ remote: remoteDir, local: localDir, relative: "" }];
  while (pending.length > 0) {
    const { remote, local, relative } = pending.pop()!;
    throwIfAborted(call.signal, where);
    const entries = await files.list(remote, call);
    if (!Array.isArray(entries)) throw new UnsafeArchiveError(`the listing of ${remote} is not a list`, { reason: "corrupt", ...where });
    // Check every name of this listing before acting on any of them.
    const seen = new Set<string>();
    for (const entry of entries) {
      const name = checkEntryName(entry, relative);
      if (seen.has(name)) {
        throw new UnsafeArchiveError(`the listing of ${remote} names ${showName(name)} twice`, { reason: "invalid-name", entry: showName(posix.join(relative, name)), ...where });
      }
      seen.add(name);
    }
    for (const entry of entries) {
      throwIfAborted(call.signal, where);
      const childRelative = relative === "" ? entry.name : `${relative}/${entry.name}`;
      const childRemote = posix.join(remote, entry.name);
      const childLocal = join(local, entry.name);
      budget.addEntry(childRelative);
      if (entry.type === "directory") {
        await ensureLocalDirectory(childLocal, childRelative);
        budget.directories += 1;
        pending.push({ remote: childRemote, local: childLocal, relative: childRelative });
      } else if (entry.type === "file") {
        await downloadFile(files, childRemote, childLocal, childRelative, entry, budget, call);
        budget.files += 1;
      } else {
        budget.skipped.push(childRemote);
      }
    }
  }
  return budget.result();
}

/** Validates a hostile listing entry and returns its name. */
function checkEntryName(entry: FileEntryV1, relative: string): string {
  const where = { operation: "files.download" };
  const name: unknown = typeof entry === "object" && entry !== null ? entry.name : undefined;
  if (typeof name !== "string") throw new UnsafeArchiveError("a listing entry has no name", { reason: "corrupt", ...where });
  const shown = showName(relative === "" ? name : `${relative}/${name}`);
  if (name === "" || name === "." || name.includes("\0")) {
    throw new UnsafeArchiveError(`refusing the entry name ${shown}`, { reason: "invalid-name", entry: shown, ...where });
  }
  if (name === ".." || name.includes("/") || (process.platform === "win32" && /[\\:]/.test(name))) {
    throw new UnsafeArchiveError(`refusing the entry name ${shown}: it would leave its directory`, { reason: "path-traversal", entry: shown, ...where });
  }
  const type: unknown = entry.type;
  if (type !== "file" && type !== "directory" && type !== "symlink" && type !== "other") {
    throw new UnsafeArchiveError(`the entry ${shown} has an unknown type`, { reason: "corrupt", entry: shown, ...where });
  }
  return name;
}

/** Makes sure `path` is a real directory (not a link), creating it when missing. */
async function ensureLocalDirectory(path: string, relative: string): Promise<void> {
  const existing = await lstat(path).catch((error: unknown) => {
    if (errnoOf(error) === "ENOENT") return undefined;
    throw error;
  });
  if (existing === undefined) {
    await mkdir(path);
    return;
  }
  if (existing.isSymbolicLink()) throw linkInTheWay(relative);
  if (!existing.isDirectory()) {
    throw new ValidationError(`${JSON.stringify(path)} exists and is not a directory`, { field: "localDir", operation: "files.download" });
  }
}

async function downloadFile(
  files: SandboxFilesV1,
  remotePath: string,
  localPath: string,
  relative: string,
  entry: FileEntryV1,
  budget: Budget,
  call: CallContextV1,
): Promise<void> {
  const listedSize = typeof entry.size === "number" && Number.isFinite(entry.size) && entry.size >= 0 ? entry.size : 0;
  if (listedSize > budget.remaining) throw budget.tooManyBytes(relative);
  const existing = await lstat(localPath).catch((error: unknown) => {
    if (errnoOf(error) === "ENOENT") return undefined;
    throw error;
  });
  if (existing !== undefined) {
    if (existing.isSymbolicLink()) throw linkInTheWay(relative);
    if (existing.isDirectory()) {
      throw new ValidationError(`${JSON.stringify(localPath)} exists and is a directory`, { field: "localDir", operation: "files.download" });
    }
    if (!existing.isFile()) {
      throw new UnsafeArchiveError(`refusing to write over the special file ${showName(relative)}`, { reason: "special-file", entry: showName(relative), operation: "files.download" });
    }
    // A hard link would carry the new content to its other names, maybe outside localDir: break it.
    if (existing.nlink > 1) await unlink(localPath);
  }
  let data: Uint8Array;
  try {
    data = await files.read(remotePath, { maxBytes: Math.max(budget.remaining, 0) }, call);
  } catch (error) {
    // The file grew past what is left of the budget since it was listed.
    if (ValidationError.isInstance(error)) throw budget.tooManyBytes(relative, error);
    throw error;
  }
  if (!(data instanceof Uint8Array)) throw new UnsafeArchiveError(`the content of ${showName(relative)} is not bytes`, { reason: "corrupt", entry: showName(relative), operation: "files.download" });
  // The backend may ignore maxBytes: count what actually arrived.
  budget.addBytes(relative, data.byteLength);
  const mode = ((entry.mode ?? 0o644) & 0o777) | 0o600;
  let handle: FileHandle;
  try {
    handle = await open(localPath, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK, mode);
  } catch (error) {
    if (errnoOf(error) === "ELOOP") throw linkInTheWay(relative);
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) {
      throw new UnsafeArchiveError(`refusing to write over the special file ${showName(relative)}`, { reason: "special-file", entry: showName(relative), operation: "files.download" });
    }
    let offset = 0;
    while (offset < data.byteLength) {
      const { bytesWritten } = await handle.write(data, offset, data.byteLength - offset);
      offset += bytesWritten;
    }
  } finally {
    await handle.close();
  }
}

function linkInTheWay(relative: string): UnsafeArchiveError {
  return new UnsafeArchiveError(`refusing to follow the existing link ${showName(relative)} in the destination`, {
    reason: "link-escape",
    entry: showName(relative),
    operation: "files.download",
  });
}

/** A name as it can be shown: control characters escaped, length bounded. */
function showName(name: string): string {
  const escaped = JSON.stringify(name).slice(1, -1);
  return escaped.length > 256 ? `${escaped.slice(0, 256)}...` : escaped;
}

function errnoOf(error: unknown): string | undefined {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : undefined;
}
