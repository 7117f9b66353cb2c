import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { extractArchive, UnsafeArchiveError } from "@sandkit/core";
import { bodyChunks, copyStagingIntoSandbox, declaredLength, sendEmpty } from "@sandkit/core/server-kit";
import { backendFailure, backendPath, callFor, type SandboxRequest, type ServerContext, sessionFor } from "./handler-context.js";
import { badRequest, ERROR_CODES, HttpError } from "./http-error.js";
import { WORKSPACE, workspacePath } from "./request-bodies.js";
import { queryParam } from "./routes.js";

/** Time one upload may take from the first byte to the last file written. */
const UPLOAD_TIMEOUT_MS = 10 * 60_000;

/** The body passed `maxUploadBytes` while it was read (it had no, or a false, Content-Length). */
class UploadTooLargeError extends Error {
  constructor() {
    super("the upload is too large");
    this.name = "UploadTooLargeError";
  }
}

/** The request body as an archive source, counting bytes; `overflowed` says whether it stopped at the limit. */
interface LimitedBody {
  readonly chunks: AsyncGenerator<Uint8Array>;
  readonly overflowed: () => boolean;
}

/**
 * `POST /v1/sandboxes/{id}/files/upload?dest=<dir>`: a tar or tar.gz body (gzip is recognised by
 * its magic bytes, whatever the Content-Type) unpacked under `dest`.
 *
 * Checks in the reference server's order: `dest` (`422 INVALID_PATH`), the session (`404`), the
 * declared Content-Length (`413 UPLOAD_TOO_LARGE`; a chunked body is counted as it arrives).
 * The archive is then unpacked by the core archive layer into a private staging directory on
 * this host, which checks every entry (traversal, absolute names, escaping or chained links,
 * hard links, devices, FIFOs, corrupt data, size and count limits); any failure is `422
 * UPLOAD_VALIDATION_FAILED` and nothing reaches the sandbox. Only a fully checked archive is
 * copied into the sandbox through the backend's file API. 200 with an empty body; the expiry is
 * not moved (as in the reference server).
 */
export async function handleUpload(ctx: ServerContext, request: SandboxRequest): Promise<void> {
  const destRaw = queryParam(request.target, "dest");
  const dest = workspacePath(destRaw === undefined || destRaw === "" ? WORKSPACE : destRaw, ERROR_CODES.INVALID_PATH, "dest");
  const session = await sessionFor(ctx, request, "upload");
  const max = ctx.options.maxUploadBytes;
  const declared = declaredLength(request.req);
  if (declared !== undefined && declared > max) throw tooLarge(max, true);
  const call = callFor(ctx, request, UPLOAD_TIMEOUT_MS);
  try {
    await ctx.sessions.use(session, async () => {
      const staging = await mkdtemp(join(ctx.options.stagingDir, "sandkit-noxrunner-upload-"));
      const body = limited(request, max);
      try {
        try {
          await extractArchive(body.chunks, staging, {
            maxBytes: ctx.options.maxUploadExtractedBytes,
            maxEntryBytes: ctx.options.maxUploadExtractedBytes,
            maxEntries: ctx.options.maxUploadEntries,
            hardlinks: "reject",
            signal: call.signal,
            operation: "upload",
          });
        } catch (error) {
          // Told by the flag, not the error: the archive layer may wrap what its source threw.
          if (body.overflowed() || error instanceof UploadTooLargeError) throw tooLarge(max, false);
          if (UnsafeArchiveError.isInstance(error)) throw refused(error);
          throw error;
        }
        await copyStagingIntoSandbox(session.connection, staging, backendPath(dest, session.workdir), call);
      } finally {
        await rm(staging, { recursive: true, force: true, maxRetries: 2 });
      }
    });
  } catch (error) {
    // A client that left mid-body: nobody to answer, nothing worth logging.
    if (request.clientGone.aborted && !(error instanceof HttpError)) throw badRequest("the request was aborted");
    throw backendFailure(ctx, call.fail(error, { operation: "upload" }), "upload", session);
  } finally {
    call.dispose();
  }
  sendEmpty(request.res, 200);
}

/** The request body, failing with {@link UploadTooLargeError} past `max` bytes. */
function limited(request: SandboxRequest, max: number): LimitedBody {
  let overflow = false;
  const chunks = async function* (): AsyncGenerator<Uint8Array> {
    let total = 0;
    for await (const chunk of bodyChunks(request.req)) {
      total += chunk.byteLength;
      if (total > max) {
        overflow = true;
        throw new UploadTooLargeError();
      }
      yield chunk;
    }
  };
  return { chunks: chunks(), overflowed: () => overflow };
}

function tooLarge(max: number, unread: boolean): HttpError {
  return new HttpError(413, ERROR_CODES.UPLOAD_TOO_LARGE, `upload exceeds the maximum of ${max} bytes`, { closeConnection: unread });
}

/** `422 UPLOAD_VALIDATION_FAILED` naming the entry and the reason, from the core archive layer's refusal. */
function refused(error: UnsafeArchiveError): HttpError {
  const details: Record<string, string> = { reason: error.reason };
  if (error.entry !== undefined) details.entry = error.entry.length > 300 ? `${error.entry.slice(0, 300)}...` : error.entry;
  return new HttpError(422, ERROR_CODES.UPLOAD_VALIDATION_FAILED, `archive validation failed: ${REASONS[error.reason]}`, { details });
}

/** What each refusal reason means, in words that name no path. */
const REASONS: Readonly<Record<UnsafeArchiveError["reason"], string>> = {
  "absolute-path": "an entry has an absolute path",
  "path-traversal": "an entry path escapes the destination",
  "link-escape": "a link points outside the destination, or an entry goes through a link",
  "special-file": "an entry is a hard link, device, FIFO or other special file",
  "entry-too-large": "an entry is larger than allowed",
  "too-many-entries": "the archive has too many entries",
  "too-many-bytes": "the archive expands to more data than allowed",
  "invalid-name": "an entry has an invalid name",
  corrupt: "the archive is not a valid tar or tar.gz",
};
