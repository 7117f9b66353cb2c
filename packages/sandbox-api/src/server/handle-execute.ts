import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { join, posix } from "node:path";
import { performance } from "node:perf_hooks";
import {
  type CallContextV1,
  createCallContext,
  extractArchive,
  FileNotFoundError,
  type OwnedCallContext,
  packDirectory,
  type SandboxConnectionV1,
  UnsafeArchiveError,
} from "@sandkit/core";
import { copyStagingIntoSandbox, openSandboxArchive, sendJson } from "@sandkit/core/server-kit";
import { describe, type RequestContext, type ServerContext } from "./context.js";
import type { StoredEnvironment } from "./environment-store.js";
import { checkConfig, type ExecuteConfig, parseConfigObject } from "./execute-config.js";
import { readExecuteForm } from "./form-body.js";
import { HttpError } from "./http-io.js";
import { pythonRepr } from "./python-format.js";
import { tolerateRootEntry } from "./root-entry.js";
import { runChain, type ExecutionEntry } from "./run-chain.js";

/** The response of `POST /execute/` (§6). */
export interface ExecuteResponseBody {
  /** 0, the exit code that stopped the chain, or -1 (unknown error), -2 (timeout), -3 (result missing), -4 (result not UTF-8). */
  readonly status: number;
  readonly execution: readonly ExecutionEntry[];
  /** Seconds from the unpacking of the environment to just before the save. */
  readonly total_time: number;
  /** The saved environment (only with `save`). */
  readonly environment?: string;
  /** When the saved environment expires, ISO 8601 in UTC with `+00:00` (only with `save`). */
  readonly expire?: string;
  /** The text of `result_path` (only when it was asked for and read). */
  readonly result?: string;
}

/** Time the sandbox's creation, the copy in and the save may take, on top of the command budget. */
const HOUSEKEEPING_MS = 5 * 60_000;
/** Time a destroy may take. */
const DESTROY_TIMEOUT_MS = 60_000;

/**
 * `POST /execute/`, in the upstream order (§3.1): the form (`config` field, optional
 * `environment` file part), `config` as a JSON object, the stored base environment (`404`), the
 * commands and the other fields (`400`), the uploaded archive (checked by the core archive layer
 * into a private staging directory, on top of the stored environment so the upload wins: `400`
 * when it is refused), a pool slot (`503` after `poolWaitMs`). Then a fresh sandbox: the tree is
 * copied in, the chain runs, the result file is read inside the sandbox, the working directory
 * is saved under a new UUID4 when asked, and the sandbox is destroyed. `200` whatever the
 * commands did.
 */
export async function handleExecute(ctx: ServerContext, request: RequestContext): Promise<void> {
  const { options } = ctx;
  const staging = await mkdtemp(join(options.stagingDir, "sandkit-sandbox-api-"));
  try {
    const archivePath = join(staging, "upload.tgz");
    const form = await readExecuteForm(request.req, archivePath, { maxBodyBytes: options.maxUploadBytes, maxFieldBytes: options.maxConfigBytes });
    const raw = parseConfigObject(form.config);
    let base: StoredEnvironment | undefined;
    if (Object.hasOwn(raw, "environment") && raw.environment !== null) {
      base = await ctx.environments.find(raw.environment);
      const shown = typeof raw.environment === "string" ? raw.environment : pythonRepr(raw.environment);
      if (base === undefined) throw new HttpError(404, `No environment with UUID '${shown}' found`);
    }
    const config = checkConfig(raw);
    const tree = join(staging, "tree");
    await mkdir(tree);
    const signal = AbortSignal.any([request.clientGone, ctx.closing]);
    if (base !== undefined) await unpack(ctx, createReadStream(base.path), tree, signal);
    if (form.archive) {
      const upload = tolerateRootEntry(createReadStream(archivePath));
      await unpack(ctx, upload.chunks, tree, signal, upload.corruptGzip);
    }
    await rm(archivePath, { force: true });
    const release = await ctx.pool.acquire(options.poolWaitMs, signal);
    if (release === undefined) {
      if (ctx.closing.aborted) throw new HttpError(503, "The server is shutting down.");
      throw new HttpError(503, "Sandbox overloaded, retry after a few seconds.");
    }
    let body: ExecuteResponseBody;
    try {
      body = await execute(ctx, request, config, tree, staging);
    } finally {
      release();
    }
    sendJson(request.res, 200, body);
  } finally {
    await rm(staging, { recursive: true, force: true, maxRetries: 2 });
  }
}

/** Unpacks a stored or uploaded archive into the tree; a refused one is `400`. */
async function unpack(ctx: ServerContext, source: AsyncIterable<Uint8Array>, tree: string, signal: AbortSignal, corruptGzip = (): boolean => false): Promise<void> {
  try {
    await extractArchive(source, tree, {
      maxBytes: ctx.options.maxExtractedBytes,
      maxEntryBytes: ctx.options.maxExtractedBytes,
      maxEntries: ctx.options.maxEntries,
      hardlinks: "within",
      signal,
      operation: "execute",
    });
  } catch (error) {
    if (UnsafeArchiveError.isInstance(error)) throw new HttpError(400, `Invalid environment archive: ${REASONS[error.reason]}`);
    if (corruptGzip()) throw new HttpError(400, `Invalid environment archive: ${REASONS.corrupt}`);
    throw error;
  }
}

/** Runs one execute in a fresh sandbox, always destroyed afterwards. */
async function execute(ctx: ServerContext, request: RequestContext, config: ExecuteConfig, tree: string, staging: string): Promise<ExecuteResponseBody> {
  const { options, backend } = ctx;
  const call = createCallContext({ signal: request.clientGone, owner: ctx.closing, timeoutMs: options.budgetMs + HOUSEKEEPING_MS });
  let connection: SandboxConnectionV1 | undefined;
  try {
    connection = await backend.create({ labels: { "sandkit.server": "sandbox-api" } }, call);
    ctx.sandboxes.add(connection.info.id);
    const workdir = connection.info.workdir;
    const started = performance.now();
    if ((await readdir(tree)).length > 0) await copyStagingIntoSandbox(connection, tree, workdir, call);
    const chain = await runChain(
      connection,
      config.commands,
      {
        workdir,
        env: config.env,
        budgetSeconds: options.budgetMs / 1000,
        maxOutputBytes: options.maxOutputBytes,
        onFailure: (error) => options.logger.warn?.("a command could not be run", { error: describe(error) }),
      },
      call,
    );
    let status = chain.status;
    let result: string | undefined;
    if (config.resultPath !== undefined) {
      const read = await readResult(ctx, connection, posix.join(workdir, config.resultPath), call);
      if (typeof read === "number") status = read;
      else result = read;
    }
    const totalTime = (performance.now() - started) / 1000;
    let saved: StoredEnvironment | undefined;
    if (config.save) saved = await save(ctx, connection, workdir, join(staging, "save"), call);
    return {
      status,
      execution: chain.execution,
      total_time: totalTime,
      ...(saved === undefined ? {} : { environment: saved.uuid, expire: isoUtc(saved.expiresAt) }),
      ...(result === undefined ? {} : { result }),
    };
  } catch (error) {
    if (error instanceof HttpError) throw error;
    if (ctx.closing.aborted) throw new HttpError(503, "The server is shutting down.");
    if (request.clientGone.aborted) throw new HttpError(400, "The request was aborted.");
    throw call.fail(error, { operation: "execute" });
  } finally {
    call.dispose();
    if (connection !== undefined) await destroy(ctx, connection);
  }
}

/**
 * The result file's text (line endings translated as Python's text mode does), or -3 when it is
 * missing (or not a readable file), or -4 when it is not UTF-8 or larger than `maxResultBytes`.
 * Read inside the sandbox through the backend, never from a host path.
 */
async function readResult(ctx: ServerContext, connection: SandboxConnectionV1, path: string, call: OwnedCallContext): Promise<string | -3 | -4> {
  const files = connection.files;
  if (files === undefined) return -3;
  let bytes: Uint8Array;
  try {
    bytes = await files.read(path, { maxBytes: ctx.options.maxResultBytes }, call);
  } catch (error) {
    if (call.signal.aborted) throw error;
    if (FileNotFoundError.isInstance(error)) return -3;
    const entries = await files.list(posix.dirname(path), call).catch(() => undefined);
    const entry = entries?.find((e) => e.path === path || e.name === posix.basename(path));
    if (entry?.type === "file" && entry.size > ctx.options.maxResultBytes) return -4;
    ctx.options.logger.warn?.("reading the result file failed", { error: describe(error) });
    return -3;
  }
  try {
    const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    return text.replace(/\r\n?/g, "\n");
  } catch {
    return -4;
  }
}

/**
 * Saves the sandbox's working directory: its archive (hostile input) is unpacked and checked on
 * this host, then packed again with plain relative names (§7.2) and stored under a new UUID4.
 */
async function save(ctx: ServerContext, connection: SandboxConnectionV1, workdir: string, dir: string, call: CallContextV1): Promise<StoredEnvironment> {
  const { options } = ctx;
  const unpackSaved = async (source: SandboxConnectionV1): Promise<void> => {
    const download = await openSandboxArchive(source, workdir, { maxFileBytes: options.maxExtractedBytes, maxEntries: options.maxEntries, operation: "save" }, call);
    await extractArchive(download, dir, {
      maxBytes: options.maxExtractedBytes,
      maxEntryBytes: options.maxExtractedBytes,
      maxEntries: options.maxEntries,
      hardlinks: "within",
      specialFiles: "skip",
      signal: call.signal,
      operation: "save",
    });
  };
  try {
    await unpackSaved(connection);
  } catch (error) {
    // The backend's own archive carried a link leading out of the working directory (refused by
    // the check). Saved again through the per-file walk, which leaves such links out.
    if (!UnsafeArchiveError.isInstance(error) || error.reason !== "link-escape" || connection.files?.downloadArchive === undefined) throw error;
    options.logger.warn?.("a link leading out of the working directory was left out of a saved environment", {});
    await rm(dir, { recursive: true, force: true });
    await unpackSaved(withoutNativeDownload(connection));
  }
  return ctx.environments.save(packDirectory(dir, { gzip: true, gzipLevel: 6, symlinks: "preserve", signal: call.signal, operation: "save" }), call.signal);
}

/** The connection with its file API but without `downloadArchive`, so downloads take the per-file walk. */
function withoutNativeDownload(connection: SandboxConnectionV1): SandboxConnectionV1 {
  const files = connection.files!;
  return {
    info: connection.info,
    exec: (request, call) => connection.exec(request, call),
    files: {
      read: (path, options, call) => files.read(path, options, call),
      write: (path, data, options, call) => files.write(path, data, options, call),
      list: (path, call) => files.list(path, call),
      remove: (path, options, call) => files.remove(path, options, call),
      mkdir: (path, call) => files.mkdir(path, call),
    },
  };
}

async function destroy(ctx: ServerContext, connection: SandboxConnectionV1): Promise<void> {
  const id = connection.info.id;
  const call = createCallContext({ timeoutMs: DESTROY_TIMEOUT_MS });
  try {
    await connection.release?.();
    await ctx.backend.destroy(id, call);
    ctx.sandboxes.delete(id);
  } catch (error) {
    // Left in `ctx.sandboxes`: close() tries again.
    ctx.options.logger.error?.("destroying a sandbox failed", { sandbox: id, error: describe(error) });
  } finally {
    call.dispose();
  }
}

/** ISO 8601 in UTC the way Python's aware `datetime.isoformat()` writes it: `2020-10-01T12:19:36.123000+00:00`. */
export function isoUtc(date: Date): string {
  const iso = date.toISOString(); // 2020-10-01T12:19:36.123Z
  const ms = date.getUTCMilliseconds();
  return ms === 0 ? `${iso.slice(0, 19)}+00:00` : `${iso.slice(0, 19)}.${String(ms * 1000).padStart(6, "0")}+00:00`;
}

/** What each refusal reason means, in words that name no path. */
const REASONS: Readonly<Record<UnsafeArchiveError["reason"], string>> = {
  "absolute-path": "an entry has an absolute path",
  "path-traversal": "an entry path escapes the destination",
  "link-escape": "a link points outside the destination, or an entry goes through a link",
  "special-file": "an entry is a device, FIFO or other special file",
  "entry-too-large": "an entry is larger than allowed",
  "too-many-entries": "the archive has too many entries",
  "too-many-bytes": "the archive expands to more data than allowed",
  "invalid-name": "an entry has an invalid name",
  corrupt: "the archive is not a valid tar.gz",
};
