import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import { FileNotFoundError, ValidationError } from "@sandkit/core";
import { openSandboxArchive } from "@sandkit/core/server-kit";
import { backendFailure, backendPath, callFor, type SandboxRequest, type ServerContext, sessionFor } from "./handler-context.js";
import { ERROR_CODES, HttpError } from "./http-error.js";
import { readBody } from "./http-io.js";
import { WORKSPACE, workspacePath } from "./request-bodies.js";
import { queryParam } from "./routes.js";
import { describe } from "./sessions.js";

/** Time one download may take, streaming included. */
const DOWNLOAD_TIMEOUT_MS = 30 * 60_000;

/**
 * `GET /v1/sandboxes/{id}/files/download?src=<dir>`: a tar.gz of everything under `src`,
 * streamed, with `Content-Type: application/x-gzip` and `Content-Disposition: attachment;
 * filename="files.tar.gz"` (reference server v0). `src` must be under `/workspace` (`422
 * INVALID_PATH`); a missing `src` is `404 PATH_NOT_FOUND` and one that is not a directory `422
 * INVALID_PATH` (the reference server sends an empty 200 for both). A failure once the 200 is
 * sent cuts the response off, so the client sees an incomplete body, never a short valid archive.
 * The call moves the sandbox's expiry.
 */
export async function handleDownload(ctx: ServerContext, request: SandboxRequest): Promise<void> {
  await readBody(request.req, ctx.options.maxJsonBytes);
  const srcRaw = queryParam(request.target, "src");
  const src = workspacePath(srcRaw === undefined || srcRaw === "" ? WORKSPACE : srcRaw, ERROR_CODES.INVALID_PATH, "src");
  const session = await sessionFor(ctx, request, "download");
  ctx.sessions.refresh(session);
  const call = callFor(ctx, request, DOWNLOAD_TIMEOUT_MS);
  try {
    await ctx.sessions.use(session, async () => {
      let archive: Readable;
      try {
        archive = await openSandboxArchive(
          session.connection,
          backendPath(src, session.workdir),
          { maxFileBytes: ctx.options.maxDownloadFileBytes, maxEntries: ctx.options.maxDownloadEntries, operation: "download", outsideLinks: "keep" },
          call,
        );
      } catch (error) {
        if (FileNotFoundError.isInstance(error)) throw new HttpError(404, ERROR_CODES.PATH_NOT_FOUND, `src ${JSON.stringify(src)} does not exist`);
        if (ValidationError.isInstance(error)) throw new HttpError(422, ERROR_CODES.INVALID_PATH, `src ${JSON.stringify(src)} is not a readable directory`);
        throw error;
      }
      request.res.writeHead(200, {
        "Content-Type": "application/x-gzip",
        "Content-Disposition": 'attachment; filename="files.tar.gz"',
      });
      try {
        await pipeline(archive, request.res);
      } catch (error) {
        // Headers are out: all that is left is to cut the body short (pipeline has destroyed the response).
        if (!request.clientGone.aborted) ctx.options.logger.error?.("download stream failed", { sessionId: session.id, error: describe(error) });
        request.res.destroy();
      }
    });
  } catch (error) {
    throw backendFailure(ctx, call.fail(error, { operation: "download" }), "download", session);
  } finally {
    call.dispose();
  }
}
