import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createBackend, SandboxError, type SandboxBackendV1, ValidationError } from "@sandkit/core";
import { ServiceKeyCheck } from "./auth.js";
import { handleDownload } from "./handle-download.js";
import { handleExec } from "./handle-exec.js";
import { handleCreate, handleDelete, handleTouch } from "./handle-lifecycle.js";
import { handleHealthz, handleReadyz } from "./handle-ops.js";
import { handleUpload } from "./handle-upload.js";
import type { SandboxRequest, ServerContext } from "./handler-context.js";
import { badRequest, ERROR_CODES, HttpError } from "./http-error.js";
import { drainBody, type RequestIds, requestIdsOf, sendError, sendText } from "./http-io.js";
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
  const inFlight = new Set<Promise<void>>();
  const server = createServer((req, res) => {
    const handled = dispatch(ctx, auth, req, res).catch((error: unknown) => {
      resolved.logger.error?.("request handling failed", { error: describe(error) });
      if (!res.headersSent) res.writeHead(500);
      res.destroy();
    });
    inFlight.add(handled);
    void handled.finally(() => inFlight.delete(handled));
  });
  try {
    await listen(server, resolved.host, resolved.port);
  } catch (error) {
    if (ownsBackend) await backend.close().catch(() => undefined);
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const url = `http://${resolved.host.includes(":") ? `[${resolved.host}]` : resolved.host}:${port}`;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Aborts backend calls in flight, then destroys every sandbox.
      const destroyed = sessions.close();
      await settleWithin(Promise.allSettled([...inFlight]), CLOSE_GRACE_MS);
      await destroyed;
      server.closeAllConnections();
      await stopped;
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

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      reject(
        new SandboxError(`could not listen on ${host}:${port} (${error.code ?? "error"})`, { operation: "listen", cause: error }, "LISTEN_FAILED"),
      );
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
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

/** Waits for `promise`, but no longer than `ms`. */
function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    promise.then(done, done);
  });
}
