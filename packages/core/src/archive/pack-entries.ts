import { pipeline, Readable } from "node:stream";
import { createGzip } from "node:zlib";
import { pack as createTarPack, type Header, type Pack } from "tar-stream";
import { AbortedError } from "../errors/aborted-error.js";
import { SandboxError } from "../errors/sandbox-error.js";
import { UnsafeArchiveError } from "../errors/unsafe-archive-error.js";
import { ValidationError } from "../errors/validation-error.js";
import { isNameProblem, MAX_PATH_BYTES, showName, splitEntryName } from "./entry-name.js";
import { checkLimit } from "./limits.js";

/** File content: the bytes, a stream of chunks, or a function that opens the stream when the entry is reached. */
export type ArchiveContent = Uint8Array | AsyncIterable<Uint8Array> | (() => AsyncIterable<Uint8Array>);

interface ArchiveEntryBase {
  /** Relative POSIX path inside the archive, e.g. `src/main.py`. No `..`, no leading `/`. */
  readonly path: string;
  /** Modification time. Default: when packing started. */
  readonly mtime?: Date | undefined;
}

/** A regular file to pack. */
export interface ArchiveFileEntry extends ArchiveEntryBase {
  readonly type: "file";
  /** Permission bits; anything above `0o777` (setuid, setgid, sticky) is dropped. Default `0o644`. */
  readonly mode?: number | undefined;
  /** Byte length of `content`. Required for streamed content; must match exactly. */
  readonly size?: number | undefined;
  /** The bytes, or a stream of them read with backpressure. */
  readonly content: ArchiveContent;
}

/** A directory to pack (its contents are separate entries). */
export interface ArchiveDirectoryEntry extends ArchiveEntryBase {
  readonly type: "directory";
  /** Permission bits. Default `0o755`. */
  readonly mode?: number | undefined;
}

/** A symbolic link to pack, stored as a link (never followed). */
export interface ArchiveSymlinkEntry extends ArchiveEntryBase {
  readonly type: "symlink";
  /** Where the link points, stored as given. */
  readonly linkTarget: string;
  /** Permission bits (ignored by most systems). Default `0o777`. */
  readonly mode?: number | undefined;
}

/** One entry of {@link packEntries}. */
export type ArchiveEntry = ArchiveFileEntry | ArchiveDirectoryEntry | ArchiveSymlinkEntry;

/**
 * A tar (or tar.gz) byte stream: a Node.js `Readable` that is also an async iterable of byte
 * chunks. It produces bytes only as fast as it is read (backpressure), so piping it to a slow
 * upload keeps memory bounded.
 */
export type ArchiveStream = Readable & AsyncIterable<Uint8Array>;

/** What {@link PackOptions.onEntry} reports as each entry starts. */
export interface PackedEntryInfo {
  readonly path: string;
  readonly type: ArchiveEntry["type"];
  /** Content bytes (0 for directories and links). */
  readonly size: number;
}

/** Options of {@link packEntries} and `packDirectory`. */
export interface PackOptions {
  /** Compress the tar with gzip. Default `false`. */
  readonly gzip?: boolean | undefined;
  /** The gzip level, 0 (none) to 9 (smallest). Default 6. */
  readonly gzipLevel?: number | undefined;
  /** Stops packing: the stream is destroyed with `AbortedError` (or the signal's reason when it is a sandkit error). */
  readonly signal?: AbortSignal | undefined;
  /** Content bytes allowed in total; past it the stream fails with `UnsafeArchiveError` (`too-many-bytes`). Default: no limit. */
  readonly maxBytes?: number | undefined;
  /** Entries allowed; past it the stream fails with `UnsafeArchiveError` (`too-many-entries`). Default: no limit. */
  readonly maxEntries?: number | undefined;
  /** Called as each entry is started, e.g. for progress. */
  readonly onEntry?: ((entry: PackedEntryInfo) => void) | undefined;
  /** The operation named in errors. Default `"packEntries"` (or `"packDirectory"`). */
  readonly operation?: string | undefined;
}

/** Bytes of the gzip output buffered between reads. */
const GZIP_CHUNK = 64 * 1024;

/**
 * Packs entries into a tar stream (or tar.gz with `gzip: true`), one entry at a time: content
 * streams are read only as fast as the archive is consumed, so memory stays bounded whatever the
 * sizes. Names longer than ustar allows or not ASCII get PAX headers; owner ids and names are
 * not stored (always 0 and empty). A bad entry (unsafe path, size that does not match its
 * content) fails the stream with `ValidationError`.
 *
 * ```ts
 * await pipeline(packEntries([{ path: "hello.txt", type: "file", content: bytes }], { gzip: true }), out);
 * ```
 */
export function packEntries(
  entries: Iterable<ArchiveEntry> | AsyncIterable<ArchiveEntry>,
  options: PackOptions = {},
): ArchiveStream {
  const operation = options.operation ?? "packEntries";
  const packer = createTarPack();
  // Errors reach the reader through the output stream; these listeners keep them from being "unhandled".
  packer.on("error", ignore);
  const tarBytes = Readable.from(packer as AsyncIterable<Uint8Array>, { objectMode: false });
  let output: Readable = tarBytes;
  if (options.gzip === true) {
    const level = options.gzipLevel ?? 6;
    const gzip = createGzip({ level, chunkSize: GZIP_CHUNK });
    pipeline(tarBytes, gzip, () => undefined);
    output = gzip;
  }
  const signal = options.signal;
  const fail = (error: unknown): void => {
    const reason = error instanceof Error ? error : new Error(String(error));
    if (!packer.destroyed) packer.destroy(reason);
    if (!output.destroyed) output.destroy(reason);
  };
  const onAbort = (): void => fail(abortError(signal, operation));
  let settings: PackSettings;
  try {
    settings = {
      operation,
      maxBytes: checkLimit(options.maxBytes, Infinity, "maxBytes", operation),
      maxEntries: checkLimit(options.maxEntries, Infinity, "maxEntries", operation),
      onEntry: options.onEntry,
      signal,
      mtime: new Date(),
    };
    if (options.gzipLevel !== undefined && !(Number.isInteger(options.gzipLevel) && options.gzipLevel >= 0 && options.gzipLevel <= 9)) {
      throw new ValidationError(`gzipLevel must be an integer from 0 to 9, got ${String(options.gzipLevel)}`, { field: "gzipLevel", operation });
    }
  } catch (error) {
    process.nextTick(fail, error);
    return output as ArchiveStream;
  }
  if (signal?.aborted === true) {
    process.nextTick(onAbort);
    return output as ArchiveStream;
  }
  signal?.addEventListener("abort", onAbort, { once: true });
  writeEntries(packer, entries, settings).then(
    () => {
      signal?.removeEventListener("abort", onAbort);
      if (!packer.destroyed) packer.finalize();
    },
    (error: unknown) => {
      signal?.removeEventListener("abort", onAbort);
      fail(signal?.aborted === true ? abortError(signal, operation) : error);
    },
  );
  return output as ArchiveStream;
}

interface PackSettings {
  readonly operation: string;
  readonly maxBytes: number;
  readonly maxEntries: number;
  readonly onEntry: ((entry: PackedEntryInfo) => void) | undefined;
  readonly signal: AbortSignal | undefined;
  readonly mtime: Date;
}

/** Writes every entry into the tar packer, waiting for each to be consumed before the next. */
async function writeEntries(
  packer: Pack,
  entries: Iterable<ArchiveEntry> | AsyncIterable<ArchiveEntry>,
  settings: PackSettings,
): Promise<void> {
  let count = 0;
  let bytes = 0;
  for await (const entry of entries) {
    if (packer.destroyed) throw new Error("the archive stream was destroyed");
    if (settings.signal?.aborted === true) throw abortError(settings.signal, settings.operation);
    count += 1;
    const header = headerOf(entry, settings);
    if (count > settings.maxEntries) {
      throw new UnsafeArchiveError(`${settings.operation} stopped: more than ${settings.maxEntries} entries (at ${showName(entry.path)})`, {
        reason: "too-many-entries",
        entry: showName(entry.path),
        operation: settings.operation,
      });
    }
    if (header.size !== undefined && header.size > settings.maxBytes - bytes) {
      throw new UnsafeArchiveError(`${settings.operation} stopped: more than ${settings.maxBytes} bytes in total (at ${showName(entry.path)})`, {
        reason: "too-many-bytes",
        entry: showName(entry.path),
        operation: settings.operation,
      });
    }
    settings.onEntry?.({ path: entry.path, type: entry.type, size: header.size ?? 0 });
    if (entry.type === "file") {
      await writeFile(packer, header, entry, settings);
      bytes += header.size ?? 0;
    } else {
      await new Promise<void>((resolve, reject) => {
        packer.entry(header, (error) => (error ? reject(error) : resolve()));
      });
    }
  }
}

/** Streams one file's content into its tar entry, with backpressure and an exact size check. */
async function writeFile(packer: Pack, header: PackHeader, entry: ArchiveFileEntry, settings: PackSettings): Promise<void> {
  const size = header.size;
  let sink!: ReturnType<Pack["entry"]>;
  // tar-stream calls back once the entry is complete, or with the error that destroyed it.
  const done = new Promise<void>((resolve, reject) => {
    sink = packer.entry(header, (error) => (error ? reject(error) : resolve()));
  });
  sink.on("error", ignore);
  done.catch(() => undefined);
  let written = 0;
  const content = entry.content;
  const chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array> =
    content instanceof Uint8Array ? [content] : typeof content === "function" ? content() : content;
  try {
    for await (const chunk of chunks) {
      if (!(chunk instanceof Uint8Array)) {
        throw new ValidationError(`the content of ${showName(entry.path)} yielded something other than bytes`, { field: "content", operation: settings.operation });
      }
      if (chunk.byteLength === 0) continue;
      written += chunk.byteLength;
      if (written > size) {
        throw new ValidationError(`the content of ${showName(entry.path)} is longer than its size (${size} bytes)`, { field: "size", operation: settings.operation });
      }
      if (settings.signal?.aborted === true) throw abortError(settings.signal, settings.operation);
      if (sink.destroyed) throw new Error("the archive stream was destroyed");
      if (!sink.write(chunk)) await drained(sink);
    }
  } catch (error) {
    sink.destroy(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
  if (written !== size) {
    const error = new ValidationError(`the content of ${showName(entry.path)} has ${written} bytes, not its size of ${size}`, { field: "size", operation: settings.operation });
    sink.destroy(error);
    throw error;
  }
  sink.end(null);
  await done;
}

/** Resolves when a tar-stream sink wants more data; rejects when it is destroyed first. */
function drained(sink: ReturnType<Pack["entry"]>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (sink.destroyed) {
      reject(new Error("the archive stream was destroyed"));
      return;
    }
    const cleanup = (): void => {
      sink.off("drain", onDrain);
      sink.off("close", onClose);
    };
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error("the archive stream was destroyed"));
    };
    sink.on("drain", onDrain);
    sink.on("close", onClose);
  });
}

/** A header as tar-stream's packer takes it. */
type PackHeader = Partial<Header> & Pick<Header, "name"> & { size: number };

/** The tar header of an entry, after checking it. */
function headerOf(entry: ArchiveEntry, settings: PackSettings): PackHeader {
  const where = { operation: settings.operation };
  if (typeof entry !== "object" || entry === null) throw new ValidationError("an archive entry must be an object", { field: "entries", ...where });
  const segments = splitEntryName(entry.path);
  if (isNameProblem(segments)) {
    throw new ValidationError(`the entry path ${showName(String(entry.path))} is refused: ${segments.detail}`, { field: "path", ...where });
  }
  if (segments.length === 0) throw new ValidationError(`the entry path ${showName(entry.path)} is empty`, { field: "path", ...where });
  const mtime = entry.mtime ?? settings.mtime;
  if (!(mtime instanceof Date) || Number.isNaN(mtime.getTime())) {
    throw new ValidationError(`the mtime of ${showName(entry.path)} is not a valid Date`, { field: "mtime", ...where });
  }
  const base = { uid: 0, gid: 0, uname: "", gname: "", mtime };
  const name = segments.join("/");
  switch (entry.type) {
    case "file": {
      const size = entry.size ?? (entry.content instanceof Uint8Array ? entry.content.byteLength : undefined);
      if (size === undefined) throw new ValidationError(`the file ${showName(entry.path)} needs a size for streamed content`, { field: "size", ...where });
      if (!Number.isSafeInteger(size) || size < 0) throw new ValidationError(`the size of ${showName(entry.path)} must be a non-negative integer`, { field: "size", ...where });
      if (entry.content instanceof Uint8Array && entry.content.byteLength !== size) {
        throw new ValidationError(`the content of ${showName(entry.path)} has ${entry.content.byteLength} bytes, not its size of ${size}`, { field: "size", ...where });
      }
      return { ...base, name, type: "file", mode: modeOf(entry.mode, 0o644, entry.path, settings), size };
    }
    case "directory":
      return { ...base, name: `${name}/`, type: "directory", mode: modeOf(entry.mode, 0o755, entry.path, settings), size: 0 };
    case "symlink": {
      const target = entry.linkTarget;
      if (typeof target !== "string" || target === "" || target.includes("\0") || Buffer.byteLength(target) > MAX_PATH_BYTES) {
        throw new ValidationError(`the link ${showName(entry.path)} needs a target without NUL, of 1 to ${MAX_PATH_BYTES} bytes`, { field: "linkTarget", ...where });
      }
      return { ...base, name, type: "symlink", linkname: target, mode: modeOf(entry.mode, 0o777, entry.path, settings), size: 0 };
    }
    default:
      throw new ValidationError(`the entry ${showName(String((entry as { path?: unknown }).path))} has an unknown type`, { field: "type", ...where });
  }
}

function modeOf(mode: number | undefined, fallback: number, path: string, settings: PackSettings): number {
  if (mode === undefined) return fallback;
  if (!Number.isInteger(mode) || mode < 0) {
    throw new ValidationError(`the mode of ${showName(path)} must be a non-negative integer`, { field: "mode", operation: settings.operation });
  }
  return mode & 0o777;
}

function ignore(): void {
  // The error is reported elsewhere.
}

/** The error an aborted signal stands for: its reason when that is a sandkit error, else `AbortedError`. */
export function abortError(signal: AbortSignal | undefined, operation: string): SandboxError {
  const reason: unknown = signal?.reason;
  if (SandboxError.isInstance(reason)) return reason;
  return new AbortedError(`${operation} was aborted`, { operation, cause: reason });
}
