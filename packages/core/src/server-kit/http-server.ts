import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { listen, serverUrl, settleWithin } from "./listen.js";

/** What {@link serveHttp} serves, and where. */
export interface ServeHttpOptions {
  /** Interface to listen on. */
  readonly host: string;
  /** Port to listen on; `0` picks a free one. */
  readonly port: number;
  /** Answers one request. A rejection is reported to `onFailure`, then answered `500` (when nothing was sent yet) and the connection destroyed. */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  /** Told about a request whose handler rejected (for logging; never sees the response). */
  readonly onFailure?: (error: unknown) => void;
}

/** How {@link HttpServerHandle.stop} winds down. */
export interface StopOptions {
  /** How long requests still in flight may take to finish before their connections are cut. */
  readonly graceMs: number;
  /** Started at once after the server stops accepting (e.g. aborting backend calls, destroying sandboxes); awaited after the grace. */
  readonly release?: () => Promise<void> | void;
  /** Run after the grace and `release`, before the remaining connections are cut (e.g. cleaning up after requests past the grace). */
  readonly afterGrace?: () => Promise<void>;
}

/** A listening HTTP server that keeps track of the requests it is handling. */
export interface HttpServerHandle {
  /** The Node server. */
  readonly server: Server;
  /** The port it listens on. */
  readonly port: number;
  /** Its `http://host:port` base URL. */
  readonly url: string;
  /**
   * Stops the server: no new connections, idle ones closed, `release` started, requests in flight
   * given `graceMs` to finish, `release` and `afterGrace` awaited, then every remaining connection
   * cut. Resolves once the server has closed. Call it once (callers keep their own `close` idempotent).
   */
  stop(options: StopOptions): Promise<void>;
}

/**
 * Creates an HTTP server for `handle`, tracks its requests in flight, and listens on
 * `host`:`port`. A failure to listen is a `SandboxError` with code `LISTEN_FAILED`.
 */
export async function serveHttp(options: ServeHttpOptions): Promise<HttpServerHandle> {
  const inFlight = new Set<Promise<void>>();
  const server = createServer((req, res) => {
    const handled = options.handle(req, res).catch((error: unknown) => {
      options.onFailure?.(error);
      if (!res.headersSent) res.writeHead(500);
      res.destroy();
    });
    inFlight.add(handled);
    void handled.finally(() => inFlight.delete(handled));
  });
  const port = await listen(server, options.host, options.port);
  return {
    server,
    port,
    url: serverUrl(options.host, port),
    async stop(stop) {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const released = Promise.resolve(stop.release?.());
      await settleWithin(Promise.allSettled([...inFlight]), stop.graceMs);
      await released;
      await stop.afterGrace?.();
      server.closeAllConnections();
      await stopped;
    },
  };
}
