import type { CallContextV1 } from "./call-context.js";
import type { FileEntryV1 } from "./types.js";

/** Bytes in flight: a whole buffer, or a stream of chunks read with backpressure. */
export type ByteSourceV1 = Uint8Array | AsyncIterable<Uint8Array>;

/**
 * File operations of one sandbox. Every path is an absolute, normalised sandbox path (core has
 * resolved and checked it). A backend that declares `files: "native-archive"` also implements the
 * archive pair; core uses them for directory upload and download.
 */
export interface SandboxFilesV1 {
  /** Reads a whole file. Throws `ValidationError` past `maxBytes`. */
  read(path: string, options: { readonly maxBytes: number }, call: CallContextV1): Promise<Uint8Array>;
  /** Creates or replaces a file (parents are created). */
  write(
    path: string,
    data: ByteSourceV1,
    options: { readonly mode?: number | undefined },
    call: CallContextV1,
  ): Promise<void>;
  /** Lists a directory (not recursive). */
  list(path: string, call: CallContextV1): Promise<FileEntryV1[]>;
  /** Removes a file, or a directory with `recursive`. A missing path is not an error. */
  remove(path: string, options: { readonly recursive: boolean }, call: CallContextV1): Promise<void>;
  /** Creates a directory and its parents. */
  mkdir(path: string, call: CallContextV1): Promise<void>;
  /** Unpacks a tar (optionally gzip) stream into `dir`, creating it. */
  uploadArchive?(dir: string, archive: AsyncIterable<Uint8Array>, call: CallContextV1): Promise<void>;
  /** Packs `dir` into a tar (optionally gzip) stream. The stream is hostile input to core. */
  downloadArchive?(dir: string, call: CallContextV1): Promise<AsyncIterable<Uint8Array>>;
}
