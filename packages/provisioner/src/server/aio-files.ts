import { posix } from "node:path";
import type { FileEntryV1, SandboxFilesV1 } from "@sandkit/core";
import { FileOperationFailure, fileFailure, fileFailureOf, sendFailure, sendOk } from "./aio-envelope.js";
import type { DataPlaneContext, DataPlaneRequest } from "./data-plane-context.js";
import { readJsonObject } from "./http-io.js";
import { RequestFields } from "./request-fields.js";

/** Most entries `/v1/file/list` and `/v1/file/find` walk through before they stop. */
const MAX_WALK_ENTRIES = 100_000;
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** One entry of a `/v1/file/list` answer. */
export interface AioFileInfo {
  readonly name: string;
  readonly path: string;
  readonly is_directory: boolean;
  readonly size: number | null;
  readonly modified_time: string | null;
  readonly permissions: string | null;
  readonly extension: string | null;
}

/** The backend's file operations, or a failure answer when it has none. */
function filesOf(ctx: DataPlaneContext, path: string, operation: string): SandboxFilesV1 {
  const files = ctx.connection.files;
  if (files === undefined) throw fileFailure(path, operation, "io_error", "this sandbox has no file operations");
  return files;
}

/** The backend path of `path`, or an `invalid_path` failure. */
function backendPath(ctx: DataPlaneContext, path: string, operation: string): string {
  const mapped = ctx.paths.toBackend(path);
  if (mapped === undefined) throw fileFailure(path, operation, "invalid_path", `Invalid path: ${path}`);
  return mapped;
}

/** Runs a file handler: a {@link FileOperationFailure} becomes `200 {"success":false,...}`. */
async function answering(request: DataPlaneRequest, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (!(error instanceof FileOperationFailure)) throw error;
    sendFailure(request.res, 200, error.data.message, error.data);
  }
}

/**
 * `POST /v1/file/read` `{file, start_line?, end_line?}`: the file as UTF-8 text; with a line
 * range, lines `start_line` (0-based) up to `end_line` (exclusive). A file that is not UTF-8 is a
 * `decode_error`.
 */
export async function handleFileRead(ctx: DataPlaneContext, request: DataPlaneRequest): Promise<void> {
  const fields = new RequestFields(await readJsonObject(request.req, ctx.options.maxJsonBytes));
  const file = fields.requiredString("file");
  const startLine = fields.integer("start_line", 0);
  const endLine = fields.integer("end_line", 0);
  fields.boolean("sudo");
  fields.done();
  await answering(request, async () => {
    const target = backendPath(ctx, file, "read");
    let bytes: Uint8Array;
    try {
      bytes = await filesOf(ctx, file, "read").read(target, { maxBytes: ctx.options.maxFileBytes }, { signal: request.signal });
    } catch (error) {
      throw fileFailureOf(error, file, "read");
    }
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw fileFailure(file, "read", "decode_error", `File is not valid UTF-8 text: ${file}`);
    }
    const lines = text.split(/(?<=\n)/);
    const content = startLine === undefined && endLine === undefined ? text : lines.slice(startLine ?? 0, endLine ?? lines.length).join("");
    sendOk(request.res, { content, file, line_count: lines.length });
  });
}

/**
 * `POST /v1/file/write` `{file, content, encoding?, append?, leading_newline?, trailing_newline?}`:
 * creates or replaces the file (parents are made). `encoding` `base64` decodes `content` (strictly:
 * anything else is a `decode_error`); `utf-8` and `raw` write the text. `append` adds to the end.
 */
export async function handleFileWrite(ctx: DataPlaneContext, request: DataPlaneRequest): Promise<void> {
  const fields = new RequestFields(await readJsonObject(request.req, ctx.options.maxJsonBytes * 2));
  const file = fields.requiredString("file");
  const content = fields.requiredString("content");
  const encoding = fields.oneOf("encoding", ["utf-8", "base64", "raw"] as const) ?? "utf-8";
  const append = fields.boolean("append") ?? false;
  const leading = fields.boolean("leading_newline") ?? false;
  const trailing = fields.boolean("trailing_newline") ?? false;
  fields.boolean("sudo");
  fields.done();
  await answering(request, async () => {
    const target = backendPath(ctx, file, "write");
    let body: Buffer;
    if (encoding === "base64") {
      const compact = content.replace(/\s+/g, "");
      if (!STRICT_BASE64.test(compact)) throw fileFailure(file, "write", "decode_error", "content is not valid base64");
      body = Buffer.from(compact, "base64");
    } else {
      body = Buffer.from(content, "utf8");
    }
    if (leading) body = Buffer.concat([Buffer.from("\n"), body]);
    if (trailing) body = Buffer.concat([body, Buffer.from("\n")]);
    const files = filesOf(ctx, file, "write");
    const call = { signal: request.signal };
    let whole = body;
    if (append) {
      try {
        whole = Buffer.concat([await files.read(target, { maxBytes: ctx.options.maxFileBytes }, call), body]);
      } catch (error) {
        const failure = fileFailureOf(error, file, "write");
        if (failure.data.error_type !== "not_found") throw failure;
      }
    }
    if (whole.byteLength > ctx.options.maxFileBytes) throw fileFailure(file, "write", "no_space_left", `File would be larger than ${ctx.options.maxFileBytes} bytes`);
    try {
      await files.write(target, whole, {}, call);
    } catch (error) {
      throw fileFailureOf(error, file, "write");
    }
    sendOk(request.res, { file, bytes_written: body.byteLength });
  });
}

/**
 * `GET /v1/file/download?path=`: the file's bytes as `application/octet-stream`. Failures use
 * HTTP statuses, as upstream: a missing path `404`, a bad one `400`, anything else `500`
 * (bodies in the envelope). `change_policy` is accepted; files are read whole, so a change can
 * never cut a download short.
 */
export async function handleFileDownload(ctx: DataPlaneContext, request: DataPlaneRequest): Promise<void> {
  const path = request.url.searchParams.get("path");
  if (path === null || path.length === 0) {
    sendFailure(request.res, 422, "path is required", null);
    return;
  }
  const target = ctx.paths.toBackend(path);
  if (target === undefined) {
    sendFailure(request.res, 400, `Invalid path: ${path}`);
    return;
  }
  let bytes: Uint8Array;
  try {
    bytes = await filesOf(ctx, path, "download").read(target, { maxBytes: ctx.options.maxFileBytes }, { signal: request.signal });
  } catch (error) {
    const failure = fileFailureOf(error, path, "download");
    const status = failure.data.error_type === "not_found" ? 404 : failure.data.error_type === "invalid_target" ? 400 : 500;
    if (!request.res.destroyed) sendFailure(request.res, status, failure.data.message, null);
    return;
  }
  const name = posix.basename(target).replace(/[^\x20-\x7e]|["\\]/g, "_");
  request.res.writeHead(200, {
    "Content-Type": "application/octet-stream",
    "Content-Length": String(bytes.byteLength),
    "Content-Disposition": `attachment; filename="${name}"`,
  });
  request.res.end(bytes);
}

/** One entry met while walking, with its AIO path and its depth (1 = a child of the root). */
interface WalkedEntry {
  readonly entry: FileEntryV1;
  readonly aioPath: string;
  readonly relative: string;
  readonly depth: number;
}

/** Walks the directory at AIO path `root` breadth-first, down to `maxDepth` levels (Infinity: all). */
async function walk(ctx: DataPlaneContext, request: DataPlaneRequest, root: string, operation: string, options: { readonly maxDepth: number; readonly showHidden: boolean }): Promise<{ readonly aioRoot: string; readonly entries: WalkedEntry[] }> {
  const aioRoot = ctx.paths.normalise(root);
  const target = backendPath(ctx, root, operation);
  if (aioRoot === undefined) throw fileFailure(root, operation, "invalid_path", `Invalid path: ${root}`);
  const files = filesOf(ctx, root, operation);
  const out: WalkedEntry[] = [];
  const queue: { backend: string; aio: string; relative: string; depth: number }[] = [{ backend: target, aio: aioRoot, relative: "", depth: 0 }];
  while (queue.length > 0) {
    const dir = queue.shift();
    if (dir === undefined) break;
    let listing: FileEntryV1[];
    try {
      listing = await files.list(dir.backend, { signal: request.signal });
    } catch (error) {
      if (dir.depth === 0) throw fileFailureOf(error, root, operation);
      continue; // a directory that went away mid-walk
    }
    listing.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of listing) {
      if (!options.showHidden && entry.name.startsWith(".")) continue;
      const aioPath = dir.aio === "/" ? `/${entry.name}` : `${dir.aio}/${entry.name}`;
      const relative = dir.relative === "" ? entry.name : `${dir.relative}/${entry.name}`;
      out.push({ entry, aioPath, relative, depth: dir.depth + 1 });
      if (out.length >= MAX_WALK_ENTRIES) return { aioRoot, entries: out };
      if (entry.type === "directory" && dir.depth + 1 < options.maxDepth) {
        queue.push({ backend: `${dir.backend}/${entry.name}`, aio: aioPath, relative, depth: dir.depth + 1 });
      }
    }
  }
  return { aioRoot, entries: out };
}

/**
 * `POST /v1/file/list` `{path, recursive?, show_hidden? (default true), max_depth?, file_types?,
 * include_size?, sort_by?, sort_desc?}`: the entries below `path` with AIO paths.
 */
export async function handleFileList(ctx: DataPlaneContext, request: DataPlaneRequest): Promise<void> {
  const fields = new RequestFields(await readJsonObject(request.req, ctx.options.maxJsonBytes));
  const path = fields.requiredString("path");
  const recursive = fields.boolean("recursive") ?? false;
  const showHidden = fields.boolean("show_hidden") ?? true;
  const maxDepth = fields.integer("max_depth", 1);
  const includeSize = fields.boolean("include_size") ?? true;
  const includePermissions = fields.boolean("include_permissions") ?? false;
  const sortBy = fields.oneOf("sort_by", ["name", "size", "modified", "type"] as const) ?? "name";
  const sortDesc = fields.boolean("sort_desc") ?? false;
  const fileTypesRaw = fields.raw("file_types");
  let fileTypes: string[] | undefined;
  if (fileTypesRaw !== undefined && fileTypesRaw !== null) {
    if (!Array.isArray(fileTypesRaw) || !fileTypesRaw.every((t) => typeof t === "string")) fields.fail("file_types", "list_type", "Input should be a valid list of strings");
    else fileTypes = fileTypesRaw.map((t: string) => (t.startsWith(".") ? t : `.${t}`).toLowerCase());
  }
  fields.done();
  await answering(request, async () => {
    const depth = recursive ? (maxDepth ?? Number.POSITIVE_INFINITY) : 1;
    const { aioRoot, entries } = await walk(ctx, request, path, "list", { maxDepth: depth, showHidden });
    let infos: AioFileInfo[] = entries.map(({ entry, aioPath }) => {
      const isDirectory = entry.type === "directory";
      const ext = isDirectory ? "" : posix.extname(entry.name);
      return {
        name: entry.name,
        path: aioPath,
        is_directory: isDirectory,
        size: includeSize ? (isDirectory ? null : entry.size) : null,
        modified_time: entry.modifiedAt === undefined ? null : entry.modifiedAt.toISOString(),
        permissions: includePermissions && entry.mode !== undefined ? (entry.mode & 0o7777).toString(8).padStart(3, "0") : null,
        extension: ext === "" ? null : ext,
      };
    });
    if (fileTypes !== undefined) {
      const wanted = fileTypes;
      infos = infos.filter((info) => info.is_directory || (info.extension !== null && wanted.includes(info.extension.toLowerCase())));
    }
    const key = (info: AioFileInfo): string | number =>
      sortBy === "size" ? (info.size ?? 0) : sortBy === "modified" ? (info.modified_time ?? "") : sortBy === "type" ? `${info.is_directory ? 0 : 1}${info.extension ?? ""}` : info.path;
    infos.sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      const order = ka < kb ? -1 : ka > kb ? 1 : 0;
      return sortDesc ? -order : order;
    });
    const directories = infos.filter((info) => info.is_directory).length;
    sendOk(request.res, { path: aioRoot, files: infos, total_count: infos.length, directory_count: directories, file_count: infos.length - directories });
  });
}

/**
 * `POST /v1/file/find` `{path, glob}`: the files (not directories) below `path` whose path
 * relative to `path` matches `glob` (`*` stays within one directory, `**` crosses them), as AIO paths.
 */
export async function handleFileFind(ctx: DataPlaneContext, request: DataPlaneRequest): Promise<void> {
  const fields = new RequestFields(await readJsonObject(request.req, ctx.options.maxJsonBytes));
  const path = fields.requiredString("path");
  const glob = fields.requiredString("glob");
  fields.done();
  await answering(request, async () => {
    const { aioRoot, entries } = await walk(ctx, request, path, "find", { maxDepth: Number.POSITIVE_INFINITY, showHidden: true });
    const files = entries.filter(({ entry, relative }) => entry.type !== "directory" && posix.matchesGlob(relative, glob)).map(({ aioPath }) => aioPath);
    sendOk(request.res, { path: aioRoot, files });
  });
}
