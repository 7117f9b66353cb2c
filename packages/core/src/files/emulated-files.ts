import { randomBytes } from "node:crypto";
import { posix } from "node:path";
import { FileNotFoundError } from "../errors/file-not-found-error.js";
import { ProtocolError } from "../errors/protocol-error.js";
import { RequestTimeoutError } from "../errors/request-timeout-error.js";
import { ServerError } from "../errors/server-error.js";
import { ValidationError } from "../errors/validation-error.js";
import type { ExecOptions, ExecResult } from "../exec-types.js";
import { redactSecrets } from "../internal/redact.js";
import type { CallContextV1 } from "../spec/v1/call-context.js";
import type { BackendCapabilitiesV1 } from "../spec/v1/capabilities.js";
import type { ByteSourceV1, SandboxFilesV1 } from "../spec/v1/files.js";
import type { FileEntryV1 } from "../spec/v1/types.js";

/** Runs a command in the sandbox, as `Sandbox.exec` does. */
export type ExecFunction = (argv: readonly string[], options: ExecOptions) => Promise<ExecResult>;

/** Raw bytes per write request when the data travels in argv: 192 KiB, i.e. 256 KiB of base64. */
const ARGV_CHUNK = 192 * 1024;
/** Largest single argv string (Linux refuses one argument over 128 KiB). */
const ARGV_PIECE = 96 * 1024;
/** Raw bytes per write request when the data travels on stdin: 768 KiB, i.e. 1 MiB of base64. */
const STDIN_CHUNK = 768 * 1024;
/** `dd` block size for reads. */
const READ_BLOCK = 64 * 1024;
/** Raw bytes per read request (a multiple of `READ_BLOCK`). */
const READ_CHUNK = 12 * READ_BLOCK;
/** Output kept for commands that only report errors. */
const SMALL_OUTPUT = 64 * 1024;
/** Output kept for a listing (base64 of NUL-separated records). */
const LIST_OUTPUT = 64 * 1024 * 1024;

/**
 * Exit codes the scripts below use to say what happened; any other failure is reported with the
 * command's stderr.
 */
const EXIT_NOT_FOUND = 3;
const EXIT_IS_DIRECTORY = 4;
const EXIT_WRONG_TYPE = 5;

/** Writes one chunk: `dir tmp target first last mode source [base64 pieces...]`. */
const WRITE_SCRIPT = `d=$1 t=$2 p=$3 first=$4 last=$5 mode=$6 src=$7
shift 7
if [ "$first" = 1 ]; then
  if [ -d "$p" ]; then exit ${EXIT_IS_DIRECTORY}; fi
  mkdir -p -- "$d" || exit 1
  : > "$t" || exit 1
fi
case $src in
  argv) for c in "$@"; do printf '%s' "$c"; done | base64 -d >> "$t" ;;
  stdin) base64 -d >> "$t" ;;
  *) true ;;
esac || { rm -f -- "$t"; exit 1; }
if [ "$last" = 1 ]; then
  chmod "$mode" "$t" && mv -f -- "$t" "$p" || { rm -f -- "$t"; exit 1; }
fi`;

/**
 * Reads one chunk: `path skipBlocks countBlocks blockSize maxBytes`. Prints the file size on the
 * first line, then the chunk in base64 (nothing when the size is past maxBytes). The status of
 * `dd` comes back through fd 3 because a pipeline only reports its last command's.
 */
const READ_SCRIPT = `p=$1
if [ ! -e "$p" ]; then exit ${EXIT_NOT_FOUND}; fi
if [ -d "$p" ]; then exit ${EXIT_IS_DIRECTORY}; fi
if [ ! -f "$p" ]; then exit ${EXIT_WRONG_TYPE}; fi
size=$(wc -c < "$p") || exit 1
size=$(printf '%s' $size)
printf '%s\\n' "$size"
if [ "$size" -gt "$5" ]; then exit 0; fi
exec 4>&1
st=$( { { dd if="$p" bs="$4" skip="$2" count="$3" 2>/dev/null; echo $? >&3; } | base64 >&4; } 3>&1 )
if [ "$st" != 0 ]; then echo "reading $p failed" >&2; exit 1; fi`;

/** Lists a directory as base64 of NUL-separated `rawmode size mtime`, `name` pairs. */
const LIST_SCRIPT = `d=$1
if [ ! -e "$d" ]; then exit ${EXIT_NOT_FOUND}; fi
if [ ! -d "$d" ]; then exit ${EXIT_WRONG_TYPE}; fi
cd -- "$d" || exit 1
for f in .[!.]* ..?* *; do
  if [ -e "$f" ] || [ -L "$f" ]; then
    m=$(stat -c '%f %s %Y' -- "$f" 2>/dev/null) || continue
    printf '%s\\0%s\\0' "$m" "$f"
  fi
done | base64`;

/** Removes `path`; `recursive` is 1 or 0. */
const REMOVE_SCRIPT = `p=$1
if [ ! -e "$p" ] && [ ! -L "$p" ]; then exit 0; fi
if [ "$2" = 1 ]; then rm -rf -- "$p" || exit 1
elif [ -d "$p" ] && [ ! -L "$p" ]; then exit ${EXIT_IS_DIRECTORY}
else rm -f -- "$p" || exit 1
fi`;

/** Creates a directory and its parents. */
const MKDIR_SCRIPT = `p=$1
if [ -e "$p" ] && [ ! -d "$p" ]; then exit ${EXIT_WRONG_TYPE}; fi
mkdir -p -- "$p" || exit 1`;

const TOOLS_HINT = "File operations on this backend run through sh, base64, mkdir, mv, rm, stat, wc and dd inside the sandbox; check that the image has them.";

/**
 * File operations built on `exec` and POSIX shell tools inside the sandbox (`sh`, `base64`,
 * `mkdir`, `mv`, `rm`, `chmod`, `stat`, `wc`, `dd`), for backends that declare
 * `files: "emulated"`.
 *
 * - Binary-safe: content travels as base64, in chunks, on stdin when the backend supports it and
 *   otherwise in argv (at most 256 KiB per command, no argument over 96 KiB).
 * - Writes go to a temporary name in the same directory and are renamed into place at the end, so
 *   a reader never sees half a file.
 * - Reads check the size first and refuse files over `maxBytes`, then read in 768 KiB chunks.
 * - Listings are NUL-separated records, so any name survives (spaces, newlines, leading dashes).
 * - Paths are passed as arguments, never spliced into the script.
 *
 * A missing path is `FileNotFoundError`; a directory where a file is expected (or the reverse) is
 * `ValidationError`; any other failure inside the sandbox is `ServerError` with the stderr excerpt.
 */
export function createEmulatedFiles(exec: ExecFunction, capabilities: BackendCapabilitiesV1): SandboxFilesV1 {
  const useStdin = capabilities.exec.stdin;

  async function run(
    operation: string,
    path: string,
    script: string,
    args: readonly string[],
    call: CallContextV1,
    extra: { readonly stdin?: string; readonly maxOutputBytes?: number } = {},
  ): Promise<ExecResult> {
    const remaining = call.deadline === undefined ? undefined : Math.max(1, call.deadline - Date.now());
    const result = await exec(["sh", "-c", script, "sh", ...args], {
      signal: call.signal,
      timeoutMs: remaining,
      stdin: extra.stdin,
      maxOutputBytes: extra.maxOutputBytes ?? SMALL_OUTPUT,
    });
    if (result.timedOut) {
      throw new RequestTimeoutError(`files.${operation} of ${path} did not finish within its deadline`, {
        operation: `files.${operation}`,
        timeoutMs: remaining,
      });
    }
    return result;
  }

  function failure(operation: string, path: string, result: ExecResult): Error {
    const where = { operation: `files.${operation}` };
    switch (result.exitCode) {
      case EXIT_NOT_FOUND:
        return new FileNotFoundError(`${path} does not exist`, { path, ...where });
      case EXIT_IS_DIRECTORY:
        return new ValidationError(
          operation === "remove" ? `${path} is a directory; pass recursive: true to remove it` : `${path} is a directory`,
          { field: "path", ...where },
        );
      case EXIT_WRONG_TYPE:
        return new ValidationError(
          operation === "read" ? `${path} is not a regular file` : `${path} exists and is not a directory`,
          { field: "path", ...where },
        );
      default: {
        const excerpt = stderrExcerpt(result.stderr);
        const how = result.exitCode === null ? `was killed${result.signal === null ? "" : ` by ${result.signal}`}` : `exited with code ${result.exitCode}`;
        return new ServerError(`files.${operation} of ${path} failed in the sandbox (the shell ${how})${excerpt === "" ? "" : `: ${firstLine(excerpt)}`}`, {
          ...where,
          protocolCode: result.exitCode ?? undefined,
          bodyExcerpt: excerpt,
          suggestion: TOOLS_HINT,
        });
      }
    }
  }

  async function read(path: string, options: { readonly maxBytes: number }, call: CallContextV1): Promise<Uint8Array> {
    const maxBytes = options.maxBytes;
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (let block = 0; ; block += READ_CHUNK / READ_BLOCK) {
      const args = [path, String(block), String(READ_CHUNK / READ_BLOCK), String(READ_BLOCK), String(maxBytes)];
      const result = await run("read", path, READ_SCRIPT, args, call, { maxOutputBytes: READ_CHUNK * 2 + 1024 });
      if (result.exitCode !== 0) throw failure("read", path, result);
      if (result.stdoutTruncated) throw protocolError("read", path, "the output was cut short");
      const newline = result.stdout.indexOf("\n");
      const header = newline === -1 ? result.stdout : result.stdout.slice(0, newline);
      if (!/^\d{1,16}$/.test(header)) throw protocolError("read", path, "the size line is not a number");
      const size = Number(header);
      if (size > maxBytes) throw tooLarge(path, size, maxBytes);
      const bytes = decodeBase64(newline === -1 ? "" : result.stdout.slice(newline + 1), "read", path);
      if (bytes.byteLength > READ_CHUNK) throw protocolError("read", path, "a chunk is larger than asked for");
      total += bytes.byteLength;
      // The file may grow between chunks: the limit holds on what arrives.
      if (total > maxBytes) throw tooLarge(path, total, maxBytes);
      chunks.push(bytes);
      if (bytes.byteLength < READ_CHUNK || total >= size) break;
    }
    return concat(chunks, total);
  }

  async function write(path: string, data: ByteSourceV1, options: { readonly mode?: number | undefined }, call: CallContextV1): Promise<void> {
    const dir = posix.dirname(path);
    const tmp = posix.join(dir, `.sandkit-${randomBytes(8).toString("hex")}.part`);
    const mode = ((options.mode ?? 0o644) & 0o7777).toString(8);
    const chunkSize = useStdin ? STDIN_CHUNK : ARGV_CHUNK;
    let first = true;
    let started = false;
    let finished = false;
    const send = async (chunk: Uint8Array, last: boolean): Promise<void> => {
      const encoded = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("base64");
      const source = chunk.byteLength === 0 ? "none" : useStdin ? "stdin" : "argv";
      const args = [dir, tmp, path, first ? "1" : "0", last ? "1" : "0", mode, source];
      if (source === "argv") for (let i = 0; i < encoded.length; i += ARGV_PIECE) args.push(encoded.slice(i, i + ARGV_PIECE));
      started = true;
      const result = await run("write", path, WRITE_SCRIPT, args, call, source === "stdin" ? { stdin: encoded } : {});
      if (result.exitCode !== 0) throw failure("write", path, result);
      first = false;
      if (last) finished = true;
    };
    try {
      let pending: Uint8Array | undefined;
      for await (const chunk of rechunk(data, chunkSize)) {
        if (pending !== undefined) await send(pending, false);
        pending = chunk;
      }
      await send(pending ?? new Uint8Array(0), true);
    } finally {
      if (started && !finished) {
        // Best effort: remove the partial temp file, without the caller's (possibly aborted) signal.
        exec(["rm", "-f", "--", tmp], { timeoutMs: 10_000, maxOutputBytes: 1024 }).catch(() => undefined);
      }
    }
  }

  async function list(path: string, call: CallContextV1): Promise<FileEntryV1[]> {
    const result = await run("list", path, LIST_SCRIPT, [path], call, { maxOutputBytes: LIST_OUTPUT });
    if (result.exitCode === EXIT_WRONG_TYPE) {
      throw new ValidationError(`${path} is not a directory`, { field: "path", operation: "files.list" });
    }
    if (result.exitCode !== 0) throw failure("list", path, result);
    if (result.stdoutTruncated) throw protocolError("list", path, "the listing was cut short");
    const raw = decodeBase64(result.stdout, "list", path);
    const fields = splitNul(raw);
    if (fields.length % 2 !== 0) throw protocolError("list", path, "a listing record is incomplete");
    const decoder = new TextDecoder();
    const entries: FileEntryV1[] = [];
    for (let i = 0; i < fields.length; i += 2) {
      const meta = /^([0-9a-fA-F]{1,8}) (\d{1,20}) (\d{1,20})$/.exec(decoder.decode(fields[i]));
      const name = decoder.decode(fields[i + 1]);
      if (meta === null || name === "") throw protocolError("list", path, "a listing record is malformed");
      const rawMode = Number.parseInt(meta[1]!, 16);
      const type = typeOf(rawMode);
      entries.push({
        name,
        path: posix.join(path, name),
        type,
        size: type === "file" ? Number(meta[2]) : 0,
        mode: rawMode & 0o777,
        modifiedAt: new Date(Number(meta[3]) * 1000),
      });
    }
    return entries;
  }

  async function remove(path: string, options: { readonly recursive: boolean }, call: CallContextV1): Promise<void> {
    const result = await run("remove", path, REMOVE_SCRIPT, [path, options.recursive ? "1" : "0"], call);
    if (result.exitCode !== 0) throw failure("remove", path, result);
  }

  async function mkdir(path: string, call: CallContextV1): Promise<void> {
    const result = await run("mkdir", path, MKDIR_SCRIPT, [path], call);
    if (result.exitCode !== 0) throw failure("mkdir", path, result);
  }

  return { read, write, list, remove, mkdir };
}

/** Regroups a byte source into chunks of exactly `size` bytes (the last may be shorter). */
async function* rechunk(source: ByteSourceV1, size: number): AsyncGenerator<Uint8Array> {
  if (source instanceof Uint8Array) {
    for (let offset = 0; offset < source.byteLength; offset += size) yield source.subarray(offset, offset + size);
    return;
  }
  let buffer = new Uint8Array(size);
  let filled = 0;
  for await (const chunk of source) {
    if (!(chunk instanceof Uint8Array)) {
      throw new ValidationError("file content streams must yield Uint8Array chunks", { field: "data", operation: "files.write" });
    }
    let offset = 0;
    while (offset < chunk.byteLength) {
      const n = Math.min(size - filled, chunk.byteLength - offset);
      buffer.set(chunk.subarray(offset, offset + n), filled);
      filled += n;
      offset += n;
      if (filled === size) {
        yield buffer;
        buffer = new Uint8Array(size);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield buffer.subarray(0, filled);
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

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes base64 the sandbox printed, refusing anything that is not strictly base64. */
function decodeBase64(text: string, operation: string, path: string): Uint8Array {
  const compact = text.replace(/[\r\n]/g, "");
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) throw protocolError(operation, path, "the output is not base64");
  const buffer = Buffer.from(compact, "base64");
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function splitNul(bytes: Uint8Array): Uint8Array[] {
  const fields: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < bytes.byteLength; i += 1) {
    if (bytes[i] === 0) {
      fields.push(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  if (start !== bytes.byteLength) fields.push(bytes.subarray(start));
  return fields;
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function tooLarge(path: string, size: number, maxBytes: number): ValidationError {
  return new ValidationError(`${path} is ${size} bytes, more than maxBytes (${maxBytes})`, { field: "maxBytes", operation: "files.read" });
}

function protocolError(operation: string, path: string, what: string): ProtocolError {
  return new ProtocolError(`files.${operation} of ${path}: ${what}`, { operation: `files.${operation}` });
}

/** The start of a hostile stderr: bounded, control characters escaped, secrets redacted. */
function stderrExcerpt(stderr: string): string {
  const cut = stderr.length > 512 ? `${stderr.slice(0, 512)}...` : stderr;
  return redactSecrets(cut.trim().replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`));
}

function firstLine(text: string): string {
  const line = text.split("\n", 1)[0] ?? "";
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}
