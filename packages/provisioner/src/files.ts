import { posix } from "node:path";
import {
  type ByteSourceV1,
  type CallContextV1,
  type ExecResultV1,
  type FileEntryV1,
  FileNotFoundError,
  redactSecrets,
  type SandboxFilesV1,
  ServerError,
  ValidationError,
} from "@sandkit/core";
import type { RequestControl } from "./control-client.js";
import { BACKEND_NAME } from "./constants.js";
import type { ListedFile, SandboxApi } from "./sandbox-client.js";

/** What the file operations need from their connection. */
export interface FilesHost {
  readonly api: SandboxApi;
  readonly sandboxId: string;
  /** Deadline of a read or write without a tighter caller deadline, in milliseconds. */
  readonly transferTimeoutMs: number;
  /** Runs `/bin/sh -c <script> sh <args...>` in the sandbox. */
  runScript(script: string, args: readonly string[], call: CallContextV1): Promise<ExecResultV1>;
  /** Turns a failure of a data-plane call into the error to throw (tells a lost pod from a hiccup). */
  explain(error: unknown, call: CallContextV1): Promise<unknown>;
}

/** Exit status of the scripts below for "this is a directory" (remove without `recursive`). */
const EXIT_IS_DIRECTORY = 21;
/** Exit status of the scripts below for "exists but is not a directory" (mkdir). */
const EXIT_NOT_DIRECTORY = 20;

/** Removes `$1`; a directory only when `$2` is 1. A missing path is success. */
const REMOVE_SCRIPT = `if [ ! -e "$1" ] && [ ! -L "$1" ]; then exit 0; fi
if [ -d "$1" ] && [ ! -L "$1" ]; then
  if [ "$2" = 1 ]; then exec rm -rf -- "$1"; else exit ${EXIT_IS_DIRECTORY}; fi
fi
exec rm -f -- "$1"`;

/** Creates `$1` and its parents. */
const MKDIR_SCRIPT = `if [ -e "$1" ] && [ ! -d "$1" ]; then exit ${EXIT_NOT_DIRECTORY}; fi
exec mkdir -p -- "$1"`;

/** Sets the mode `$2` (octal) on `$1`. */
const CHMOD_SCRIPT = `exec chmod -- "$2" "$1"`;

/**
 * Raw bytes per `/v1/file/write` request (about 700 KB of base64 JSON): the AIO server caps JSON
 * bodies (the compatible server at 1 MiB by default), so larger files go as a write and appends.
 */
export const WRITE_CHUNK_BYTES = 512 * 1024;

/** Cuts a byte source into chunks of at most `size` bytes, reading it lazily (memory stays bounded). */
export async function* chunked(data: ByteSourceV1, size: number): AsyncGenerator<Uint8Array> {
  const source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> = data instanceof Uint8Array ? [data] : data;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  for await (const piece of source) {
    let rest = piece;
    while (rest.byteLength > 0) {
      const take = Math.min(size - pendingBytes, rest.byteLength);
      pending.push(rest.subarray(0, take));
      pendingBytes += take;
      rest = rest.subarray(take);
      if (pendingBytes === size) {
        yield Buffer.concat(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
      }
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}

/** Reads a permission string as bits: octal (`"644"`, `"0o755"`) or `ls` style (`"-rw-r--r--"`). */
export function parseMode(permissions: string | undefined): number | undefined {
  if (permissions === undefined) return undefined;
  const octal = /^(?:0o?)?([0-7]{3,4})$/.exec(permissions);
  if (octal !== null) return Number.parseInt(octal[1]!, 8);
  const symbolic = /^[-dlcbps]?([r-][w-][xsS-][r-][w-][xsS-][r-][w-][xtT-])$/.exec(permissions);
  if (symbolic === null) return undefined;
  let mode = 0;
  for (const char of symbolic[1]!) mode = (mode << 1) | (char === "-" || char === "S" || char === "T" ? 0 : 1);
  return mode;
}

/** Reads `modified_time` leniently: an ISO date, or a Unix time in seconds. */
export function parseModified(value: unknown): Date | undefined {
  if (typeof value === "number" && Number.isFinite(value) && value > 0) return new Date(value < 1e11 ? value * 1000 : value);
  if (typeof value === "string" && value.length <= 64) {
    const time = Date.parse(value);
    return Number.isNaN(time) ? undefined : new Date(time);
  }
  return undefined;
}

/** A listing entry in sandkit's form; names that leave the directory are dropped (hostile input). */
export function toEntry(dir: string, file: ListedFile): FileEntryV1 | undefined {
  const name = file.name;
  if (name === "" || name === "." || name === ".." || name.includes("/") || name.includes("\0")) return undefined;
  const mode = parseMode(file.permissions);
  const modifiedAt = parseModified(file.modified_time);
  const size = !file.is_directory && file.size !== undefined && Number.isSafeInteger(file.size) && file.size >= 0 ? file.size : 0;
  return {
    name,
    path: posix.join(dir, name),
    type: file.is_directory ? "directory" : "file",
    size,
    ...(mode === undefined ? {} : { mode }),
    ...(modifiedAt === undefined ? {} : { modifiedAt }),
  };
}

/**
 * The file operations of an AIO sandbox (`capabilities.files: "per-file"`; core moves directories
 * file by file with them):
 *
 * - `read`: `GET /v1/file/download` (binary-safe, streamed; stopped past `maxBytes`).
 * - `write`: `POST /v1/file/write` with base64 content (binary-safe), in chunks of 512 KiB read
 *   lazily from the source: the first replaces the file, the others are sent with `append: true`
 *   (never repeated). When the parent directory is missing (`not_found`), it is created and the
 *   first write is sent again; a mode is set with `chmod`.
 * - `list`: `POST /v1/file/list` (not recursive, hidden files included). The API does not mark
 *   symbolic links: they are listed as files or directories.
 * - `remove`, `mkdir`: one shell command each (the API has no endpoint for them).
 */
export function createSandboxFiles(host: FilesHost): SandboxFilesV1 {
  const id = host.sandboxId;
  const where = (operation: string): { backend: string; operation: string; sandboxId: string } => ({ backend: BACKEND_NAME, operation, sandboxId: id });
  const control = (call: CallContextV1): RequestControl => ({
    signal: call.signal,
    timeoutMs: call.deadline === undefined ? host.transferTimeoutMs : Math.max(1, Math.min(host.transferTimeoutMs, call.deadline - Date.now())),
  });

  const script = async (operation: string, path: string, text: string, args: readonly string[], call: CallContextV1): Promise<void> => {
    const result = await host.runScript(text, args, call);
    if (result.exitCode === 0) return;
    if (result.exitCode === EXIT_IS_DIRECTORY) throw new ValidationError(`${path} is a directory; pass recursive: true to remove it`, { field: "path", ...where(`files.${operation}`) });
    if (result.exitCode === EXIT_NOT_DIRECTORY) throw new ValidationError(`${path} exists and is not a directory`, { field: "path", ...where(`files.${operation}`) });
    const excerpt = redactSecrets(result.stderr.slice(0, 300).replace(/[\u0000-\u001f\u007f]+/g, " ").trim());
    throw new ServerError(`files.${operation} of ${path} failed in the sandbox: ${result.timedOut ? "the command did not finish in time" : `exit code ${String(result.exitCode)}`}${excerpt === "" ? "" : `: ${excerpt}`}`, {
      ...where(`files.${operation}`),
      bodyExcerpt: excerpt === "" ? undefined : excerpt,
    });
  };

  async function read(path: string, options: { readonly maxBytes: number }, call: CallContextV1): Promise<Uint8Array> {
    let download;
    try {
      download = await host.api.download(path, control(call));
    } catch (error) {
      throw await host.explain(error, call);
    }
    const tooLarge = (): ValidationError =>
      new ValidationError(`${path} is larger than maxBytes (${options.maxBytes})`, { field: "maxBytes", ...where("files.read") });
    if (download.length !== undefined && download.length > options.maxBytes) {
      download.body.destroy();
      throw tooLarge();
    }
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of download.body as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > options.maxBytes) {
          download.body.destroy();
          throw tooLarge();
        }
        chunks.push(chunk);
      }
    } catch (error) {
      throw await host.explain(error, call);
    }
    return Buffer.concat(chunks, total);
  }

  async function write(path: string, data: ByteSourceV1, options: { readonly mode?: number | undefined }, call: CallContextV1): Promise<void> {
    let first = true;
    const send = async (bytes: Uint8Array, append: boolean): Promise<void> => {
      try {
        await host.api.write(path, bytes, append, control(call));
      } catch (error) {
        if (append || !FileNotFoundError.isInstance(error)) throw await host.explain(error, call);
        // The parent is missing: create it, then write again (a replacing write is repeatable).
        await script("write", path, MKDIR_SCRIPT, [posix.dirname(path)], call);
        try {
          await host.api.write(path, bytes, false, control(call));
        } catch (again) {
          throw await host.explain(again, call);
        }
      }
    };
    for await (const bytes of chunked(data, WRITE_CHUNK_BYTES)) {
      await send(bytes, !first);
      first = false;
    }
    if (first) await send(new Uint8Array(0), false);
    if (options.mode !== undefined) await script("write", path, CHMOD_SCRIPT, [path, (options.mode & 0o7777).toString(8)], call);
  }

  async function list(path: string, call: CallContextV1): Promise<FileEntryV1[]> {
    let files;
    try {
      files = await host.api.list(path, control(call));
    } catch (error) {
      throw await host.explain(error, call);
    }
    const entries: FileEntryV1[] = [];
    for (const file of files) {
      const entry = toEntry(path, file);
      if (entry !== undefined) entries.push(entry);
    }
    return entries;
  }

  return {
    read,
    write,
    list,
    remove: (path, options, call) => script("remove", path, REMOVE_SCRIPT, [path, options.recursive ? "1" : "0"], call),
    mkdir: (path, call) => script("mkdir", path, MKDIR_SCRIPT, [path], call),
  };
}
