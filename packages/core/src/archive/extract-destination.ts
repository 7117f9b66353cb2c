import { closeSync, constants as fsConstants, fchmodSync, fstatSync, futimesSync, lstatSync, mkdirSync, openSync, unlinkSync, writevSync } from "node:fs";
import { link, lstat, mkdir, opendir, readlink, rmdir, symlink, unlink } from "node:fs/promises";
import { sep } from "node:path";
import type { CheckedEntry } from "./archive-reader.js";
import { showName, unsafe } from "./entry-name.js";
import { closeFd, closeFdQuietly, fchmodFd, fstatFd, futimesFd, openFd, writevAll } from "./fd.js";
import { diskLookup, type LinkLookup, resolvesInside } from "./link-resolver.js";
import { SyncIo } from "./sync-io.js";

/** How the destination applies entries. */
export interface DestinationSettings {
  /** Bits cleared from every mode (after setuid, setgid and sticky are dropped). */
  readonly umask: number;
  /** `"within"`: hard links to regular files extracted earlier; `"reject"`: none at all. */
  readonly hardlinks: "within" | "reject";
  /** Set files' modification times from the archive. */
  readonly preserveMtime: boolean;
  /** Allow synchronous calls for small files (see {@link SyncIo}). */
  readonly syncSmallFiles: boolean;
  readonly operation: string;
}

/** What was written, by kind. */
export interface DestinationCounts {
  files: number;
  directories: number;
  symlinks: number;
  hardlinks: number;
  /** Bytes of file content written. */
  bytes: number;
}

/** Files completed in the background at most (each holds a descriptor, small ones their content). */
const MAX_BACKGROUND = 32;
/** Files up to this size are gathered in memory and written in the background. */
const SMALL_FILE = 64 * 1024;
/** Content bytes gathered before one `writev`. */
const WRITE_BATCH = 512 * 1024;
const O_NOFOLLOW = fsConstants.O_NOFOLLOW ?? 0;
const O_DIRECTORY = fsConstants.O_DIRECTORY ?? 0;
const CREATE_FLAGS = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | O_NOFOLLOW;

interface PendingLink {
  readonly target: string;
  readonly shown: string;
  readonly parent: readonly string[];
}

/**
 * Applies checked archive entries to a destination directory without ever following a link in
 * it. The invariants:
 * - every parent of an entry is a real directory: each is `lstat`ed once (then remembered) and an
 *   existing link there stops the extraction (`link-escape`);
 * - files are created with `O_CREAT | O_EXCL | O_NOFOLLOW` after removing whatever non-directory
 *   was there, so an existing file, link or hard link is replaced, never written through;
 * - no symbolic link is created while the archive is read: they are kept aside and created at
 *   the end, once every link of the archive has been resolved against the final tree (so a chain
 *   of links cannot escape either), and an entry below a pending link is refused;
 * - hard links only point to regular files this archive extracted;
 * - directory modes are applied last, deepest first, through `O_NOFOLLOW` handles.
 *
 * For speed with many small files, work that cannot interfere with later entries runs in the
 * background (up to {@link MAX_BACKGROUND} files at once): a small file whose name cannot exist
 * yet (its directory was created by this extraction, and no earlier entry used the name) is
 * created, written and closed there; other files are created in order and only completed in the
 * background. Any later entry that touches a name still in the background waits for it, and
 * removing anything waits for everything.
 *
 * It assumes nothing else changes the destination while it works.
 */
export class Destination {
  readonly counts: DestinationCounts = { files: 0, directories: 0, symlinks: 0, hardlinks: 0, bytes: 0 };
  /** Relative paths known to be real directories. */
  private readonly directories = new Set<string>([""]);
  /** Directories this extraction created (empty when created), and the root if it was empty. */
  private readonly freshDirectories = new Set<string>();
  /** Every name an entry of this archive has used. */
  private readonly claimed = new Set<string>();
  /** Final modes of directories, applied at the end. */
  private readonly directoryModes = new Map<string, number>();
  /** Regular files this archive wrote, the only allowed hard link targets. */
  private readonly files = new Set<string>();
  /** Symbolic links to create at the end. */
  private readonly pendingLinks = new Map<string, PendingLink>();
  /** Background work, and by name the latest work on each name. */
  private readonly background = new Set<Promise<void>>();
  private readonly inFlight = new Map<string, Promise<void>>();
  /** The first error of background work. */
  private backgroundError: unknown;
  /** When small files may use synchronous calls. */
  private readonly io: SyncIo;
  /** Permission bits whose fate under the process umask is known, and those it removes. */
  private umaskKnown = 0;
  private umaskRemoves = 0;

  /** `root` with a trailing separator. */
  private readonly rootPrefix: string;

  private constructor(
    /** The destination's real path. */
    readonly root: string,
    private readonly settings: DestinationSettings,
  ) {
    this.io = new SyncIo(settings.syncSmallFiles);
    this.rootPrefix = root.endsWith(sep) ? root : root + sep;
  }

  /** A destination over the real directory `root`. */
  static async open(root: string, settings: DestinationSettings): Promise<Destination> {
    const destination = new Destination(root, settings);
    const dir = await opendir(root);
    try {
      if ((await dir.read()) === null) destination.freshDirectories.add("");
    } finally {
      await dir.close();
    }
    return destination;
  }

  /** Applies one entry; `content` is the file's bytes (read only for files). */
  async apply(entry: CheckedEntry, content: AsyncIterable<Uint8Array>): Promise<void> {
    this.throwBackgroundError();
    if (entry.path === "") return; // `./`: the destination itself, left as it is.
    this.refuseBelowPendingLink(entry, entry.segments);
    switch (entry.kind) {
      case "directory":
        await this.ensureParents(entry);
        await this.directory(entry);
        return;
      case "file":
        await this.ensureParents(entry);
        await this.file(entry, content);
        return;
      case "symlink":
        await this.ensureParents(entry);
        this.symlink(entry);
        return;
      case "hardlink":
        await this.hardlink(entry);
        return;
      case "special":
        return;
    }
  }

  /** Creates the pending symbolic links (after checking them all) and applies directory modes. */
  async finish(): Promise<void> {
    await this.settle();
    this.throwBackgroundError();
    await this.createLinks();
    await this.applyDirectoryModes();
  }

  /** Waits for all background work, so nothing is written after the caller returns. */
  async settle(): Promise<void> {
    while (this.background.size > 0) await Promise.all(this.background);
  }

  private throwBackgroundError(): void {
    if (this.backgroundError !== undefined) throw this.backgroundError;
  }

  private absolute(path: string): string {
    // Paths are normalised relative POSIX names (checked), so plain concatenation is enough.
    return path === "" ? this.root : this.rootPrefix + path;
  }

  private mode(entry: CheckedEntry): number {
    return entry.mode & 0o777 & ~this.settings.umask;
  }

  /** Waits for background work on `path`, if any. */
  private async waitFor(path: string): Promise<void> {
    const work = this.inFlight.get(path);
    if (work !== undefined) await work;
  }

  /** Refuses an entry that would go through a link the archive created earlier. */
  private refuseBelowPendingLink(entry: CheckedEntry, segments: readonly string[]): void {
    if (this.pendingLinks.size === 0) return;
    let prefix = "";
    for (let i = 0; i < segments.length - 1; i += 1) {
      prefix = i === 0 ? segments[0]! : `${prefix}/${segments[i]!}`;
      if (this.pendingLinks.has(prefix)) {
        throw unsafe("link-escape", entry.shown, `the entry goes through the symbolic link ${showName(prefix)}`, this.settings.operation);
      }
    }
  }

  /** Makes every parent of the entry a real directory. */
  private async ensureParents(entry: CheckedEntry): Promise<void> {
    let prefix = "";
    for (let i = 0; i < entry.segments.length - 1; i += 1) {
      prefix = i === 0 ? entry.segments[0]! : `${prefix}/${entry.segments[i]!}`;
      if (this.directories.has(prefix)) continue;
      await this.makeDirectory(entry, prefix, true);
    }
  }

  /**
   * Makes `path` a real directory. An existing link is refused for a parent (`implicit`), and
   * replaced for a directory entry of that very name; any other non-directory is replaced.
   */
  private async makeDirectory(entry: CheckedEntry, path: string, implicit: boolean): Promise<void> {
    await this.waitFor(path);
    const absolute = this.absolute(path);
    const existing = this.io.allowed ? this.io.run(() => lstatSync(absolute, { throwIfNoEntry: false })) : await lstatOrUndefined(absolute);
    this.claimed.add(path);
    if (existing?.isDirectory() === true) {
      this.directories.add(path);
      return;
    }
    if (existing !== undefined) {
      if (implicit && existing.isSymbolicLink()) {
        throw unsafe("link-escape", entry.shown, `the entry goes through the existing symbolic link ${showName(path)} in the destination`, this.settings.operation);
      }
      await this.remove(entry, path);
    }
    if (this.io.allowed) this.io.run(() => mkdirSync(absolute, 0o700));
    else await mkdir(absolute, 0o700);
    this.directories.add(path);
    this.freshDirectories.add(path);
    // A directory this extraction created gets its mode at the end; one that was there keeps it.
    if (implicit) this.directoryModes.set(path, 0o755 & ~this.settings.umask);
  }

  private async directory(entry: CheckedEntry): Promise<void> {
    this.pendingLinks.delete(entry.path);
    this.files.delete(entry.path);
    if (!this.directories.has(entry.path)) await this.makeDirectory(entry, entry.path, false);
    this.directoryModes.set(entry.path, this.mode(entry));
    this.counts.directories += 1;
  }

  private async file(entry: CheckedEntry, content: AsyncIterable<Uint8Array>): Promise<void> {
    const path = entry.path;
    const mode = this.mode(entry);
    this.pendingLinks.delete(path);
    const small = entry.size <= SMALL_FILE;
    // Small content is already in the parser's buffers: gather it.
    const chunks = small ? await gather(content) : undefined;
    if (chunks !== undefined && this.io.allowed) {
      await this.smallFileSync(entry, chunks, mode);
      return;
    }
    if (chunks !== undefined && this.freshDirectories.has(entry.segments.slice(0, -1).join("/")) && !this.claimed.has(path)) {
      // Nothing can be at this name: create, write and close it in the background.
      this.claimed.add(path);
      this.accept(entry);
      await this.inBackground(path, this.createFile(path, chunks, mode, entry.mtime));
      return;
    }
    await this.waitFor(path);
    this.claimed.add(path);
    const absolute = this.absolute(path);
    let fd: number;
    try {
      fd = await openFd(absolute, CREATE_FLAGS, mode);
    } catch (error) {
      if (errnoOf(error) !== "EEXIST") throw error;
      await this.remove(entry, path);
      fd = await openFd(absolute, CREATE_FLAGS, mode);
    }
    if (chunks === undefined) {
      try {
        await writeAll(fd, content);
      } catch (error) {
        // No half-written file is left behind.
        await closeFdQuietly(fd);
        await unlink(absolute).catch(() => undefined);
        throw error;
      }
    }
    this.accept(entry);
    await this.inBackground(path, this.completeFile(path, fd, chunks, mode, entry.mtime));
  }

  /** Writes a small file with synchronous calls (see {@link SyncIo}). */
  private async smallFileSync(entry: CheckedEntry, chunks: Uint8Array[], mode: number): Promise<void> {
    const path = entry.path;
    await this.waitFor(path);
    this.claimed.add(path);
    const absolute = this.absolute(path);
    let fd = this.io.run(() => openExclusiveSync(absolute, mode));
    if (fd === undefined) {
      await this.remove(entry, path);
      fd = this.io.run(() => openSync(absolute, CREATE_FLAGS, mode));
    }
    const opened = fd;
    this.io.run(() => {
      try {
        writevAllSync(opened, chunks);
        this.exactModeSync(opened, mode);
        if (this.settings.preserveMtime) futimesSync(opened, entry.mtime, entry.mtime);
      } catch (error) {
        try {
          closeSync(opened);
          unlinkSync(absolute);
        } catch {
          // the first error is the one reported
        }
        throw error;
      }
      closeSync(opened);
    });
    this.accept(entry);
    await this.io.pace();
  }

  private accept(entry: CheckedEntry): void {
    this.files.add(entry.path);
    this.counts.files += 1;
    this.counts.bytes += entry.size;
  }

  /** Creates a file whose name is known to be free, writes it and closes it. */
  private async createFile(path: string, chunks: readonly Uint8Array[], mode: number, mtime: Date): Promise<void> {
    const fd = await openFd(this.absolute(path), CREATE_FLAGS, mode);
    await this.completeFile(path, fd, chunks, mode, mtime);
  }

  /**
   * Writes gathered content (if any), makes the mode exact, sets the time, and closes. On failure
   * the file (which this extraction created) is removed: later entries on its name wait for this.
   */
  private async completeFile(path: string, fd: number, chunks: readonly Uint8Array[] | undefined, mode: number, mtime: Date): Promise<void> {
    try {
      if (chunks !== undefined && chunks.length > 0) await writevAll(fd, chunks);
      await this.exactMode(fd, mode);
      if (this.settings.preserveMtime) await futimesFd(fd, mtime);
    } catch (error) {
      await closeFdQuietly(fd);
      await unlink(this.absolute(path)).catch(() => undefined);
      throw error;
    }
    await closeFd(fd);
  }

  /**
   * Files are created with their final mode, which the process umask may have trimmed. The first
   * files of each mode are checked with fstat, which teaches which bits the umask removes; a
   * chmod (not masked) restores them, and is skipped once a mode is known to survive.
   */
  private async exactMode(fd: number, mode: number): Promise<void> {
    if ((mode & ~this.umaskKnown) !== 0) {
      const actual = (await fstatFd(fd)).mode & 0o777;
      this.umaskRemoves |= mode & ~actual;
      this.umaskKnown |= mode;
    }
    if ((mode & this.umaskRemoves) !== 0) await fchmodFd(fd, mode);
  }

  /** {@link exactMode} with synchronous calls. */
  private exactModeSync(fd: number, mode: number): void {
    if ((mode & ~this.umaskKnown) !== 0) {
      const actual = fstatSync(fd).mode & 0o777;
      this.umaskRemoves |= mode & ~actual;
      this.umaskKnown |= mode;
    }
    if ((mode & this.umaskRemoves) !== 0) fchmodSync(fd, mode);
  }

  /** Runs work on `path` in the background; at most {@link MAX_BACKGROUND} at once. */
  private async inBackground(path: string, work: Promise<void>): Promise<void> {
    const tracked = work.then(
      () => undefined,
      (error: unknown) => {
        this.backgroundError ??= error;
      },
    );
    this.background.add(tracked);
    this.inFlight.set(path, tracked);
    void tracked.then(() => {
      this.background.delete(tracked);
      if (this.inFlight.get(path) === tracked) this.inFlight.delete(path);
    });
    if (this.background.size >= MAX_BACKGROUND) await Promise.race(this.background);
  }

  private symlink(entry: CheckedEntry): void {
    this.files.delete(entry.path);
    this.claimed.add(entry.path);
    this.pendingLinks.set(entry.path, { target: entry.linkTarget!, shown: entry.shown, parent: entry.segments.slice(0, -1) });
  }

  private async hardlink(entry: CheckedEntry): Promise<void> {
    const target = entry.linkTarget!;
    if (this.settings.hardlinks === "reject") {
      throw unsafe("special-file", entry.shown, "hard links are refused (hardlinks: \"reject\")", this.settings.operation);
    }
    this.refuseBelowPendingLink(entry, entry.linkSegments!);
    if (!this.files.has(target)) {
      throw unsafe("link-escape", entry.shown, `the hard link's target ${showName(target)} is not a regular file extracted earlier from this archive`, this.settings.operation);
    }
    if (target === entry.path) return;
    await this.ensureParents(entry);
    this.pendingLinks.delete(entry.path);
    await this.waitFor(target);
    await this.waitFor(entry.path);
    this.claimed.add(entry.path);
    const absolute = this.absolute(entry.path);
    try {
      await link(this.absolute(target), absolute);
    } catch (error) {
      if (errnoOf(error) !== "EEXIST") throw error;
      await this.remove(entry, entry.path);
      await link(this.absolute(target), absolute);
    }
    this.files.add(entry.path);
    this.counts.hardlinks += 1;
  }

  /** Removes what is at `path` so the entry can take its place: a non-directory, or an empty directory. */
  private async remove(entry: Pick<CheckedEntry, "shown">, path: string): Promise<void> {
    // Background work below or at `path` must land first: removing waits for everything.
    await this.settle();
    this.throwBackgroundError();
    const absolute = this.absolute(path);
    const existing = await lstatOrUndefined(absolute);
    this.files.delete(path);
    if (existing === undefined) return;
    if (!existing.isDirectory()) {
      await unlink(absolute);
      return;
    }
    const prefix = `${path}/`;
    for (const pending of this.pendingLinks.keys()) {
      if (pending.startsWith(prefix)) throw replacesDirectory(entry, path, this.settings.operation);
    }
    try {
      await rmdir(absolute);
    } catch (error) {
      const code = errnoOf(error);
      if (code === "ENOTEMPTY" || code === "EEXIST") throw replacesDirectory(entry, path, this.settings.operation);
      throw error;
    }
    this.directories.delete(path);
    this.freshDirectories.delete(path);
    this.directoryModes.delete(path);
  }

  private async createLinks(): Promise<void> {
    if (this.pendingLinks.size === 0) return;
    const disk = diskLookup(this.root);
    const pending = this.pendingLinks;
    // The final tree: the disk as it is now, plus the links about to be created.
    const finalTree: LinkLookup = async (path) => {
      const link = pending.get(path);
      return link !== undefined ? link.target : disk(path);
    };
    for (const link of pending.values()) {
      if (!(await resolvesInside(link.parent, link.target, finalTree))) {
        throw unsafe("link-escape", link.shown, "the symbolic link resolves outside the destination (through other links)", this.settings.operation);
      }
    }
    const created: string[] = [];
    try {
      for (const [path, link] of pending) {
        const absolute = this.absolute(path);
        const entry = { shown: link.shown };
        if (this.directories.has(path)) await this.remove(entry, path);
        try {
          await symlink(link.target, absolute);
        } catch (error) {
          if (errnoOf(error) !== "EEXIST") throw error;
          await this.remove(entry, path);
          await symlink(link.target, absolute);
        }
        created.push(path);
      }
      // Check again on the disk itself: a case-insensitive or normalising file system can make
      // two names one.
      for (const path of created) {
        const link = pending.get(path)!;
        const target = await readlink(this.absolute(path));
        if (target !== link.target || !(await resolvesInside(link.parent, target, disk))) {
          throw unsafe("link-escape", link.shown, "the symbolic link resolves outside the destination", this.settings.operation);
        }
      }
    } catch (error) {
      await Promise.all(created.map((path) => unlink(this.absolute(path)).catch(() => undefined)));
      throw error;
    }
    this.counts.symlinks += created.length;
    pending.clear();
  }

  private async applyDirectoryModes(): Promise<void> {
    const deepestFirst = [...this.directoryModes].sort((a, b) => depth(b[0]) - depth(a[0]));
    for (const [path, mode] of deepestFirst) {
      let fd: number;
      try {
        fd = await openFd(this.absolute(path), fsConstants.O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      } catch (error) {
        const code = errnoOf(error);
        // Replaced by something else since: nothing to apply (and nothing to follow).
        if (code === "ELOOP" || code === "ENOTDIR" || code === "ENOENT") continue;
        throw error;
      }
      try {
        await fchmodFd(fd, mode);
      } finally {
        await closeFd(fd);
      }
    }
  }
}

/** Creates a file exclusively; `undefined` when the name is taken. */
function openExclusiveSync(path: string, mode: number): number | undefined {
  try {
    return openSync(path, CREATE_FLAGS, mode);
  } catch (error) {
    if (errnoOf(error) === "EEXIST") return undefined;
    throw error;
  }
}

function writevAllSync(fd: number, chunks: Uint8Array[]): void {
  let pending = chunks;
  let remaining = 0;
  for (const chunk of chunks) remaining += chunk.byteLength;
  while (remaining > 0) {
    const written = writevSync(fd, pending);
    if (written <= 0) throw new Error("writev wrote nothing");
    remaining -= written;
    if (remaining > 0) pending = [Buffer.concat(pending).subarray(written)];
  }
}

/** Reads all of a (small) content into a list of chunks. */
async function gather(content: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of content) if (chunk.byteLength > 0) chunks.push(chunk);
  return chunks;
}

/**
 * Writes a stream of chunks to a new file, gathering small chunks into larger positioned writes,
 * with one write under way while the next batch is read.
 */
async function writeAll(fd: number, content: AsyncIterable<Uint8Array>): Promise<number> {
  let position = 0;
  let batch: Uint8Array[] = [];
  let batched = 0;
  let writing: Promise<void> | undefined;
  try {
    for await (const chunk of content) {
      if (chunk.byteLength === 0) continue;
      batch.push(chunk);
      batched += chunk.byteLength;
      if (batched >= WRITE_BATCH) {
        await writing;
        writing = writevAll(fd, batch, position);
        position += batched;
        batch = [];
        batched = 0;
      }
    }
    await writing;
    writing = undefined;
    if (batched > 0) await writevAll(fd, batch, position);
  } finally {
    // Never leave a write running on a descriptor the caller is about to close.
    await writing?.catch(() => undefined);
  }
  return position + batched;
}

function replacesDirectory(entry: Pick<CheckedEntry, "shown">, path: string, operation: string): Error {
  return unsafe("invalid-name", entry.shown, `the entry would replace the directory ${showName(path)}, which is not empty`, operation);
}

async function lstatOrUndefined(path: string): Promise<Awaited<ReturnType<typeof lstat>> | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    if (errnoOf(error) === "ENOENT") return undefined;
    throw error;
  }
}

function depth(path: string): number {
  let count = 0;
  for (const char of path) if (char === "/") count += 1;
  return count;
}

function errnoOf(error: unknown): string | undefined {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : undefined;
}
