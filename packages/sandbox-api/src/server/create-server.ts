import type { IncomingMessage, ServerResponse } from "node:http";
import { createBackend, createCallContext, type SandboxBackendV1, ValidationError } from "@sandkit/core";
import { drainBody, type HttpServerHandle, sendEmpty, sendText, serveHttp } from "@sandkit/core/server-kit";
import { type ServerContext, describe } from "./context.js";
import { EnvironmentStore } from "./environment-store.js";
import { handleDescribe } from "./handle-describe.js";
import { handleEnvironmentDownload, handleFileDownload } from "./handle-download.js";
import { handleExecute } from "./handle-execute.js";
import { HttpError } from "./http-io.js";
import { DEFAULT_ENVIRONMENTS_PREFIX, resolveServerOptions, type SandboxApiServerOptions } from "./options.js";
import { allowHeader, parseRoute, ROUTE_METHODS } from "./routes.js";
import { SlotPool } from "./slot-pool.js";

/** A running sandbox-api-compatible server. */
export interface SandboxApiServer extends AsyncDisposable {
  /** The base URL clients use, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  readonly url: string;
  /** The interface it listens on. */
  readonly host: string;
  /** The port it listens on (the one picked when `port` was 0). */
  readonly port: number;
  /** The backend sandboxes are made on. */
  readonly backend: SandboxBackendV1;
  /** The directory saved environments are kept in, as `<uuid>.tgz`. */
  readonly environmentsDir: string;
  /**
   * Stops listening, aborts the executes in flight, destroys every sandbox this server made,
   * closes every connection, closes the backend if the server created it, and removes the
   * environments directory if the server created it. Idempotent.
   */
  close(): Promise<void>;
}

/** How long `close()` waits for requests in flight to finish after their backend calls were aborted. */
const CLOSE_GRACE_MS = 10_000;
/** Bytes of an unwanted request body read (and dropped) before an answer, so the client sees it. */
const DRAIN_LIMIT = 1024 * 1024;

/**
 * Starts a server that speaks the PremierLangage sandbox 3.x protocol (the server of the
 * `sandbox-api` Python client) over any sandkit backend, the local one by default.
 *
 * ```ts
 * import { createSandboxApiServer } from "@sandkit/sandbox-api/server";
 *
 * await using server = await createSandboxApiServer({ port: 7000 });
 * console.log(`listening on ${server.url}`);
 * ```
 *
 * Options are checked first (`ValidationError` naming the field). The default backend is
 * `@sandkit/local`, loaded by name (`BackendNotInstalledError` when it is missing); a failure to
 * listen is a `SandboxError` with code `LISTEN_FAILED`. See docs/server.md for the routes and
 * what differs from the upstream server.
 */
export async function createSandboxApiServer(options: SandboxApiServerOptions = {}): Promise<SandboxApiServer> {
  const resolved = resolveServerOptions(options);
  const ownsBackend = options.backend === undefined;
  const backend = options.backend ?? (await createBackend("local", options.local ?? {}));
  if (backend.specificationVersion !== "v1") {
    throw new ValidationError(`backend speaks specification ${String(backend.specificationVersion)}; this server speaks v1`, {
      field: "backend",
      operation: "createSandboxApiServer",
    });
  }
  let environments: EnvironmentStore;
  try {
    environments = await EnvironmentStore.open(resolved.environmentsDir, resolved.expiryMs, DEFAULT_ENVIRONMENTS_PREFIX);
  } catch (error) {
    if (ownsBackend) await backend.close().catch(() => undefined);
    throw error;
  }
  const closing = new AbortController();
  const ctx: ServerContext = {
    options: resolved,
    backend,
    environments,
    pool: new SlotPool(resolved.poolSize),
    closing: closing.signal,
    sandboxes: new Set(),
  };
  let http: HttpServerHandle;
  try {
    http = await serveHttp({
      host: resolved.host,
      port: resolved.port,
      handle: (req, res) => dispatch(ctx, req, res),
      onFailure: (error) => resolved.logger.error?.("request handling failed", { error: describe(error) }),
    });
  } catch (error) {
    await environments.close().catch(() => undefined);
    if (ownsBackend) await backend.close().catch(() => undefined);
    throw error;
  }
  const { port, url } = http;
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      await http.stop({
        graceMs: CLOSE_GRACE_MS,
        release: () => closing.abort(new Error("the server is closing")),
        // Requests clean up after themselves; whatever is left (a request past the grace) goes here.
        afterGrace: async () => {
          await Promise.allSettled(
            [...ctx.sandboxes].map(async (id) => {
              const call = createCallContext({ timeoutMs: CLOSE_GRACE_MS });
              try {
                await backend.destroy(id, call);
              } finally {
                call.dispose();
              }
            }),
          );
        },
      });
      await environments.close().catch((error: unknown) => resolved.logger.error?.("removing the environments failed", { error: describe(error) }));
      if (ownsBackend) {
        await backend.close().catch((error: unknown) => resolved.logger.error?.("closing the backend failed", { error: describe(error) }));
      }
    })();
    return closed;
  };
  return {
    url,
    host: resolved.host,
    port,
    backend,
    environmentsDir: environments.dir,
    close,
    [Symbol.asyncDispose]: close,
  };
}


/** Routes one request and writes its answer; an `HttpError` becomes a plain-text body. */
async function dispatch(ctx: ServerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const route = parseRoute(req.url ?? "/");
  const method = req.method ?? "GET";
  const clientGone = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) clientGone.abort(new Error("the client went away"));
  });
  // A body still arriving when the server closes is not waited for: its connection is cut.
  const onClosing = (): void => {
    if (!req.complete) req.destroy();
  };
  ctx.closing.addEventListener("abort", onClosing, { once: true });
  res.once("close", () => ctx.closing.removeEventListener("abort", onClosing));
  const request = { req, res, clientGone: clientGone.signal };
  try {
    if (route === undefined) throw new HttpError(404, "Not Found");
    if (ctx.closing.aborted) throw new HttpError(503, "The server is shutting down.");
    if (method === "OPTIONS") {
      await drainBody(req, DRAIN_LIMIT);
      sendEmpty(res, 200, { Allow: allowHeader(route.kind) });
      return;
    }
    if (!ROUTE_METHODS[route.kind].includes(method)) throw new HttpError(405, "", { headers: { Allow: allowHeader(route.kind) } });
    switch (route.kind) {
      case "execute":
        await handleExecute(ctx, request);
        return;
      case "environment":
        await handleEnvironmentDownload(ctx, request, route.uuid);
        return;
      case "file":
        await handleFileDownload(ctx, request, route.uuid, route.path);
        return;
      default:
        await handleDescribe(ctx, request, route.kind);
        return;
    }
  } catch (error) {
    await answerError(ctx, req, res, error);
  }
}

/** Writes the plain-text body for `error` (an unexpected one is logged and answered 500), after reading what is left of the request. */
async function answerError(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, error: unknown): Promise<void> {
  let answer: HttpError;
  if (error instanceof HttpError) {
    answer = error;
  } else {
    ctx.options.logger.error?.("unexpected failure", { method: req.method, route: routeName(req.url), error: describe(error) });
    answer = new HttpError(500, "Server Error (500)");
  }
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  let headers = answer.headers;
  if (answer.closeConnection || !(await drainBody(req, DRAIN_LIMIT))) headers = { ...headers, Connection: "close" };
  if (res.destroyed) return;
  if (answer.status === 405 || req.method === "HEAD") {
    // No body: a 405 has none upstream; a HEAD never has one, but says how long the text would be.
    const length = req.method === "HEAD" && answer.status !== 405 ? Buffer.byteLength(answer.message) : 0;
    res.writeHead(answer.status, { ...headers, "Content-Type": "text/plain; charset=utf-8", "Content-Length": String(length) });
    res.end();
  } else {
    sendText(res, answer.status, answer.message, { headers });
  }
  if (headers.Connection === "close") res.once("finish", () => req.socket.destroySoon());
}

/** The kind of route a target matched, for logs (never the raw target: it is client input). */
function routeName(target: string | undefined): string {
  return parseRoute(target ?? "/")?.kind ?? "none";
}
