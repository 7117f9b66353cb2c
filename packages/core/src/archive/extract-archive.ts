import { mkdir, realpath, stat } from "node:fs/promises";
import { ValidationError } from "../errors/validation-error.js";
import { type ArchiveEntryKind, type ArchiveSource, readArchive } from "./archive-reader.js";
import { Destination } from "./extract-destination.js";
import { type ArchiveLimits, resolveLimits } from "./limits.js";
import { abortError } from "./pack-entries.js";

/** What {@link ExtractOptions.onEntry} reports as each entry is applied. */
export interface ExtractedEntryInfo {
  /** Normalised relative path. */
  readonly path: string;
  readonly type: ArchiveEntryKind;
  /** Content bytes the entry declares. */
  readonly size: number;
}

/** What {@link ExtractOptions.onSkip} reports. */
export interface SkippedEntryInfo {
  /** Normalised relative path. */
  readonly path: string;
  /** `symlink`, or `special` for devices, FIFOs and unknown types. */
  readonly type: "symlink" | "special";
}

/** Options of {@link extractArchive}. */
export interface ExtractOptions extends ArchiveLimits {
  /** Stops the extraction with `AbortedError` (or the signal's reason when it is a sandkit error). */
  readonly signal?: AbortSignal | undefined;
  /**
   * Permission bits cleared from every file and directory, like a umask. Default `0o022` (no
   * group or other write). setuid, setgid and sticky bits are always cleared.
   */
  readonly umask?: number | undefined;
  /**
   * `"within"` (default): a hard link is allowed only to a regular file this archive extracted
   * earlier; `"reject"`: any hard link stops the extraction (`special-file`).
   */
  readonly hardlinks?: "within" | "reject" | undefined;
  /** Set files' modification times from the archive. Default `true`. */
  readonly preserveMtime?: boolean | undefined;
  /**
   * Write small files (up to 64 KiB) with synchronous `fs` calls, a few microseconds each, giving
   * the event loop a turn every 2 ms and falling back to asynchronous calls by itself when the
   * file system turns out slow. Many times faster than the thread pool for archives of many small
   * files. Default `true`; `false` keeps every call asynchronous (e.g. on a network file system
   * whose calls may stall).
   */
  readonly syncSmallFiles?: boolean | undefined;
  /**
   * `"create"` (default): symbolic links that stay inside `destDir` are created (once the whole
   * archive has been read). `"skip"`: none are created; each is reported to `onSkip`. Either way
   * a link that points outside stops the extraction.
   */
  readonly symlinks?: "create" | "skip" | undefined;
  /**
   * `"reject"` (default): a device, FIFO or entry of unknown type stops the extraction
   * (`special-file`). `"skip"`: such entries are left out and reported to `onSkip`.
   */
  readonly specialFiles?: "reject" | "skip" | undefined;
  /** Called before each entry is applied, e.g. for progress. */
  readonly onEntry?: ((entry: ExtractedEntryInfo) => void) | undefined;
  /** Called for each entry left out (`symlinks: "skip"`, `specialFiles: "skip"`). */
  readonly onSkip?: ((entry: SkippedEntryInfo) => void) | undefined;
  /** The operation named in errors. Default `"extractArchive"`. */
  readonly operation?: string | undefined;
}

/** What {@link extractArchive} wrote. */
export interface ExtractResult {
  /** Entries read, the archive root (`./`) included. */
  readonly entries: number;
  readonly files: number;
  readonly directories: number;
  readonly symlinks: number;
  readonly hardlinks: number;
  /** Bytes of file content written. */
  readonly bytes: number;
  /** Bytes of the decompressed tar stream. */
  readonly archiveBytes: number;
  /** Paths of the entries left out (see `symlinks` and `specialFiles`). */
  readonly skipped: readonly string[];
}

/**
 * Extracts a tar or tar.gz stream (gzip is recognised by its magic bytes) into `destDir`,
 * creating it if needed, and treating the archive as hostile. It refuses, with
 * `UnsafeArchiveError` naming the entry and a `reason`:
 * - absolute names (`absolute-path`), `..` segments (`path-traversal`), names with NUL, empty or
 *   over-long names (`invalid-name`), PAX and GNU long names included;
 * - symbolic links that point outside `destDir`, directly or through other links, and entries
 *   that would go through a link, whether the archive made it or it was already in `destDir`
 *   (`link-escape`); hard links to anything but a regular file extracted earlier (`link-escape`);
 * - devices, FIFOs and other special entries (`special-file`);
 * - more than `maxBytes` of decompressed data (`too-many-bytes`), `maxEntries` entries
 *   (`too-many-entries`), an entry larger than `maxEntryBytes` (`entry-too-large`);
 * - data that is not a complete tar archive (`corrupt`).
 *
 * Modes keep their permission bits minus `umask` (setuid, setgid and sticky are dropped); owners
 * are never changed. Existing files are replaced (unlinked, then created with `O_EXCL |
 * O_NOFOLLOW`), never written through.
 *
 * When it fails, reading stops at once and nothing outside `destDir` has been written. Entries
 * already extracted stay in `destDir` (a file being written is removed); symbolic links are
 * only created once the whole archive has been read and checked, so a refused archive leaves
 * none, and directory modes are not applied.
 *
 * ```ts
 * await extractArchive(response.body, "./out", { maxBytes: 256 * 1024 ** 2 });
 * ```
 */
export async function extractArchive(source: ArchiveSource, destDir: string, options: ExtractOptions = {}): Promise<ExtractResult> {
  const operation = options.operation ?? "extractArchive";
  const limits = resolveLimits(options, operation);
  const umask = options.umask ?? 0o022;
  if (!Number.isInteger(umask) || umask < 0 || umask > 0o777) {
    throw new ValidationError(`umask must be an integer from 0 to 0o777, got ${String(umask)}`, { field: "umask", operation });
  }
  const hardlinks = options.hardlinks ?? "within";
  if (options.symlinks !== undefined && options.symlinks !== "create" && options.symlinks !== "skip") {
    throw new ValidationError(`symlinks must be "create" or "skip"`, { field: "symlinks", operation });
  }
  if (options.specialFiles !== undefined && options.specialFiles !== "reject" && options.specialFiles !== "skip") {
    throw new ValidationError(`specialFiles must be "reject" or "skip"`, { field: "specialFiles", operation });
  }
  if (hardlinks !== "within" && hardlinks !== "reject") {
    throw new ValidationError(`hardlinks must be "within" or "reject"`, { field: "hardlinks", operation });
  }
  if (typeof destDir !== "string" || destDir === "" || destDir.includes("\0")) {
    throw new ValidationError("destDir must be a non-empty path without NUL", { field: "destDir", operation });
  }
  if (options.signal?.aborted === true) throw abortError(options.signal, operation);
  const notADirectory = (cause?: unknown): ValidationError =>
    new ValidationError(`destDir ${JSON.stringify(destDir)} is not a directory`, { field: "destDir", operation, cause });
  await mkdir(destDir, { recursive: true }).catch((error: unknown) => {
    const code = (error as { code?: unknown }).code;
    throw code === "EEXIST" || code === "ENOTDIR" ? notADirectory(error) : error;
  });
  // The caller named destDir, so it may itself be (or go through) a link; below it nothing is followed.
  const root = await realpath(destDir);
  if (!(await stat(root)).isDirectory()) throw notADirectory();
  const destination = await Destination.open(root, {
    umask,
    hardlinks,
    preserveMtime: options.preserveMtime ?? true,
    syncSmallFiles: options.syncSmallFiles ?? true,
    operation,
  });
  const skipped: string[] = [];
  const skipSymlinks = options.symlinks === "skip";
  const settings = { limits, signal: options.signal, operation, passSpecial: options.specialFiles === "skip" };
  let read: Awaited<ReturnType<typeof readArchive>>;
  try {
    read = await readArchive(source, settings, async (entry, content) => {
      if (entry.kind === "special" || (entry.kind === "symlink" && skipSymlinks)) {
        // Content, if any, is skipped by the reader.
        skipped.push(entry.path);
        options.onSkip?.({ path: entry.path, type: entry.kind });
        return;
      }
      options.onEntry?.({ path: entry.path, type: entry.kind, size: entry.size });
      await destination.apply(entry, content);
    });
  } finally {
    // Files still being closed are finished before this returns, even on failure.
    await destination.settle();
  }
  await destination.finish();
  return { entries: read.entries, ...destination.counts, archiveBytes: read.archiveBytes, skipped };
}

/** One entry as {@link listArchive} reports it. */
export interface ArchiveListing {
  /** Normalised relative path (empty for the archive root `./`). */
  readonly path: string;
  readonly type: ArchiveEntryKind;
  /** Content bytes the entry declares. */
  readonly size: number;
  /** Mode bits as stored, setuid and the like included. */
  readonly mode: number;
  readonly mtime: Date;
  /** A symbolic link's target as stored, or a hard link's normalised target path. */
  readonly linkTarget?: string | undefined;
}

/** Options of {@link listArchive}. */
export interface ListOptions extends ArchiveLimits {
  readonly signal?: AbortSignal | undefined;
  /** The operation named in errors. Default `"listArchive"`. */
  readonly operation?: string | undefined;
}

/**
 * Lists a tar or tar.gz stream without writing anything, applying the same name, type, link
 * (lexical only: there is no tree to resolve against) and limit checks as
 * {@link extractArchive}, with the same errors.
 */
export async function listArchive(source: ArchiveSource, options: ListOptions = {}): Promise<ArchiveListing[]> {
  const operation = options.operation ?? "listArchive";
  const limits = resolveLimits(options, operation);
  const listing: ArchiveListing[] = [];
  await readArchive(source, { limits, signal: options.signal, operation }, async (entry) => {
    if (entry.kind === "special") return; // never passed: special entries are refused
    listing.push({
      path: entry.path,
      type: entry.kind,
      size: entry.size,
      mode: entry.mode,
      mtime: entry.mtime,
      ...(entry.linkTarget === undefined ? {} : { linkTarget: entry.linkTarget }),
    });
  });
  return listing;
}
