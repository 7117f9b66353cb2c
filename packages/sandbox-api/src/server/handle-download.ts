import { createReadStream } from "node:fs";
import { posix } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { listArchive } from "@sandkit/core";
import type { RequestContext, ServerContext } from "./context.js";
import type { StoredEnvironment } from "./environment-store.js";
import { HttpError } from "./http-io.js";
import { tarMember } from "./tar-member.js";

/**
 * `GET|HEAD /environments/{uuid}/`: the stored `.tgz` bytes, streamed, with `Content-Type:
 * application/gzip`, `Content-Length` and `Content-Disposition: attachment; filename=<uuid>.tgz`
 * (HEAD: the same headers, no body). `404 No environment with UUID '<uuid>' found` when it is
 * unknown or expired.
 */
export async function handleEnvironmentDownload(ctx: ServerContext, request: RequestContext, uuid: string): Promise<void> {
  const environment = await stored(ctx, uuid);
  await sendFile(request, environment.path, environment.size, "application/gzip", `${uuid}.tgz`);
}

/**
 * `GET|HEAD /files/{uuid}/{path}/`: one regular file of a stored environment, `{path}` matched
 * exactly against the archive's (plain relative) member names, as raw bytes with `Content-Type:
 * application/octet-stream`, `Content-Length` and `Content-Disposition: attachment;
 * filename=<basename>`. `404 The file '<path>' could not be found in environment '<uuid>'` when
 * there is no such member, or it is a directory or a link (upstream answered 500 for a directory).
 */
export async function handleFileDownload(ctx: ServerContext, request: RequestContext, uuid: string, path: string): Promise<void> {
  const environment = await stored(ctx, uuid);
  const limits = { maxBytes: ctx.options.maxExtractedBytes, maxEntryBytes: ctx.options.maxExtractedBytes, maxEntries: ctx.options.maxEntries };
  const signal = AbortSignal.any([request.clientGone, ctx.closing]);
  const listing = await listArchive(createReadStream(environment.path), { ...limits, signal, operation: "download" });
  const member = listing.find((entry) => entry.path === path && entry.type === "file");
  if (member === undefined) throw new HttpError(404, `The file '${path}' could not be found in environment '${uuid}'`);
  const filename = posix.basename(path);
  if (request.req.method === "HEAD") {
    await sendFile(request, undefined, member.size, "application/octet-stream", filename);
    return;
  }
  await sendStream(request, tarMember(environment.path, path, signal), member.size, filename);
}

/** Sends the headers, then the member's bytes with backpressure. */
async function sendStream(request: RequestContext, chunks: AsyncIterable<Uint8Array>, size: number, filename: string): Promise<void> {
  const { res } = request;
  res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": String(size), "Content-Disposition": contentDisposition(filename) });
  try {
    await pipeline(Readable.from(chunks, { objectMode: false }), res);
  } catch (error) {
    if (request.clientGone.aborted || res.destroyed) return;
    throw error;
  }
}

async function stored(ctx: ServerContext, uuid: string): Promise<StoredEnvironment> {
  const environment = await ctx.environments.find(uuid);
  if (environment === undefined) throw new HttpError(404, `No environment with UUID '${uuid}' found`);
  return environment;
}

/** Sends the headers, then (for GET) the file streamed with backpressure. */
async function sendFile(request: RequestContext, file: string | undefined, size: number, type: string, filename: string): Promise<void> {
  const { req, res } = request;
  res.writeHead(200, { "Content-Type": type, "Content-Length": String(size), "Content-Disposition": contentDisposition(filename) });
  if (req.method === "HEAD" || file === undefined) {
    res.end();
    return;
  }
  try {
    await pipeline(createReadStream(file, { highWaterMark: 256 * 1024 }), res);
  } catch (error) {
    // A client that left mid-download: nobody to answer, nothing worth logging.
    if (request.clientGone.aborted || res.destroyed) return;
    throw error;
  }
}

/**
 * `attachment; filename=<name>` as upstream writes it when the name is a plain token; otherwise
 * quoted, with an RFC 5987 `filename*` (upstream wrote such names unquoted, a malformed header).
 */
export function contentDisposition(filename: string): string {
  if (/^[A-Za-z0-9!#$&+.^_`|~-]+$/.test(filename)) return `attachment; filename=${filename}`;
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}
