import { sendEmpty } from "@sandkit/core/server-kit";
import { backendFailure, createRequestOf, type SandboxRequest, type ServerContext, sessionFor, shuttingDown } from "./handler-context.js";
import { parseJsonObject, readBody, sendJson } from "./http-io.js";
import { parseCreateBody } from "./request-bodies.js";
import { RegistryClosedError } from "./sessions.js";
import { rfc3339Seconds } from "./wire-format.js";

/** The JSON body of a create. */
export interface CreateResponseBody {
  /** `sbx-` and 10 hex digits of SHA-256(session id), like the reference server. */
  readonly podName: string;
  /** RFC 3339, UTC, whole seconds, `Z`. */
  readonly expiresAt: string;
}

/**
 * `PUT /v1/sandboxes/{id}`: create or ensure. A new session gets a sandbox with `ttlSeconds`
 * (0 means the default; clamped to the maximum). An existing one is returned as it is: same
 * `podName`, unchanged `expiresAt`, the new body ignored (it is still validated).
 */
export async function handleCreate(ctx: ServerContext, request: SandboxRequest): Promise<void> {
  const body = parseCreateBody(parseJsonObject(await readBody(request.req, ctx.options.maxJsonBytes)));
  const ttlSeconds = Math.min(body.ttlSeconds === 0 ? ctx.options.defaultTtlSeconds : body.ttlSeconds, ctx.options.maxTtlSeconds);
  let session;
  try {
    ({ session } = await ctx.sessions.ensure(request.sessionId, createRequestOf(ctx, request.sessionId, body), ttlSeconds * 1000));
  } catch (error) {
    if (error instanceof RegistryClosedError) throw shuttingDown();
    throw backendFailure(ctx, error, "create");
  }
  sendJson(request.res, 200, { podName: session.podName, expiresAt: rfc3339Seconds(session.expiresAt) } satisfies CreateResponseBody);
}

/** `POST /v1/sandboxes/{id}/touch`: moves the expiry to now + the session's TTL; 200 with an empty body. */
export async function handleTouch(ctx: ServerContext, request: SandboxRequest): Promise<void> {
  await discardBody(ctx, request);
  const session = await sessionFor(ctx, request, "touch");
  ctx.sessions.refresh(session);
  sendEmpty(request.res, 200);
}

/** `DELETE /v1/sandboxes/{id}`: destroys the sandbox; 204 whether it existed or not. */
export async function handleDelete(ctx: ServerContext, request: SandboxRequest): Promise<void> {
  await discardBody(ctx, request);
  try {
    await ctx.sessions.remove(request.sessionId);
  } catch (error) {
    throw backendFailure(ctx, error, "delete");
  }
  sendEmpty(request.res, 204);
}

/** Reads and ignores a body the route does not use, within the JSON limit. */
async function discardBody(ctx: ServerContext, request: SandboxRequest): Promise<void> {
  await readBody(request.req, ctx.options.maxJsonBytes);
}
