import type { IncomingMessage, ServerResponse } from "node:http";
import { createBackend, type SandboxBackendV1, ValidationError } from "@sandkit/core";
import { drainBody, type HttpServerHandle, sendText, serveHttp } from "@sandkit/core/server-kit";
import { ServiceKeyCheck } from "./auth.js";
import { handleDownload } from "./handle-download.js";
import { handleExec } from "./handle-exec.js";
import { handleCreate, handleDelete, handleTouch } from "./handle-lifecycle.js";
import { handleHealthz, handleReadyz } from "./handle-ops.js";
import { handleUpload } from "./handle-upload.js";
import type { SandboxRequest, ServerContext } from "./handler-context.js";
import { badRequest, ERROR_CODES, HttpError } from "./http-error.js";
import { type RequestIds, requestIdsOf, sendError } from "./http-io.js";
import { type NoxRunnerServerOptions, resolveServerOptions } from "./options.js";
import { ACTION_METHODS, parseRoute, type SandboxAction } from "./routes.js";
import { describe, SessionRegistry } from "./sessions.js";

/** A running NoxRunner-compatible server. */
export interface NoxRunnerServer extends AsyncDisposable {
  /** The base URL clients use, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  readonly url: string;
  /** The interface it listens on. */
  readonly host: string;
  /** The port it listens on (the one picked when `port` was 0). */
  readonly port: number;
  /** The backend sandboxes are made on. */
  readonly backend: SandboxBackendV1;
  /**
   * Stops listening, ends requests in flight (they get `503`), destroys every sandbox this
   * server made, closes every connection, and closes the backend if the server created it.
   * Idempotent; resolves once all of that is done.
   */
  close(): Promise<void>;
}

/** How long `close()` waits for requests in flight to answer after their backend calls were aborted. */
const CLOSE_GRACE_MS = 10_000;

/** The route handlers of the sandbox API. */
const HANDLERS: Readonly<Record<SandboxAction, Partial<Record<string, (ctx: ServerContext, request: SandboxRequest) => Promise<void>>>>> = {
  sandbox: { PUT: handleCreate, DELETE: handleDelete },
  touch: { POST: handleTouch },
  exec: { POST: handleExec },
  upload: { POST: handleUpload },
  download: { GET: handleDownload },
};

/**
 * Starts a server that speaks the NoxRunner REST protocol (v0, the one the upstream Python
 * client was written for) over any sandkit backend, the local one by default.
 *
 * ```ts
 * import { createNoxRunnerServer } from "@sandkit/noxrunner/server";
 *
 * await using server = await createNoxRunnerServer({ port: 8080 });
 * console.log(`listening on ${server.url}`);
 * ```
 *
 * Options are checked first (`ValidationError` naming the field). The default backend is
 * `@sandkit/local`, loaded by name (`BackendNotInstalledError` when it is missing); a failure
 * to listen is a `SandboxError` with code `LISTEN_FAILED`. See docs/server.md for the routes,
 * the variants and what differs from the reference server.
 */
export async function createNoxRunnerServer(options: NoxRunnerServerOptions = {}): Promise<NoxRunnerServer> {
  const resolved = resolveServerOptions(options);
  const ownsBackend = options.backend === undefined;
  const backend = options.backend ?? (await createBackend("local", options.local ?? {}));
  if (backend.specificationVersion !== "v1") {
    throw new ValidationError(`backend speaks specification ${String(backend.specificationVersion)}; this server speaks v1`, {
      field: "backend",
      operation: "createNoxRunnerServer",
    });
  }
  const sessions = new SessionRegistry(backend, resolved.logger);
  const ctx: ServerContext = { options: resolved, backend, sessions };
  const auth = new ServiceKeyCheck(resolved.serviceKeys, resolved.authFailureStatus);
  let http: HttpServerHandle;
  try {
    http = await serveHttp({
      host: resolved.host,
      port: resolved.port,
      handle: (req, res) => dispatch(ctx, auth, req, res),
      onFailure: (error) => resolved.logger.error?.("request handling failed", { error: describe(error) }),
    });
  } catch (error) {
    if (ownsBackend) await backend.close().catch(() => undefined);
    throw error;
  }
  const { port, url } = http;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      // Aborts backend calls in flight, then destroys every sandbox.
      await http.stop({ graceMs: CLOSE_GRACE_MS, release: () => sessions.close() });
      if (ownsBackend) {
        await backend.close().catch((error: unknown) => resolved.logger.error?.("closing the backend failed", { error: describe(error) }));
      }
    })();
    return closing;
  };
  return {
    url,
    host: resolved.host,
    port,
    backend,
    close,
    [Symbol.asyncDispose]: close,
  };
}


/** Routes one request and writes its answer; errors become the protocol's error body. */
async function dispatch(ctx: ServerContext, auth: ServiceKeyCheck, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const ids = requestIdsOf(req);
  res.setHeader("X-Request-Id", ids.header);
  const target = req.url ?? "/";
  const route = parseRoute(target);
  let drainLimit = ctx.options.maxJsonBytes;
  try {
    if (route === undefined) {
      sendText(res, 404, "404 page not found\n");
      return;
    }
    if (route.kind === "healthz") {
      await handleHealthz(ctx, res);
      return;
    }
    if (route.kind === "readyz") {
      await handleReadyz(ctx, res);
      return;
    }
    // Authentication comes before routing: an unauthenticated request learns nothing about paths.
    auth.check(req.headers);
    const v1 = route.target;
    if (v1.kind === "not-found") {
      sendText(res, 404, "404 page not found\n");
      return;
    }
    if (v1.kind === "bad-session") throw badRequest("sessionId required");
    const method = req.method ?? "GET";
    const handler = ACTION_METHODS[v1.action].includes(method) ? HANDLERS[v1.action][method] : undefined;
    if (handler === undefined) throw badRequest("Method not allowed");
    if (v1.action === "upload") drainLimit = ctx.options.maxUploadBytes;
    const clientGone = new AbortController();
    res.once("close", () => {
      if (!res.writableFinished) clientGone.abort(new Error("the client went away"));
    });
    await handler(ctx, { req, res, ids, target, sessionId: v1.sessionId, clientGone: clientGone.signal });
  } catch (error) {
    await answerError(ctx, req, res, ids, error, drainLimit);
  }
}

/** Writes the error body for `error` (an unexpected one is logged and answered `500`), after reading what is left of the request. */
async function answerError(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, ids: RequestIds, error: unknown, drainLimit: number): Promise<void> {
  let answer: HttpError;
  if (error instanceof HttpError) {
    answer = error;
  } else {
    ctx.options.logger.error?.("unexpected failure", { error: describe(error) });
    answer = new HttpError(500, ERROR_CODES.INTERNAL_ERROR, "internal error");
  }
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  if (!answer.closeConnection && !(await drainBody(req, drainLimit))) {
    answer = new HttpError(answer.status, answer.code, answer.message, { details: answer.details, closeConnection: true });
  }
  if (res.destroyed) return;
  sendError(res, answer, ids);
}
