import { pipeline, Readable } from "node:stream";
import { createGzip } from "node:zlib";
import { type ArchiveEntry, packEntries } from "../archive/index.js";
import { FileNotFoundError, SandboxError } from "../errors/index.js";
import type { CallContextV1, FileEntryV1, SandboxConnectionV1, SandboxFilesV1 } from "../spec/v1/index.js";

/** How {@link openSandboxArchive} packs one sandbox directory. */
export interface SandboxArchiveOptions {
  /** Largest file read whole on backends without `downloadArchive`. */
  readonly maxFileBytes: number;
  /** Most entries in the archive. */
  readonly maxEntries: number;
  /** The operation named in errors, e.g. `"download"` or `"save"`. */
  readonly operation: string;
  /**
   * What to do, on backends without `downloadArchive`, with a symbolic link whose target leads
   * out of the archived directory: `"omit"` (default) leaves it out, as it would mean nothing
   * elsewhere and safe extraction refuses it; `"keep"` archives it as it is.
   */
  readonly outsideLinks?: "omit" | "keep";
}

/** gzip level of the archives this server makes: fast, since they mostly cross loopback or a LAN. */
const GZIP_LEVEL = 1;
/** Output kept from `readlink`. */
const READLINK_OUTPUT_BYTES = 8192;
const READLINK_TIMEOUT_MS = 30_000;

/**
 * Opens a tar.gz stream of the sandbox directory `src`. Everything that can fail because of
 * `src` itself (missing: `FileNotFoundError`; not a directory: `ValidationError`) fails here,
 * before the caller sends a status; later failures fail the stream.
 *
 * - With `files.downloadArchive`, its stream is passed on (compressed with gzip when it is a plain tar).
 * - Otherwise the tree is walked with `files.list` and packed with the core packer: directories,
 *   regular files (each read whole with `files.read`, up to `maxFileBytes`) and symbolic links
 *   (their target read with `readlink` through exec, as the file API cannot read links). Special
 *   files are left out, and so are entries that vanish during the walk. Names are relative to
 *   `src` without a `./` prefix.
 */
export async function openSandboxArchive(connection: SandboxConnectionV1, src: string, limits: SandboxArchiveOptions, call: CallContextV1): Promise<Readable> {
  const files = connection.files;
  if (files === undefined) {
    throw new SandboxError("this backend has no file operations", { operation: limits.operation }, "FILES_UNSUPPORTED");
  }
  if (files.downloadArchive !== undefined) {
    return gzipped(await files.downloadArchive(src, call));
  }
  const top = await files.list(src, call);
  return packEntries(walk(connection, files, top, limits, call), {
    gzip: true,
    gzipLevel: GZIP_LEVEL,
    maxEntries: limits.maxEntries,
    signal: call.signal,
    operation: limits.operation,
  });
}

/** The entries below a directory whose listing is `top`, depth-first, each directory before its contents. */
async function* walk(
  connection: SandboxConnectionV1,
  files: SandboxFilesV1,
  top: readonly FileEntryV1[],
  limits: SandboxArchiveOptions,
  call: CallContextV1,
): AsyncGenerator<ArchiveEntry> {
  const pending: { readonly prefix: string; readonly entries: readonly FileEntryV1[] }[] = [{ prefix: "", entries: top }];
  while (pending.length > 0) {
    const { prefix, entries } = pending.pop()!;
    // Directories are walked after their siblings; a stack of reversed listings keeps names in order.
    const subdirectories: { readonly prefix: string; readonly entries: readonly FileEntryV1[] }[] = [];
    for (const entry of entries) {
      const path = `${prefix}${entry.name}`;
      const mtime = entry.modifiedAt;
      switch (entry.type) {
        case "directory": {
          const listing = await vanishable(() => files.list(entry.path, call));
          if (listing === undefined) break;
          yield { type: "directory", path, mode: entry.mode, mtime };
          subdirectories.push({ prefix: `${path}/`, entries: listing });
          break;
        }
        case "file": {
          const content = await vanishable(() => files.read(entry.path, { maxBytes: limits.maxFileBytes }, call));
          if (content === undefined) break;
          yield { type: "file", path, content, size: content.byteLength, mode: entry.mode, mtime };
          break;
        }
        case "symlink": {
          const target = await readLink(connection, entry.path, call);
          // A link that leads out of the directory is left out unless asked for: it would mean nothing elsewhere, and extraction refuses it.
          if (target !== undefined && (limits.outsideLinks === "keep" || staysInside(path, target))) yield { type: "symlink", path, linkTarget: target, mtime };
          break;
        }
        default:
          // Devices, FIFOs and sockets are never archived.
          break;
      }
    }
    for (const next of subdirectories.reverse()) pending.push(next);
  }
}

/** The result of `read`, or `undefined` when the entry vanished (`FileNotFoundError`) since it was listed. */
async function vanishable<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (FileNotFoundError.isInstance(error)) return undefined;
    throw error;
  }
}

/** A link's target, read inside the sandbox with `readlink`; `undefined` when it cannot be read (vanished). */
async function readLink(connection: SandboxConnectionV1, path: string, call: CallContextV1): Promise<string | undefined> {
  const slash = path.lastIndexOf("/");
  const result = await connection.exec(
    {
      argv: ["readlink", "--", path.slice(slash + 1)],
      cwd: slash <= 0 ? "/" : path.slice(0, slash),
      timeoutMs: READLINK_TIMEOUT_MS,
      maxOutputBytes: READLINK_OUTPUT_BYTES,
    },
    call,
  );
  if (result.exitCode !== 0 || result.stdoutTruncated) return undefined;
  const target = result.stdout.endsWith("\n") ? result.stdout.slice(0, -1) : result.stdout;
  return target === "" ? undefined : target;
}

/** The archive stream as tar.gz: passed through when it starts with gzip's magic bytes, compressed otherwise. */
function gzipped(archive: AsyncIterable<Uint8Array>): Readable {
  return Readable.from(gzipChunks(archive), { objectMode: false });
}

/** The chunks of `archive`, gzip-compressed unless they already are. */
async function* gzipChunks(archive: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const iterator = archive[Symbol.asyncIterator]();
  let finished = false;
  const head: Uint8Array[] = [];
  let headBytes = 0;
  try {
    while (headBytes < 2) {
      const next = await iterator.next();
      if (next.done === true) {
        finished = true;
        break;
      }
      head.push(next.value);
      headBytes += next.value.byteLength;
    }
    const all = async function* (): AsyncGenerator<Uint8Array> {
      yield* head;
      while (!finished) {
        const next = await iterator.next();
        if (next.done === true) finished = true;
        else yield next.value;
      }
    };
    const first = Buffer.concat(head);
    if (first.byteLength >= 2 && first[0] === 0x1f && first[1] === 0x8b) {
      yield* all();
      return;
    }
    if (headBytes === 0) return;
    const gzip = createGzip({ level: GZIP_LEVEL });
    yield* pipeline(Readable.from(all(), { objectMode: false }), gzip, () => undefined) as AsyncIterable<Uint8Array>;
  } finally {
    if (!finished) await Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}

/** Whether the link at relative `path` with `target` resolves (lexically) inside the archive root. */
export function staysInside(path: string, target: string): boolean {
  if (target.startsWith("/")) return false;
  let depth = path.split("/").length - 1;
  for (const segment of target.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      depth -= 1;
      if (depth < 0) return false;
    } else {
      depth += 1;
    }
  }
  return true;
}
