import { CapabilityUnsupportedError } from "../errors/capability-unsupported-error.js";
import { FileNotFoundError } from "../errors/file-not-found-error.js";
import { ValidationError } from "../errors/validation-error.js";
import type { CallOptions, ExecOptions, ExecResult } from "../exec-types.js";
import { checkMs } from "../internal/call-context.js";
import { resolveSandboxPath } from "../paths.js";
import type { SandboxBackendV1, SandboxConnectionV1 } from "../spec/v1/backend.js";
import type { CallContextV1 } from "../spec/v1/call-context.js";
import type { ByteSourceV1, SandboxFilesV1 } from "../spec/v1/files.js";
import type { FileEntryV1 } from "../spec/v1/types.js";
import type { TraceContext } from "../tracing.js";
import { downloadDirectoryArchive, hasArchiveTransfer, uploadDirectoryArchive } from "./archive-transfer.js";
import { downloadDirectory, uploadDirectory } from "./directory-transfer.js";
import { createEmulatedFiles } from "./emulated-files.js";
import type { ReadOptions, RemoveOptions, TransferOptions, TransferResult, WriteOptions } from "./files-types.js";

const DEFAULT_MAX_READ = 64 * 1024 * 1024;

/** @internal What `Sandbox` gives its file API. */
export interface SandboxFilesHost {
  readonly backend: SandboxBackendV1;
  readonly connection: SandboxConnectionV1;
  run<T>(
    operation: string,
    details: Omit<TraceContext, "operation" | "backend" | "sandboxId">,
    options: CallOptions,
    fn: (call: CallContextV1) => Promise<T>,
  ): Promise<T>;
  exec(argv: readonly string[], options: ExecOptions): Promise<ExecResult>;
}

/**
 * The file API of a sandbox. Paths are sandbox paths: relative ones resolve against
 * `sandbox.info.workdir`; `..` segments are refused everywhere. Backends without native file
 * operations get them through `exec` when they declare `files: "emulated"`.
 */
export class SandboxFiles {
  readonly #host: SandboxFilesHost;
  #impl: SandboxFilesV1 | undefined;

  /** @internal */
  constructor(host: SandboxFilesHost) {
    this.#host = host;
  }

  /** Reads a file as UTF-8 text. */
  read(path: string, options: ReadOptions & { readonly encoding: "utf8" }): Promise<string>;
  /** Reads a file as bytes. */
  read(path: string, options?: ReadOptions & { readonly encoding?: undefined }): Promise<Uint8Array>;
  async read(path: string, options: ReadOptions & { readonly encoding?: "utf8" | undefined } = {}): Promise<string | Uint8Array> {
    const impl = this.#files();
    const target = this.#path(path);
    const maxBytes = checkMs(options.maxBytes, "maxBytes") ?? DEFAULT_MAX_READ;
    const bytes = await this.#host.run("files.read", { path: target }, options, (call) => impl.read(target, { maxBytes }, call));
    return options.encoding === "utf8" ? new TextDecoder().decode(bytes) : bytes;
  }

  /** Creates or replaces a file; parent directories are created. Text is written as UTF-8. */
  async write(path: string, data: string | ByteSourceV1, options: WriteOptions = {}): Promise<void> {
    const impl = this.#files();
    const target = this.#path(path);
    if (options.mode !== undefined && (!Number.isInteger(options.mode) || options.mode < 0 || options.mode > 0o777)) {
      throw new ValidationError("mode must be permission bits between 0 and 0o777", { field: "mode", operation: "files.write" });
    }
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    await this.#host.run("files.write", { path: target }, options, (call) => impl.write(target, bytes, { mode: options.mode }, call));
  }

  /** Lists a directory (not recursive). Default: the workdir. */
  async list(path?: string, options: CallOptions = {}): Promise<FileEntryV1[]> {
    const impl = this.#files();
    const target = this.#path(path ?? this.#host.connection.info.workdir);
    return this.#host.run("files.list", { path: target }, options, (call) => impl.list(target, call));
  }

  /** Whether a path exists (file, directory or link). */
  async exists(path: string, options: CallOptions = {}): Promise<boolean> {
    const target = this.#path(path);
    if (target === "/") return true;
    const slash = target.lastIndexOf("/");
    const parent = slash === 0 ? "/" : target.slice(0, slash);
    const name = target.slice(slash + 1);
    try {
      const entries = await this.list(parent, options);
      return entries.some((entry) => entry.name === name);
    } catch (error) {
      if (FileNotFoundError.isInstance(error)) return false;
      throw error;
    }
  }

  /** Removes a file, or a directory with `recursive: true`. A missing path is not an error. */
  async remove(path: string, options: RemoveOptions = {}): Promise<void> {
    const impl = this.#files();
    const target = this.#path(path);
    if (target === this.#host.connection.info.workdir || target === "/") {
      throw new ValidationError(`refusing to remove ${target}`, { field: "path", operation: "files.remove" });
    }
    await this.#host.run("files.remove", { path: target }, options, (call) => impl.remove(target, { recursive: options.recursive === true }, call));
  }

  /** Creates a directory and its parents. */
  async mkdir(path: string, options: CallOptions = {}): Promise<void> {
    const impl = this.#files();
    const target = this.#path(path);
    await this.#host.run("files.mkdir", { path: target }, options, (call) => impl.mkdir(target, call));
  }

  /**
   * Copies a local directory into the sandbox (default destination: the workdir): one streamed tar
   * on backends that move archives natively, file by file otherwise. Symbolic links and special
   * files in the local tree are not followed; they are listed in `skipped`.
   */
  async upload(localDir: string, remoteDir?: string, options: TransferOptions = {}): Promise<TransferResult> {
    const impl = this.#files();
    const target = this.#path(remoteDir ?? this.#host.connection.info.workdir);
    return this.#host.run("files.upload", { path: target }, options, (call) =>
      hasArchiveTransfer(impl)
        ? uploadDirectoryArchive(impl, localDir, target, limits(options), call)
        : uploadDirectory(impl, localDir, target, limits(options), call),
    );
  }

  /**
   * Copies a sandbox directory to a local directory. What the sandbox sends is hostile input:
   * names that would leave `localDir`, links and special files are refused or skipped, and
   * nothing is written outside `localDir`.
   */
  async download(remoteDir: string, localDir: string, options: TransferOptions = {}): Promise<TransferResult> {
    const impl = this.#files();
    const source = this.#path(remoteDir);
    return this.#host.run("files.download", { path: source }, options, (call) =>
      hasArchiveTransfer(impl)
        ? downloadDirectoryArchive(impl, source, localDir, limits(options), call)
        : downloadDirectory(impl, source, localDir, limits(options), call),
    );
  }

  #path(path: string): string {
    return resolveSandboxPath(path, this.#host.connection.info.workdir);
  }

  #files(): SandboxFilesV1 {
    if (this.#impl !== undefined) return this.#impl;
    const { backend, connection } = this.#host;
    if (connection.files !== undefined) {
      this.#impl = connection.files;
    } else if (backend.capabilities.files === "emulated") {
      this.#impl = createEmulatedFiles((argv, options) => this.#host.exec(argv, options), backend.capabilities);
    } else {
      throw new CapabilityUnsupportedError(`backend ${backend.name} has no file operations`, {
        capability: "files",
        backend: backend.name,
        sandboxId: connection.info.id,
      });
    }
    return this.#impl;
  }
}

function limits(options: TransferOptions): { maxBytes: number; maxEntries: number } {
  return {
    maxBytes: checkMs(options.maxBytes, "maxBytes") ?? 1024 * 1024 * 1024,
    maxEntries: checkMs(options.maxEntries, "maxEntries") ?? 100_000,
  };
}
