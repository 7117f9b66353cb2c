import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { SandboxConnectionV1 } from "@sandkit/core";
import { drainBody, sendJson } from "@sandkit/core/server-kit";
import { sendFailure } from "./aio-envelope.js";
import { handleBashExec, handleBashSessionClose, handleBashSessionCreate, handleShellExec, handleShellSessionCreate, handleShellSessionDelete } from "./aio-exec.js";
import { handleFileDownload, handleFileFind, handleFileList, handleFileRead, handleFileWrite } from "./aio-files.js";
import { handleFileGrep } from "./aio-grep.js";
import { AioPathMap } from "./aio-paths.js";
import type { DataPlaneContext, DataPlaneRequest } from "./data-plane-context.js";
import { HttpError, sendHttpError } from "./http-io.js";
import type { ResolvedProvisionerOptions } from "./options.js";

/** The AIO API version this data plane reports in `GET /v1/sandbox` (the spec its routes follow). */
export const AIO_API_VERSION = "1.9.4";

type Handler = (ctx: DataPlaneContext, request: DataPlaneRequest) => Promise<void> | void;

/** Routes by `METHOD path`. */
const ROUTES: Readonly<Record<string, Handler>> = {
  "GET /v1/sandbox": handleSandboxInfo,
  "POST /v1/shell/exec": handleShellExec,
  "POST /v1/shell/sessions/create": handleShellSessionCreate,
  "POST /v1/bash/exec": handleBashExec,
  "POST /v1/bash/sessions/create": handleBashSessionCreate,
  "POST /v1/file/read": handleFileRead,
  "POST /v1/file/write": handleFileWrite,
  "GET /v1/file/download": handleFileDownload,
  "POST /v1/file/list": handleFileList,
  "POST /v1/file/find": handleFileFind,
  "POST /v1/file/grep": handleFileGrep,
};
const SHELL_SESSION_PATH = /^\/v1\/shell\/sessions\/([^/]+)$/;
const BASH_SESSION_CLOSE_PATH = /^\/v1\/bash\/sessions\/([^/]+)\/close$/;

/**
 * The AIO data plane of one sandbox: an HTTP server on its own port. Until it is ready it does not
 * listen, so connections to its port are refused, as a pod's before its container is up.
 */
export class DataPlane {
  readonly #ctx: DataPlaneContext;
  readonly #lifetime: AbortController;
  readonly #server: Server;
  readonly #host: string;
  #port = 0;
  #ready = false;
  #failed = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #readyPromise: Promise<void> | undefined;

  private constructor(ctx: DataPlaneContext, lifetime: AbortController, host: string) {
    this.#ctx = ctx;
    this.#lifetime = lifetime;
    this.#host = host;
    this.#server = createServer((req, res) => {
      void this.#dispatch(req, res).catch((error: unknown) => {
        ctx.options.logger.error?.("data-plane request failed", { sandboxId: ctx.sandboxId, error: error instanceof Error ? error.name : typeof error });
        if (!res.headersSent) sendFailure(res, 500, "Internal Server Error");
        else res.destroy();
      });
    });
  }

  /**
   * Picks a port for the sandbox's data plane (listening on it, then, with a ready delay, closing
   * it again until the delay has passed). `port` is known when this resolves.
   */
  static async start(sandboxId: string, connection: SandboxConnectionV1, options: ResolvedProvisionerOptions): Promise<DataPlane> {
    const lifetime = new AbortController();
    const ctx: DataPlaneContext = {
      sandboxId,
      connection,
      paths: new AioPathMap(connection.info.workdir),
      options,
      signal: lifetime.signal,
      shellSessions: new Map(),
      bashSessions: new Map(),
    };
    const plane = new DataPlane(ctx, lifetime, options.dataPlaneHost);
    await listen(plane.#server, plane.#host, 0);
    plane.#port = (plane.#server.address() as AddressInfo).port;
    if (options.readyDelayMs === 0) {
      plane.#ready = true;
      return plane;
    }
    await new Promise<void>((resolve) => plane.#server.close(() => resolve()));
    plane.#readyPromise = new Promise<void>((resolve) => {
      plane.#timer = setTimeout(() => {
        plane.#timer = undefined;
        if (plane.#closed) return resolve();
        listen(plane.#server, plane.#host, plane.#port).then(
          () => {
            if (plane.#closed) plane.#server.close();
            else plane.#ready = true;
            resolve();
          },
          (error: unknown) => {
            plane.#failed = true;
            options.logger.error?.("data plane could not listen again on its port", { sandboxId, port: plane.#port, error: error instanceof Error ? error.message : String(error) });
            resolve();
          },
        );
      }, options.readyDelayMs);
    });
    return plane;
  }

  /** The base URL of this data plane (`sandbox_url`), without a trailing slash. */
  get url(): string {
    return `http://${this.#host.includes(":") ? `[${this.#host}]` : this.#host}:${this.#port}`;
  }

  /** Whether it listens (the pod is `Running`). */
  get ready(): boolean {
    return this.#ready;
  }

  /** Whether the data plane could not listen again on its port after the ready delay (the pod is `Failed`). */
  get failed(): boolean {
    return this.#failed;
  }

  /** Resolves once the ready delay has passed (or at once). For tests. */
  whenReady(): Promise<void> {
    return this.#readyPromise ?? Promise.resolve();
  }

  /** Stops listening, aborts backend calls in flight and closes every connection. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#ready = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#lifetime.abort(new Error("the sandbox went away"));
    const stopped = this.#server.listening ? new Promise<void>((resolve) => this.#server.close(() => resolve())) : Promise.resolve();
    this.#server.closeAllConnections();
    await stopped;
  }

  async #dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://sandbox");
    } catch {
      sendFailure(res, 400, "Bad Request");
      return;
    }
    const clientGone = new AbortController();
    res.once("close", () => {
      if (!res.writableFinished) clientGone.abort(new Error("the client went away"));
    });
    const request: DataPlaneRequest = { req, res, url, signal: AbortSignal.any([this.#ctx.signal, clientGone.signal]) };
    const method = req.method ?? "GET";
    const session = SHELL_SESSION_PATH.exec(url.pathname);
    const bashClose = BASH_SESSION_CLOSE_PATH.exec(url.pathname);
    let handler: Handler | undefined = ROUTES[`${method} ${url.pathname}`];
    if (session !== null && session[1] !== "create" && method === "DELETE") handler = (ctx, r) => handleShellSessionDelete(ctx, r, decodeSegment(session[1] ?? ""));
    if (bashClose !== null && method === "POST") handler = (ctx, r) => handleBashSessionClose(ctx, r, decodeSegment(bashClose[1] ?? ""));
    try {
      if (handler === undefined) {
        const known = Object.keys(ROUTES).some((key) => key.endsWith(` ${url.pathname}`)) || session !== null || bashClose !== null;
        throw new HttpError(known ? 405 : 404, { detail: known ? "Method Not Allowed" : "Not Found" });
      }
      await handler(this.#ctx, request);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      if (res.headersSent || res.destroyed) return;
      const drained = error.closeConnection || (await drainBody(req, this.#ctx.options.maxJsonBytes));
      sendHttpError(res, drained ? error : new HttpError(error.status, error.body, { closeConnection: true }));
    }
  }
}

/** `GET /v1/sandbox`: readiness and environment facts, payload at the top level next to the envelope. */
function handleSandboxInfo(ctx: DataPlaneContext, request: DataPlaneRequest): void {
  const home = ctx.connection.info.workdir;
  sendJson(request.res, 200, {
    success: true,
    message: "Operation successful",
    data: null,
    home_dir: home,
    workspace: home,
    version: AIO_API_VERSION,
    detail: {
      system: { os: process.platform, os_version: "", arch: process.arch, user: "", home_dir: home, workspace: home, timezone: "UTC", occupied_ports: [] },
      runtime: { python: [], nodejs: [] },
      utils: [],
    },
  });
}

/** A percent-decoded path segment; a malformed escape is kept as it is (it then names no session). */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
}
