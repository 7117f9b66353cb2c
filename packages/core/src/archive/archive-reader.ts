import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { extract as createTarExtract, type Extract, type Header } from "tar-stream";
import { SandboxError } from "../errors/sandbox-error.js";
import type { UnsafeArchiveError } from "../errors/unsafe-archive-error.js";
import { ValidationError } from "../errors/validation-error.js";
import {
  checkSymlinkTarget,
  isNameProblem,
  type NameProblem,
  showName,
  splitEntryName,
  splitHardlinkTarget,
  unsafe,
} from "./entry-name.js";
import type { ResolvedArchiveLimits } from "./limits.js";
import { abortError } from "./pack-entries.js";

/** Bytes of a tar or tar.gz archive: the whole buffer, or a stream of chunks (a Node.js `Readable`, a web `ReadableStream`, an HTTP body). */
export type ArchiveSource = Uint8Array | AsyncIterable<Uint8Array>;

/** The kinds of entry an archive may hold once special files are refused. */
export type ArchiveEntryKind = "file" | "directory" | "symlink" | "hardlink";

/** One entry as read from the archive, after its name and type were checked. */
export interface CheckedEntry {
  /** `special` (a device, FIFO or unknown type) only when the reader was told to let them through. */
  readonly kind: ArchiveEntryKind | "special";
  /** Normalised relative path (`a/b`); empty for the archive root (`./`). */
  readonly path: string;
  readonly segments: readonly string[];
  /** The name as the archive gave it, escaped for messages. */
  readonly shown: string;
  /** Mode bits as stored (setuid and the like included; the extractor strips them). */
  readonly mode: number;
  /** Bytes of content the entry declares. */
  readonly size: number;
  readonly mtime: Date;
  /** For a symlink: the target as stored. For a hard link: the normalised target path. */
  readonly linkTarget: string | undefined;
  /** For a hard link: the target's segments. */
  readonly linkSegments: readonly string[] | undefined;
}

/** What an archive read counted. */
export interface ReadCounts {
  /** Entries read. */
  readonly entries: number;
  /** Bytes of the decompressed tar stream. */
  readonly archiveBytes: number;
}

/** Settings of {@link readArchive}. */
export interface ReadSettings {
  readonly limits: ResolvedArchiveLimits;
  readonly signal: AbortSignal | undefined;
  readonly operation: string;
  /** Pass special entries to `onEntry` (as `special`) instead of refusing them. */
  readonly passSpecial?: boolean | undefined;
}

/** One entry stream of tar-stream's extractor. */
type TarEntryStream = Extract extends AsyncIterable<infer S> ? S : never;

/** Whether the signal has aborted (a function, so TypeScript does not narrow it once and for all). */
function isAborted(signal: AbortSignal | undefined): signal is AbortSignal {
  return signal?.aborted === true;
}

/** gzip's magic bytes. */
const GZIP_MAGIC = [0x1f, 0x8b] as const;
/** zlib output chunk size while decompressing. */
const GUNZIP_CHUNK = 64 * 1024;
/** A tar block; the end-of-archive marker is made of zero blocks. */
const BLOCK = 512;

/** An error of the caller's byte source, carried through the stream machinery unchanged. */
class SourceFailure extends Error {
  constructor(readonly failure: unknown) {
    super("the archive source failed");
  }
}

/**
 * Reads a tar or tar.gz stream (gzip told by its magic bytes) entry by entry, treating it as
 * hostile: names, types, link targets (lexically), sizes and counts are checked before
 * `onEntry` sees an entry, and the decompressed bytes are counted as they arrive so a gzip bomb
 * stops at `maxBytes`. `onEntry` gets the entry and its content; content it leaves unread is
 * skipped. Errors: `UnsafeArchiveError` for rule and limit violations and for corrupt data
 * (`corrupt`), the source's own error when the source fails, `AbortedError` on abort, and
 * whatever `onEntry` throws.
 */
export async function readArchive(
  source: ArchiveSource,
  settings: ReadSettings,
  onEntry: (entry: CheckedEntry, content: AsyncIterable<Uint8Array>) => Promise<void>,
): Promise<ReadCounts> {
  const { signal, operation, limits } = settings;
  if (signal?.aborted === true) throw abortError(signal, operation);
  const chunks = toChunks(source, operation);
  const iterator = chunks[Symbol.asyncIterator]();
  const state: ReadState = { archiveBytes: 0, trailingZeros: 0, entries: 0, current: undefined, failure: undefined };
  const extract = createTarExtract();
  // The error that destroyed the parser. An entry stream destroyed before it was read only says
  // "destroyed", so this is what its reader reports instead.
  extract.on("error", (error: unknown) => {
    state.failure ??= error;
  });
  // Only when gzip: the compressed bytes, as a stream for zlib.
  let compressed: Readable | undefined;
  const teardown = (reason?: Error): void => {
    if (!extract.destroyed) extract.destroy(reason);
    compressed?.destroy();
    // Also ends a read of the source still under way (a stalled download).
    void Promise.resolve(iterator.return?.()).catch(() => undefined);
  };
  let abortListener: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    if (signal === undefined) return;
    abortListener = () => {
      const error = abortError(signal, operation);
      teardown(error);
      reject(error);
    };
    signal.addEventListener("abort", abortListener, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    // The source's own error, not the wrapper that carries it through the stream machinery.
    const head = await Promise.race([readHead(iterator), aborted]).catch((error: unknown) => {
      throw error instanceof SourceFailure ? error.failure : error;
    });
    let tarBytes: AsyncIterator<Uint8Array>;
    if (isGzip(head.chunks)) {
      compressed = Readable.from(rest(head, iterator), { objectMode: false });
      const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK });
      // Errors of either side reach the gunzip stream, and so the pump below.
      pipeline(compressed, gunzip).catch(() => undefined);
      tarBytes = (gunzip as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    } else {
      tarBytes = plainChunks(head, iterator);
    }
    const pumping = pump(tarBytes, extract, state, limits.maxBytes, operation).then(
      () => undefined,
      (error: unknown) => {
        state.failure ??= error;
        if (!extract.destroyed) extract.destroy(error instanceof Error ? error : new Error(String(error)));
        return error;
      },
    );
    state.settled = () => Promise.race([pumping, aborted]);
    const entries = extract[Symbol.asyncIterator]();
    try {
      for (;;) {
        let next: IteratorResult<TarEntryStream>;
        try {
          next = (await Promise.race([entries.next(), aborted])) as typeof next;
        } catch (error) {
          throw streamFailure(error, state.current?.shown, operation);
        }
        if (next.done === true) break;
        const stream = next.value;
        const entry = checkEntry(stream.header, stream.offset, state, settings);
        state.current = entry;
        if (entry.kind === "directory") {
          // tar-stream gives directories no data (their size field is not a data length).
          await onEntry(entry, EMPTY_BODY);
          continue;
        }
        const body = new EntryBody(stream, state, operation);
        await onEntry(entry, body);
        // Skip the content the handler did not read, so the parser moves on.
        if (!body.started) {
          for await (const _ of body) {
            // skipped
          }
        }
      }
      const failure = await Promise.race([pumping, aborted]);
      if (failure !== undefined) throw streamFailure(failure, state.current?.shown, operation);
    } finally {
      await entries.return?.().catch(() => undefined);
    }
    if (state.archiveBytes === 0) throw unsafe("corrupt", undefined, "the archive is empty", operation);
    if (state.trailingZeros < BLOCK) {
      throw unsafe("corrupt", state.current?.shown, "the archive has no end-of-archive marker (it was cut short)", operation);
    }
    return { entries: state.entries, archiveBytes: state.archiveBytes };
  } catch (error) {
    teardown();
    if (isAborted(signal)) throw abortError(signal, operation);
    throw error;
  } finally {
    if (abortListener !== undefined) signal?.removeEventListener("abort", abortListener);
  }
}

/** What one read has seen so far. */
interface ReadState {
  archiveBytes: number;
  trailingZeros: number;
  entries: number;
  /** The entry being read, for messages. */
  current: { readonly shown: string } | undefined;
  /** The first error of the stream machinery. */
  failure: unknown;
  /** Resolves with the stream machinery's error once it has settled. */
  settled?: () => Promise<unknown>;
}

/**
 * Feeds the tar bytes to the parser with backpressure, counting them: past `maxBytes` it stops
 * with `too-many-bytes` (so a gzip bomb is cut off however well it compresses). Plain tar bytes
 * go from the source to the parser with no stream in between.
 */
async function pump(tarBytes: AsyncIterator<Uint8Array>, extract: Extract, state: ReadState, maxBytes: number, operation: string): Promise<void> {
  try {
    for (;;) {
      const next = await tarBytes.next();
      if (next.done === true) break;
      if (extract.destroyed) return;
      const chunk = next.value;
      state.archiveBytes += chunk.byteLength;
      if (state.archiveBytes > maxBytes) throw unsafe("too-many-bytes", state.current?.shown, `more than ${maxBytes} bytes of archive data`, operation);
      state.trailingZeros = trailingZeros(chunk, state.trailingZeros);
      if (!extract.write(chunk)) await drained(extract);
    }
  } finally {
    // Stops reading the source when the parser went away (or the limit was hit).
    await tarBytes.return?.();
  }
  if (!extract.destroyed) extract.end(null);
}

/**
 * The head chunks, then the rest of the source, as an iterator (no generator in between: this
 * runs once per chunk of a plain tar).
 */
function plainChunks(head: { chunks: Uint8Array[]; ended: boolean }, iterator: AsyncIterator<unknown>): AsyncIterator<Uint8Array> {
  let index = 0;
  let done = head.ended;
  return {
    async next(): Promise<IteratorResult<Uint8Array>> {
      if (index < head.chunks.length) return { done: false, value: head.chunks[index++]! };
      if (done) return { done: true, value: undefined };
      const chunk = await nextChunk(iterator);
      if (chunk === undefined) {
        done = true;
        return { done: true, value: undefined };
      }
      return { done: false, value: chunk };
    },
    async return(): Promise<IteratorResult<Uint8Array>> {
      if (!done) {
        done = true;
        await Promise.resolve(iterator.return?.()).catch(() => undefined);
      }
      return { done: true, value: undefined };
    },
  };
}

/** Resolves when the parser wants more bytes, or when it is destroyed (the pump then stops). */
function drained(extract: Extract): Promise<void> {
  return new Promise<void>((resolve) => {
    if (extract.destroyed) {
      resolve();
      return;
    }
    const done = (): void => {
      extract.off("drain", done);
      extract.off("close", done);
      resolve();
    };
    extract.on("drain", done);
    extract.on("close", done);
  });
}

/** Checks one header against the rules and the limits, and counts it. */
function checkEntry(header: Header, offset: number, state: ReadState, settings: ReadSettings): CheckedEntry {
  const { limits, operation } = settings;
  const rawName = typeof header.name === "string" ? header.name : "";
  // Escaped only when needed (a message): most entries never are.
  let escaped: string | undefined;
  const shown = (): string => (escaped ??= showName(rawName));
  state.entries += 1;
  if (state.entries > limits.maxEntries) throw unsafe("too-many-entries", shown(), `more than ${limits.maxEntries} entries`, operation);
  const segments = splitEntryName(rawName);
  if (isNameProblem(segments)) throw refuse(segments, shown(), operation);
  let kind: CheckedEntry["kind"] | undefined = kindOf(header.type);
  if (kind === undefined) {
    if (settings.passSpecial !== true) {
      const type = header.type === null || header.type === undefined ? "an unknown type" : `type ${header.type}`;
      throw unsafe("special-file", shown(), `the entry has ${type}, which is never extracted`, operation);
    }
    kind = "special";
  }
  if (segments.length === 0 && kind !== "directory") throw unsafe("invalid-name", shown(), "the entry has an empty name", operation);
  // A directory's size field is not a data length (tar-stream reads no data for it).
  const size = kind === "directory" ? 0 : header.size;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) throw unsafe("corrupt", shown(), "the entry size is not valid", operation);
  if (size > limits.maxEntryBytes) throw unsafe("entry-too-large", shown(), `the entry declares ${size} bytes, more than ${limits.maxEntryBytes}`, operation);
  // The entry's data ends at header + size; refuse before reading if that passes the limit.
  if (offset + BLOCK + size > limits.maxBytes) {
    throw unsafe("too-many-bytes", shown(), `the entry's ${size} bytes would pass the limit of ${limits.maxBytes} bytes of archive data`, operation);
  }
  let linkTarget: string | undefined;
  let linkSegments: readonly string[] | undefined;
  if (kind === "symlink") {
    const target = typeof header.linkname === "string" ? header.linkname : "";
    const problem = checkSymlinkTarget(segments.slice(0, -1), target);
    if (problem !== undefined) throw refuse(problem, shown(), operation);
    linkTarget = target;
  } else if (kind === "hardlink") {
    const target = splitHardlinkTarget(typeof header.linkname === "string" ? header.linkname : "");
    if (isNameProblem(target)) throw refuse(target, shown(), operation);
    linkSegments = target;
    linkTarget = target.join("/");
  }
  const mode = typeof header.mode === "number" && Number.isFinite(header.mode) ? header.mode & 0o7777 : 0;
  const mtime = header.mtime instanceof Date && !Number.isNaN(header.mtime.getTime()) ? header.mtime : new Date(0);
  return {
    kind,
    path: segments.join("/"),
    segments,
    get shown() {
      return shown();
    },
    mode,
    size,
    mtime,
    linkTarget,
    linkSegments,
  };
}

function kindOf(type: Header["type"] | null | undefined): ArchiveEntryKind | undefined {
  switch (type) {
    case "file":
    case "contiguous-file":
      return "file";
    case "directory":
      return "directory";
    case "symlink":
      return "symlink";
    case "link":
      return "hardlink";
    default:
      return undefined;
  }
}

/** The content of a directory entry. */
const EMPTY_BODY: AsyncIterable<Uint8Array> = {
  async *[Symbol.asyncIterator]() {
    // no content
  },
};

/**
 * The content of one entry, readable once, to the end (leaving early destroys the whole
 * archive stream). Errors of the stream are turned into the archive's error.
 */
class EntryBody implements AsyncIterable<Uint8Array> {
  started = false;
  constructor(
    private readonly stream: TarEntryStream,
    private readonly state: ReadState,
    private readonly operation: string,
  ) {}

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    if (this.started) throw new Error("an archive entry's content can be read only once");
    this.started = true;
    try {
      for await (const chunk of this.stream as AsyncIterable<Uint8Array>) yield chunk;
    } catch (error) {
      let cause = error;
      if (isDestroyedError(error)) cause = this.state.failure ?? (await this.state.settled?.()) ?? error;
      throw streamFailure(cause, this.state.current?.shown, this.operation);
    }
  }
}

/** streamx's error for a stream destroyed without a reason of its own. */
function isDestroyedError(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === "STREAM_DESTROYED";
}

/** Turns an error of the stream machinery into what the caller should see. */
function streamFailure(error: unknown, entry: string | undefined, operation: string): unknown {
  if (error instanceof SourceFailure) return error.failure;
  if (SandboxError.isInstance(error)) return error;
  return unsafe("corrupt", entry, `the archive is corrupt: ${error instanceof Error ? error.message : String(error)}`, operation, error);
}

/** The first chunks of the source, at least two bytes unless it ends first. */
async function readHead(iterator: AsyncIterator<unknown>): Promise<{ chunks: Uint8Array[]; ended: boolean }> {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  while (bytes < GZIP_MAGIC.length) {
    const next = await nextChunk(iterator);
    if (next === undefined) return { chunks, ended: true };
    chunks.push(next);
    bytes += next.byteLength;
  }
  return { chunks, ended: false };
}

async function nextChunk(iterator: AsyncIterator<unknown>): Promise<Uint8Array | undefined> {
  let next: IteratorResult<unknown>;
  try {
    next = await iterator.next();
  } catch (error) {
    throw new SourceFailure(error);
  }
  if (next.done === true) return undefined;
  const value = next.value;
  if (!(value instanceof Uint8Array)) {
    throw new SourceFailure(new ValidationError("the archive source yielded something other than bytes", { field: "source" }));
  }
  return value;
}

/** The head chunks, then the rest of the source. */
async function* rest(head: { chunks: Uint8Array[]; ended: boolean }, iterator: AsyncIterator<unknown>): AsyncGenerator<Uint8Array> {
  let done = head.ended;
  try {
    yield* head.chunks;
    while (!done) {
      const next = await nextChunk(iterator);
      if (next === undefined) done = true;
      else yield next;
    }
  } finally {
    if (!done) await Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}

function isGzip(chunks: readonly Uint8Array[]): boolean {
  const bytes: number[] = [];
  for (const chunk of chunks) {
    for (const byte of chunk) {
      bytes.push(byte);
      if (bytes.length === GZIP_MAGIC.length) return bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];
    }
  }
  return false;
}

function toChunks(source: ArchiveSource, operation: string): AsyncIterable<unknown> {
  if (source instanceof Uint8Array) {
    return (async function* () {
      yield source;
    })();
  }
  if (source === null || typeof source !== "object" || typeof (source as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] !== "function") {
    throw new ValidationError("the archive source must be bytes or an async iterable of bytes", { field: "source", operation });
  }
  return source;
}

/** Zero bytes at the end of everything read so far, counted up to two blocks. */
function trailingZeros(chunk: Uint8Array, previous: number): number {
  const cap = Math.min(chunk.byteLength, 2 * BLOCK);
  let zeros = 0;
  while (zeros < cap && chunk[chunk.byteLength - 1 - zeros] === 0) zeros += 1;
  return zeros === chunk.byteLength ? Math.min(previous + zeros, 2 * BLOCK) : zeros;
}

function refuse(problem: NameProblem, shown: string, operation: string): UnsafeArchiveError {
  return unsafe(problem.reason, shown, problem.detail, operation);
}
