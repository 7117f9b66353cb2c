import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { lstat, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { pipeline } from "node:stream/promises";
import {
  type ArchiveFileEntry,
  type ByteSourceV1,
  type CallContextV1,
  type ExecResultV1,
  extractArchive,
  FileNotFoundError,
  type FileEntryV1,
  packEntries,
  ProtocolError,
  redactSecrets,
  type SandboxFilesV1,
  ServerError,
  UnsafeArchiveError,
  ValidationError,
} from "@sandkit/core";
import { ensureGzip, openDownload } from "./archive-streams.js";
import type { NoxRunnerClient, RequestControl } from "./client.js";
import { BACKEND_NAME } from "./constants.js";
import {
  EXIT_IS_DIRECTORY,
  EXIT_NOT_FOUND,
  EXIT_WRONG_TYPE,
  LIST_SCRIPT,
  MKDIR_SCRIPT,
  READ_SCRIPT,
  REMOVE_SCRIPT,
  STAGE_SCRIPT,
  UNSTAGE_SCRIPT,
} from "./file-scripts.js";

/** What the file operations need from their connection. */
export interface FilesHost {
  readonly client: NoxRunnerClient;
  readonly sandboxId: string;
  /** The sandbox's workdir; read stages files below it (the reference server downloads only from /workspace). */
  readonly workdir: string;
  /** Deadline of an upload or download without a tighter caller deadline, in milliseconds. */
  readonly transferTimeoutMs: number;
  /** Runs one of the scripts of `file-scripts.ts` (as `/bin/sh -c <script> sh <args...>`). */
  runScript(script: string, args: readonly string[], maxOutputBytes: number, call: CallContextV1): Promise<ExecResultV1>;
  /** Turns a failure of a data-plane call into the error to throw (tells a gone sandbox from a starting one). */
  explain(error: unknown, call: CallContextV1): Promise<unknown>;
}

/** Output kept for scripts that only report errors. */
const SMALL_OUTPUT = 64 * 1024;
/** Output kept for a listing (base64 of NUL-separated records). */
const LIST_OUTPUT = 64 * 1024 * 1024;
/** The exit code of a command whose status the server does not report (the reference server v0 always says -1). */
const UNKNOWN_EXIT = -1;
/** Where `read` stages files, below the workdir. */
const STAGING = ".sandkit-staging";
/** Files up to this size are read in one command, as base64 in its output; larger ones are staged and downloaded. */
const INLINE_READ_BYTES = 256 * 1024;
/** Output kept for an inline read: the header and the base64 of `INLINE_READ_BYTES`, with line breaks. */
const INLINE_READ_OUTPUT = 512 * 1024;

/**
 * The file operations of a NoxRunner sandbox (`capabilities.files: "native-archive"`):
 *
 * - `uploadArchive` / `downloadArchive`: the protocol's own tar.gz endpoints, streamed both ways.
 * - `write`: a one-entry tar.gz uploaded into the file's directory (one request, binary-safe,
 *   streamed; the mode travels in the tar header; the server creates the parents).
 * - `read`: one command checks the file and prints its size, and, up to 256 KiB, its content in
 *   base64 (one request). A larger file is hard-linked (or copied) into a private staging
 *   directory below the workdir by that same command, the directory is downloaded as tar.gz and
 *   extracted safely with `maxBytes` as the entry limit, and a last command removes it (three
 *   requests, streamed, whatever the size). Output that comes back cut short or unreadable (a
 *   server that caps or drops command output, like the reference server v0) falls back to staging.
 * - `list`, `remove`, `mkdir`: one shell command each (there is no endpoint for them).
 */
export function createNoxRunnerFiles(host: FilesHost): SandboxFilesV1 {
  const id = host.sandboxId;
  const where = (operation: string): { backend: string; operation: string; sandboxId: string } => ({ backend: BACKEND_NAME, operation, sandboxId: id });

  const transferControl = (call: CallContextV1): RequestControl => ({
    signal: call.signal,
    timeoutMs: call.deadline === undefined ? host.transferTimeoutMs : Math.max(1, Math.min(host.transferTimeoutMs, call.deadline - Date.now())),
  });

  const upload = async (dir: string, archive: AsyncIterable<Uint8Array>, call: CallContextV1): Promise<void> => {
    try {
      await host.client.upload(id, dir, ensureGzip(archive), transferControl(call));
    } catch (error) {
      throw await host.explain(error, call);
    }
  };

  const download = async (dir: string, path: string, call: CallContextV1): Promise<AsyncIterable<Uint8Array>> => {
    let body;
    try {
      body = await host.client.download(id, dir, transferControl(call));
    } catch (error) {
      // A staging directory that is missing means the file the caller named is.
      if (FileNotFoundError.isInstance(error) && path !== dir) throw new FileNotFoundError(`${path} does not exist`, { path, ...where("files.read"), cause: error });
      throw await host.explain(error, call);
    }
    return openDownload(body, path, id);
  };

  /** A script's failure (its exit status) as a typed error. */
  const failure = (operation: string, path: string, result: ExecResultV1): Error => {
    const at = where(`files.${operation}`);
    switch (result.exitCode) {
      case EXIT_NOT_FOUND:
        return new FileNotFoundError(`${path} does not exist`, { path, ...at });
      case EXIT_IS_DIRECTORY:
        return new ValidationError(operation === "remove" ? `${path} is a directory; pass recursive: true to remove it` : `${path} is a directory`, {
          field: "path",
          ...at,
        });
      case EXIT_WRONG_TYPE:
        return new ValidationError(operation === "list" || operation === "mkdir" ? `${path} exists and is not a directory` : `${path} is not a regular file`, {
          field: "path",
          ...at,
        });
      default: {
        const excerpt = redactSecrets(result.stderr.slice(0, 300).replace(/[\u0000-\u001f\u007f]+/g, " ").trim());
        const how = result.timedOut
          ? "did not finish in time"
          : result.exitCode === UNKNOWN_EXIT
            ? "ended without an exit status the server could report"
            : `exited with code ${String(result.exitCode)}`;
        return new ServerError(`files.${operation} of ${path} failed in the sandbox: the shell ${how}${excerpt === "" ? "" : `: ${excerpt}`}`, {
          ...at,
          protocolCode: result.exitCode ?? undefined,
          bodyExcerpt: excerpt === "" ? undefined : excerpt,
          suggestion: "File operations other than upload and download run sh, base64, stat, ln, cp, mkdir and rm in the sandbox; check that the image has them.",
        });
      }
    }
  };

  async function read(path: string, options: { readonly maxBytes: number }, call: CallContextV1): Promise<Uint8Array> {
    const stage = posix.join(host.workdir, STAGING, randomBytes(8).toString("hex"));
    const inlineMax = Math.min(INLINE_READ_BYTES, options.maxBytes);
    const result = await host.runScript(READ_SCRIPT, [path, stage, String(inlineMax), String(options.maxBytes)], INLINE_READ_OUTPUT, call);
    // The reference server v0 reports -1 and no output for every command: stage unconditionally.
    if (result.exitCode === UNKNOWN_EXIT) return readStaged(path, stage, options.maxBytes, call, true);
    if (result.exitCode !== 0) throw failure("read", path, result);
    const newline = result.stdout.indexOf("\n");
    const header = /^(inline|staged|toolarge) (\d{1,16})$/.exec(newline === -1 ? result.stdout : result.stdout.slice(0, newline));
    if (header === null) return readStaged(path, stage, options.maxBytes, call, true);
    const size = Number(header[2]);
    if (header[1] === "toolarge" || size > options.maxBytes) throw tooLarge(path, options.maxBytes);
    if (header[1] === "staged") return readStaged(path, stage, options.maxBytes, call, false);
    if (!result.stdoutTruncated) {
      const bytes = decodeBase64(result.stdout.slice(newline + 1));
      // A length that differs means the output was cut (or the file changed): take the slow, sure way.
      if (bytes !== undefined && bytes.byteLength === size) return bytes;
    }
    return readStaged(path, stage, options.maxBytes, call, true);
  }

  /** Reads a file through a staging directory and the download endpoint; `stageFirst` runs the staging command. */
  async function readStaged(path: string, stage: string, maxBytes: number, call: CallContextV1, stageFirst: boolean): Promise<Uint8Array> {
    try {
      if (stageFirst) {
        const staged = await host.runScript(STAGE_SCRIPT, [path, stage], SMALL_OUTPUT, call);
        if (staged.exitCode !== 0 && staged.exitCode !== UNKNOWN_EXIT) throw failure("read", path, staged);
      }
      const archive = await download(stage, path, call);
      const local = await mkdtemp(join(tmpdir(), "sandkit-noxrunner-read-"));
      try {
        await extractArchive(archive, local, {
          maxEntries: 8,
          maxEntryBytes: maxBytes,
          maxBytes: maxBytes + 64 * 1024,
          hardlinks: "reject",
          preserveMtime: false,
          signal: call.signal,
          operation: "files.read",
        });
        const file = join(local, "f");
        const stats = await lstat(file).catch(() => undefined);
        if (stats === undefined) throw new FileNotFoundError(`${path} does not exist`, { path, ...where("files.read") });
        if (!stats.isFile()) throw new ValidationError(`${path} is not a regular file`, { field: "path", ...where("files.read") });
        const bytes = await readFile(file);
        return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      } catch (error) {
        if (UnsafeArchiveError.isInstance(error) && (error.reason === "entry-too-large" || error.reason === "too-many-bytes")) {
          throw tooLarge(path, maxBytes, error);
        }
        throw error;
      } finally {
        await rm(local, { recursive: true, force: true });
      }
    } finally {
      await unstage(stage, call);
    }
  }

  function tooLarge(path: string, maxBytes: number, cause?: unknown): ValidationError {
    return new ValidationError(`${path} is larger than maxBytes (${maxBytes})`, { field: "maxBytes", ...where("files.read"), cause });
  }

  /**
   * Removes a staging directory, with its own short deadline (the call's may be spent). Waited
   * for, so that no later operation sees it, unless the call was aborted: then in the background.
   */
  async function unstage(stage: string, call: CallContextV1): Promise<void> {
    const signal = AbortSignal.timeout(10_000);
    const cleanup = host.runScript(UNSTAGE_SCRIPT, [stage], SMALL_OUTPUT, { signal, deadline: Date.now() + 10_000 }).then(
      () => undefined,
      () => undefined,
    );
    if (!call.signal.aborted) await cleanup;
  }

  async function write(path: string, data: ByteSourceV1, options: { readonly mode?: number | undefined }, call: CallContextV1): Promise<void> {
    const dir = posix.dirname(path);
    const name = posix.basename(path);
    const mode = options.mode ?? 0o644;
    if (data instanceof Uint8Array) {
      await upload(dir, packOne({ type: "file", path: name, mode, size: data.byteLength, content: data }, call), call);
      return;
    }
    // A tar header states the size first: spool a stream of unknown length to a private temp file.
    const spool = await mkdtemp(join(tmpdir(), "sandkit-noxrunner-write-"));
    try {
      const file = join(spool, "data");
      let size = 0;
      await pipeline(
        (async function* counted(): AsyncGenerator<Uint8Array> {
          for await (const chunk of data) {
            if (!(chunk instanceof Uint8Array)) throw new ValidationError("file content streams must yield Uint8Array chunks", { field: "data", ...where("files.write") });
            size += chunk.byteLength;
            yield chunk;
          }
        })(),
        createWriteStream(file, { mode: 0o600 }),
        { signal: call.signal },
      );
      await upload(dir, packOne({ type: "file", path: name, mode, size, content: () => createReadStream(file) }, call), call);
    } finally {
      await rm(spool, { recursive: true, force: true });
    }
  }

  function packOne(entry: ArchiveFileEntry, call: CallContextV1): AsyncIterable<Uint8Array> {
    return packEntries([entry], { gzip: true, gzipLevel: 1, signal: call.signal, operation: "files.write" });
  }

  async function list(path: string, call: CallContextV1): Promise<FileEntryV1[]> {
    const result = await host.runScript(LIST_SCRIPT, [path], LIST_OUTPUT, call);
    if (result.exitCode !== 0) throw failure("list", path, result);
    if (result.stdoutTruncated) throw new ProtocolError(`files.list of ${path}: the listing was cut short by the server's output limit`, where("files.list"));
    return parseListing(result.stdout, path);
  }

  async function remove(path: string, options: { readonly recursive: boolean }, call: CallContextV1): Promise<void> {
    const result = await host.runScript(REMOVE_SCRIPT, [path, options.recursive ? "1" : "0"], SMALL_OUTPUT, call);
    if (result.exitCode !== 0) throw failure("remove", path, result);
  }

  async function mkdir(path: string, call: CallContextV1): Promise<void> {
    const result = await host.runScript(MKDIR_SCRIPT, [path], SMALL_OUTPUT, call);
    if (result.exitCode !== 0) throw failure("mkdir", path, result);
  }

  async function uploadArchive(dir: string, archive: AsyncIterable<Uint8Array>, call: CallContextV1): Promise<void> {
    await upload(dir, archive, call);
  }

  async function downloadArchive(dir: string, call: CallContextV1): Promise<AsyncIterable<Uint8Array>> {
    return download(dir, dir, call);
  }

  return { read, write, list, remove, mkdir, uploadArchive, downloadArchive };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes base64 a command printed (line breaks allowed); `undefined` when it is not strictly base64. */
function decodeBase64(text: string): Uint8Array | undefined {
  const compact = text.replace(/[\r\n]/g, "");
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) return undefined;
  const bytes = Buffer.from(compact, "base64");
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Parses the output of `LIST_SCRIPT`: hostile input, checked strictly. */
export function parseListing(stdout: string, dir: string): FileEntryV1[] {
  const at = { backend: BACKEND_NAME, operation: "files.list" };
  const compact = stdout.replace(/[\r\n]/g, "");
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) throw new ProtocolError(`files.list of ${dir}: the output is not base64`, at);
  const raw = Buffer.from(compact, "base64");
  const fields: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < raw.byteLength; i += 1) {
    if (raw[i] === 0) {
      fields.push(raw.subarray(start, i));
      start = i + 1;
    }
  }
  if (start !== raw.byteLength || fields.length % 2 !== 0) throw new ProtocolError(`files.list of ${dir}: a listing record is incomplete`, at);
  const entries: FileEntryV1[] = [];
  for (let i = 0; i < fields.length; i += 2) {
    const meta = /^([0-9a-fA-F]{1,8}) (\d{1,20}) (\d{1,20})$/.exec(fields[i]!.toString("utf8"));
    const name = fields[i + 1]!.toString("utf8");
    if (meta === null || name === "" || name === "." || name === ".." || name.includes("/")) {
      throw new ProtocolError(`files.list of ${dir}: a listing record is malformed`, at);
    }
    const rawMode = Number.parseInt(meta[1]!, 16);
    const type = typeOf(rawMode);
    entries.push({
      name,
      path: posix.join(dir, name),
      type,
      size: type === "file" ? Number(meta[2]) : 0,
      mode: rawMode & 0o777,
      modifiedAt: new Date(Number(meta[3]) * 1000),
    });
  }
  return entries;
}

function typeOf(rawMode: number): FileEntryV1["type"] {
  switch (rawMode & 0o170000) {
    case 0o100000:
      return "file";
    case 0o040000:
      return "directory";
    case 0o120000:
      return "symlink";
    default:
      return "other";
  }
}
