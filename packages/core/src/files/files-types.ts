import type { CallOptions } from "../exec-types.js";

/** Options of `files.read`. */
export interface ReadOptions extends CallOptions {
  /** Refuse files larger than this many bytes. Default: 64 MiB. */
  readonly maxBytes?: number | undefined;
}

/** Options of `files.write`. */
export interface WriteOptions extends CallOptions {
  /** Permission bits of a new file, e.g. `0o755`. Default `0o644`. */
  readonly mode?: number | undefined;
}

/** Options of `files.remove`. */
export interface RemoveOptions extends CallOptions {
  /** Remove a directory and everything in it. Default `false`. */
  readonly recursive?: boolean | undefined;
}

/** Limits and options of `files.upload` and `files.download`. */
export interface TransferOptions extends CallOptions {
  /** Stop with `UnsafeArchiveError` past this many bytes in total. Default 1 GiB. */
  readonly maxBytes?: number | undefined;
  /** Stop with `UnsafeArchiveError` past this many entries. Default 100 000. */
  readonly maxEntries?: number | undefined;
}

/** What a directory transfer moved. */
export interface TransferResult {
  readonly files: number;
  readonly directories: number;
  readonly bytes: number;
  /** Entries not transferred (symbolic links and special files), by sandbox or local path. */
  readonly skipped: readonly string[];
}
