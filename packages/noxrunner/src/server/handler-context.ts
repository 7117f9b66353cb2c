import type { IncomingMessage, ServerResponse } from "node:http";
import { posix } from "node:path";
import {
  AbortedError,
  createCallContext,
  type CreateRequestV1,
  type OwnedCallContext,
  SandboxClosedError,
  SandboxNotFoundError,
  type SandboxBackendV1,
} from "@sandkit/core";
import { ERROR_CODES, type ErrorCode, HttpError } from "./http-error.js";
import type { RequestIds } from "./http-io.js";
import type { ResolvedServerOptions } from "./options.js";
import { WORKSPACE } from "./request-bodies.js";
import { describe, RegistryClosedError, type Session, SessionGoneError, type SessionRegistry } from "./sessions.js";

/** What every handler of one server shares. */
export interface ServerContext {
  readonly options: ResolvedServerOptions;
  readonly backend: SandboxBackendV1;
  readonly sessions: SessionRegistry;
}

/** One request to a sandbox route. */
export interface SandboxRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly ids: RequestIds;
  /** The request target (path and query) as received. */
  readonly target: string;
  readonly sessionId: string;
  /** Aborts when the client goes away before the response is complete. */
  readonly clientGone: AbortSignal;
}

/** The operations whose failures have their own codes. */
export type SandboxOperation = "create" | "touch" | "exec" | "upload" | "download" | "delete";

/** The reference server's code for a backend failure of each operation. */
const FAILURE_CODES: Readonly<Record<SandboxOperation, ErrorCode>> = {
  create: ERROR_CODES.POD_CREATE_FAILED,
  touch: ERROR_CODES.POD_PATCH_FAILED,
  exec: ERROR_CODES.K8S_EXEC_FAILED,
  upload: ERROR_CODES.UPLOAD_EXEC_FAILED,
  download: ERROR_CODES.DOWNLOAD_EXEC_FAILED,
  delete: ERROR_CODES.POD_DELETE_FAILED,
};

/** A call context for one backend call of a request: aborted by the client leaving, the server closing, or `timeoutMs`. */
export function callFor(ctx: ServerContext, request: SandboxRequest, timeoutMs?: number): OwnedCallContext {
  return createCallContext({ signal: request.clientGone, owner: ctx.sessions.signal, timeoutMs });
}

/** `404 POD_NOT_FOUND` for a session id. */
export function sessionNotFound(sessionId: string): HttpError {
  return new HttpError(404, ERROR_CODES.POD_NOT_FOUND, `sandbox ${JSON.stringify(sessionId)} not found`);
}

/** `503 NOT_READY` while the server shuts down. */
export function shuttingDown(): HttpError {
  return new HttpError(503, ERROR_CODES.NOT_READY, "the server is shutting down");
}

/** The create request for a session, from its body (or the defaults). */
export function createRequestOf(
  ctx: ServerContext,
  sessionId: string,
  spec: { readonly image?: string | undefined; readonly cpus?: number | undefined; readonly memoryMiB?: number | undefined; readonly diskMiB?: number | undefined; readonly env?: Readonly<Record<string, string>> | undefined } = {},
): CreateRequestV1 {
  const forward = ctx.options.createSpec === "forward";
  const resources = forward && (spec.cpus !== undefined || spec.memoryMiB !== undefined || spec.diskMiB !== undefined)
    ? { cpus: spec.cpus, memoryMiB: spec.memoryMiB, diskMiB: spec.diskMiB }
    : undefined;
  return {
    image: forward ? spec.image : undefined,
    resources,
    env: spec.env !== undefined && Object.keys(spec.env).length > 0 ? spec.env : undefined,
    labels: { "sandkit.server": "noxrunner", "noxrunner.session": sessionId },
  };
}

/**
 * The session a touch, exec, upload or download works on. Unknown ids are `404 POD_NOT_FOUND`,
 * or, with `unknownSession: "auto-create"`, get a sandbox with the defaults first (a failure
 * then answers as the reference server does: `500` for touch, `503 POD_NOT_READY` for exec and
 * upload, `404` for download).
 */
export async function sessionFor(ctx: ServerContext, request: SandboxRequest, operation: "touch" | "exec" | "upload" | "download"): Promise<Session> {
  const found = ctx.sessions.find(request.sessionId);
  if (found !== undefined) return found;
  if (ctx.options.unknownSession === "not-found") throw sessionNotFound(request.sessionId);
  try {
    const { session } = await ctx.sessions.ensure(request.sessionId, createRequestOf(ctx, request.sessionId), ctx.options.defaultTtlSeconds * 1000);
    return session;
  } catch (error) {
    if (error instanceof RegistryClosedError) throw shuttingDown();
    ctx.options.logger.error?.("auto-creating a sandbox failed", { sessionId: request.sessionId, operation, error: describe(error) });
    if (operation === "touch") throw new HttpError(500, ERROR_CODES.POD_CREATE_FAILED, "creating the sandbox failed");
    if (operation === "download") throw sessionNotFound(request.sessionId);
    throw new HttpError(503, ERROR_CODES.POD_NOT_READY, "the sandbox could not be made ready");
  }
}

/**
 * Turns a failure of a backend call into the answer: the session gone (`404`, and the session
 * is forgotten), the server closing (`503`), or `500` with the operation's code. The backend's
 * own message is logged, never sent: it may name host paths.
 */
export function backendFailure(ctx: ServerContext, error: unknown, operation: SandboxOperation, session?: Session): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof SessionGoneError || SandboxNotFoundError.isInstance(error)) {
    if (session !== undefined) ctx.sessions.forget(session);
    return sessionNotFound(session?.id ?? (error instanceof SessionGoneError ? error.sessionId : "?"));
  }
  if (error instanceof RegistryClosedError || ctx.sessions.signal.aborted || SandboxClosedError.isInstance(error)) return shuttingDown();
  if (AbortedError.isInstance(error)) return new HttpError(503, ERROR_CODES.NOT_READY, `${operation} was aborted`);
  ctx.options.logger.error?.(`${operation} failed`, { sessionId: session?.id, operation, error: describe(error) });
  return new HttpError(500, FAILURE_CODES[operation], `${operation} failed`);
}

/** A NoxRunner path (normalised, under `/workspace`) as a path of the backend sandbox, whose workspace is `workdir`. */
export function backendPath(noxPath: string, workdir: string): string {
  if (noxPath === WORKSPACE) return workdir;
  return posix.join(workdir, noxPath.slice(WORKSPACE.length + 1));
}
