import { closeSync, constants as fsConstants, fstatSync, lstatSync, openSync, readdirSync, readSync, type Stats } from "node:fs";
import { lstat, readdir, readlink, stat } from "node:fs/promises";
import { resolve, sep } from "node:path";
import { ValidationError } from "../errors/validation-error.js";
import { closeFdQuietly, fstatFd, openFd, readFd } from "./fd.js";
import { SyncIo } from "./sync-io.js";
import { abortError, type ArchiveEntry, type ArchiveStream, packEntries, type PackOptions } from "./pack-entries.js";

/** Why `packDirectory` left a path out. */
export type PackSkipReason =
  /** A symbolic link, with `symlinks: "skip"`. */
  | "symlink"
  /** A socket, FIFO or device. */
  | "special-file"
  /** It disappeared, or changed type, between the listing and the read. */
  | "vanished";

/** What {@link PackDirectoryOptions.onSkip} receives. */
export interface PackSkippedEntry {
  /** Relative POSIX path inside the directory. */
  readonly path: string;
  readonly reason: PackSkipReason;
}

/** Options of {@link packDirectory}. */
export interface PackDirectoryOptions extends PackOptions {
  /** `"preserve"` (default) stores symbolic links as links, never following them; `"skip"` leaves them out. */
  readonly symlinks?: "preserve" | "skip" | undefined;
  /** Called for each path left out (special files, skipped links, vanished files). */
  readonly onSkip?: ((skipped: PackSkippedEntry) => void) | undefined;
  /**
   * Decides what is packed: return `false` to leave a path out (a directory is then not
   * entered). `path` is relative and POSIX; `stats` come from `lstat` (for a regular file, from
   * `fstat` of the file just opened, which says the same without following anything).
   */
  readonly filter?: ((path: string, stats: Stats) => boolean) | undefined;
  /**
   * Read small files (up to 64 KiB) with synchronous `fs` calls, giving the event loop a turn
   * every 2 ms and falling back to asynchronous calls by itself when the file system turns out
   * slow (see `extractArchive`'s option of the same name). Default `true`.
   */
  readonly syncSmallFiles?: boolean | undefined;
}

/** Bytes read from a large file per chunk. */
const READ_CHUNK = 256 * 1024;
/** Files up to this size are read whole while they are prefetched. */
const SMALL_FILE = 64 * 1024;
/** Files prepared ahead of the packer (opened, and read when small): bounds memory to about 1 MiB. */
const PREFETCH = 16;

/**
 * Packs the directory `dir` into a tar (or tar.gz) stream, read from disk with backpressure.
 * Entries are relative POSIX paths in a deterministic order (names sorted, depth-first, each
 * directory before its contents); the root itself is not an entry. Modes keep their permission
 * bits only; owners are not stored. Symbolic links are never followed (stored as links, or
 * skipped); sockets, FIFOs and devices are skipped and reported through `onSkip`. Hard-linked
 * files are stored as separate copies. A file that shrinks while it is read fails the stream;
 * one that grows is cut at the size it had when it was opened. A few files are opened ahead of
 * the one being packed (small ones read whole), so memory stays around a megabyte.
 *
 * ```ts
 * await backend.files.uploadArchive("/workspace", packDirectory("./project", { gzip: true }), call);
 * ```
 */
export function packDirectory(dir: string, options: PackDirectoryOptions = {}): ArchiveStream {
  const operation = options.operation ?? "packDirectory";
  const io = new SyncIo(options.syncSmallFiles ?? true);
  return packEntries(prefetch(walkDirectory(dir, options, operation, io), options, operation, io), { ...options, operation });
}

/** What the walk finds: an entry ready to pack, or a regular file still to open. */
type Planned = { readonly ready: ArchiveEntry } | { readonly file: string; readonly relative: string };

/** A planned item after its file was opened: the entry (if any) and how to let go of the descriptor. */
interface Prepared {
  readonly entry: ArchiveEntry | undefined;
  release(): Promise<void>;
}

/** Lists `dir`: directories and links as entries, regular files as paths to open. */
async function* walkDirectory(dir: string, options: PackDirectoryOptions, operation: string, io: SyncIo): AsyncGenerator<Planned> {
  const root = resolve(dir);
  let rootStats: Stats;
  try {
    rootStats = await stat(root);
  } catch (error) {
    throw new ValidationError(`the directory ${JSON.stringify(dir)} cannot be read: ${errnoOf(error) ?? "error"}`, { field: "dir", operation, cause: error });
  }
  if (!rootStats.isDirectory()) throw new ValidationError(`${JSON.stringify(dir)} is not a directory`, { field: "dir", operation });
  yield* walk(root, "", options, operation, io);
}

async function* walk(absolute: string, relative: string, options: PackDirectoryOptions, operation: string, io: SyncIo): AsyncGenerator<Planned> {
  const dirents = io.allowed ? io.run(() => readdirSync(absolute, { withFileTypes: true })) : await readdir(absolute, { withFileTypes: true });
  dirents.sort((a, b) => compareNames(a.name, b.name));
  const prefix = absolute.endsWith(sep) ? absolute : absolute + sep;
  for (const dirent of dirents) {
    if (options.signal?.aborted === true) throw abortError(options.signal, operation);
    const childAbsolute = prefix + dirent.name;
    const childRelative = relative === "" ? dirent.name : `${relative}/${dirent.name}`;
    // A regular file is opened later, and its fstat gives size, mode and time: no lstat here.
    if (dirent.isFile()) {
      yield { file: childAbsolute, relative: childRelative };
      continue;
    }
    const stats = io.allowed
      ? io.run(() => lstatSync(childAbsolute, { throwIfNoEntry: false }))
      : await lstat(childAbsolute).catch((error: unknown) => {
          if (errnoOf(error) === "ENOENT") return undefined;
          throw error;
        });
    if (stats === undefined) {
      options.onSkip?.({ path: childRelative, reason: "vanished" });
      continue;
    }
    if (stats.isFile()) {
      // The listing did not know the type (or it changed).
      yield { file: childAbsolute, relative: childRelative };
      continue;
    }
    if (options.filter !== undefined && !options.filter(childRelative, stats)) continue;
    if (stats.isDirectory()) {
      yield { ready: { type: "directory", path: childRelative, mode: stats.mode & 0o777, mtime: stats.mtime } };
      yield* walk(childAbsolute, childRelative, options, operation, io);
    } else if (stats.isSymbolicLink()) {
      if (options.symlinks === "skip") {
        options.onSkip?.({ path: childRelative, reason: "symlink" });
        continue;
      }
      const target = await readlink(childAbsolute).catch((error: unknown) => {
        if (errnoOf(error) === "ENOENT" || errnoOf(error) === "EINVAL") return undefined;
        throw error;
      });
      if (target === undefined) {
        options.onSkip?.({ path: childRelative, reason: "vanished" });
        continue;
      }
      yield { ready: { type: "symlink", path: childRelative, linkTarget: target, mtime: stats.mtime } };
    } else {
      options.onSkip?.({ path: childRelative, reason: "special-file" });
    }
  }
}

/**
 * Turns planned items into entries in order, keeping up to {@link PREFETCH} files being opened
 * (and small ones read) ahead of the packer, so that file system latency overlaps. Every
 * descriptor is closed once its entry is packed, or when packing stops early.
 */
async function* prefetch(planned: AsyncGenerator<Planned>, options: PackDirectoryOptions, operation: string, io: SyncIo): AsyncGenerator<ArchiveEntry> {
  const queue: Promise<Prepared | undefined>[] = [];
  const pull = (): void => {
    const next = planned.next().then((result) => (result.done === true ? undefined : prepare(result.value, options, operation, io)));
    // Observed when its turn comes; this keeps an early failure from being reported as unhandled.
    next.catch(() => undefined);
    queue.push(next);
  };
  try {
    for (;;) {
      let prepared: Prepared | undefined;
      if (queue.length === 0 && io.allowed) {
        // Synchronous calls: nothing to overlap, so no queue.
        const result = await planned.next();
        if (result.done === true) return;
        prepared = await prepare(result.value, options, operation, io);
      } else {
        while (queue.length < PREFETCH) pull();
        prepared = await queue.shift()!;
        if (prepared === undefined) return;
      }
      try {
        if (prepared.entry !== undefined) yield prepared.entry;
      } finally {
        await prepared.release();
      }
    }
  } finally {
    for (const pending of queue.splice(0)) {
      const prepared = await pending.catch(() => undefined);
      await prepared?.release();
    }
    await planned.return(undefined);
  }
}

const NOTHING: Prepared = { entry: undefined, release: () => Promise.resolve() };

const OPEN_FLAGS = fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0) | (fsConstants.O_NONBLOCK ?? 0);

/**
 * Opens a planned file without following links and without blocking on a FIFO that replaced it.
 * Small files are read whole and closed at once; larger ones keep their descriptor until
 * released. Small files use synchronous calls while {@link SyncIo} allows it.
 */
async function prepare(item: Planned, options: PackDirectoryOptions, operation: string, io: SyncIo): Promise<Prepared> {
  if ("ready" in item) return { entry: item.ready, release: NOTHING.release };
  const { file, relative } = item;
  let fd: number;
  let stats: Stats;
  try {
    if (io.allowed) {
      [fd, stats] = io.run(() => {
        const opened = openSync(file, OPEN_FLAGS);
        try {
          return [opened, fstatSync(opened)] as const;
        } catch (error) {
          closeSync(opened);
          throw error;
        }
      });
    } else {
      fd = await openFd(file, OPEN_FLAGS);
      stats = await fstatFd(fd).catch(async (error: unknown) => {
        await closeFdQuietly(fd);
        throw error;
      });
    }
  } catch (error) {
    const code = errnoOf(error);
    if (code === "ENOENT" || code === "ELOOP" || code === "ENXIO") {
      options.onSkip?.({ path: relative, reason: "vanished" });
      return NOTHING;
    }
    throw error;
  }
  let keep = false;
  try {
    if (options.filter !== undefined && !options.filter(relative, stats)) return NOTHING;
    if (!stats.isFile()) {
      options.onSkip?.({ path: relative, reason: "vanished" });
      return NOTHING;
    }
    const base = { type: "file", path: relative, mode: stats.mode & 0o777, mtime: stats.mtime, size: stats.size } as const;
    if (stats.size <= SMALL_FILE) {
      const content = Buffer.allocUnsafe(stats.size);
      if (io.allowed) {
        io.run(() => readIntoSync(fd, content, relative, operation));
        await io.pace();
      } else {
        await readInto(fd, content, 0, relative, operation);
      }
      return { entry: { ...base, content }, release: NOTHING.release };
    }
    keep = true;
    return { entry: { ...base, content: () => readChunks(fd, stats.size, relative, operation) }, release: () => closeFdQuietly(fd) };
  } finally {
    if (!keep) {
      if (io.allowed) io.run(() => closeSync(fd));
      else await closeFdQuietly(fd);
    }
  }
}

/** Fills `buffer` from the start of the file with synchronous reads. */
function readIntoSync(fd: number, buffer: Buffer, relative: string, operation: string): void {
  let filled = 0;
  while (filled < buffer.byteLength) {
    const bytesRead = readSync(fd, buffer, filled, buffer.byteLength - filled, filled);
    if (bytesRead === 0) throw shrank(relative, filled, operation);
    filled += bytesRead;
  }
}

/**
 * Reads the first `size` bytes of a file in fresh chunks (the packer keeps them until sent),
 * with the next read already under way while the current chunk is packed.
 */
async function* readChunks(fd: number, size: number, relative: string, operation: string): AsyncGenerator<Uint8Array> {
  const readAt = async (position: number): Promise<Buffer> => {
    const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK, size - position));
    await readInto(fd, buffer, position, relative, operation);
    return buffer;
  };
  let next: Promise<Buffer> | undefined = size > 0 ? readAt(0) : undefined;
  try {
    for (let position = 0; next !== undefined; ) {
      const buffer = await next;
      position += buffer.byteLength;
      next = position < size ? readAt(position) : undefined;
      yield buffer;
    }
  } finally {
    // A read still under way when packing stops must end before the descriptor is closed.
    await next?.catch(() => undefined);
  }
}

/** Fills `buffer` from `position` of the file; a file that ends first has shrunk. */
async function readInto(fd: number, buffer: Buffer, position: number, relative: string, operation: string): Promise<void> {
  let filled = 0;
  while (filled < buffer.byteLength) {
    const bytesRead = await readFd(fd, buffer, filled, buffer.byteLength - filled, position + filled);
    if (bytesRead === 0) throw shrank(relative, position + filled, operation);
    filled += bytesRead;
  }
}

function shrank(relative: string, read: number, operation: string): ValidationError {
  return new ValidationError(`${JSON.stringify(relative)} shrank while it was packed (${read} bytes read)`, { field: "dir", operation });
}

/** Orders names by UTF-16 code units: the same order on every platform and locale. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function errnoOf(error: unknown): string | undefined {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : undefined;
}
