import { once } from "node:events";
import {
  Agent as HttpAgent,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { pipeline } from "node:stream";
import { FaultPlan, type Fault, type FaultKind, type FaultRule } from "./faults.js";

/** Options of {@link createFaultProxy}. */
export interface FaultProxyOptions {
  /** The HTTP server to forward to, e.g. `http://127.0.0.1:8080`. */
  readonly target: string | URL;
  /** Seed of the generator that `probability` rules draw from. Default 1. */
  readonly seed?: number | undefined;
  /** What to inject, and when. Default: nothing (a transparent proxy). */
  readonly rules?: readonly FaultRule[] | undefined;
}

/** One request the proxy received. */
export interface FaultLogEntry {
  /** 1 for the first request the proxy received. */
  readonly seq: number;
  readonly method: string;
  /** The path, without the query. */
  readonly path: string;
  /** The fault injected, if any. */
  readonly fault: FaultKind | undefined;
}

/** A running fault proxy. */
export interface FaultProxy extends AsyncDisposable {
  /** The proxy's base URL (`http://127.0.0.1:<port>`): point the client here instead of at the target. */
  readonly url: string;
  readonly port: number;
  /** Requests that reached the proxy, for a method and path (or all of them). */
  received(method?: string, path?: string): number;
  /** Requests that reached the upstream server (their bytes were written to it), for a method and path (or all). */
  forwarded(method?: string, path?: string): number;
  /** Every request received, in order, with the fault it got. */
  readonly log: readonly FaultLogEntry[];
  /** Replaces the rules (and restarts their counters and the generator). */
  setRules(rules: readonly FaultRule[], seed?: number): void;
  /** Stops listening and destroys every connection, on both sides. Idempotent. */
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"]);

function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const listed = new Set(
    String(headers.connection ?? "")
      .split(",")
      .map((token) => token.trim().toLowerCase())
      .filter((token) => token !== ""),
  );
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || listed.has(name)) continue;
    out[name] = value;
  }
  return out;
}

function pathOf(url: string | undefined): string {
  const raw = url ?? "/";
  const query = raw.indexOf("?");
  return query === -1 ? raw : raw.slice(0, query);
}

function key(method: string, path: string): string {
  return `${method.toUpperCase()} ${path}`;
}

function noop(): void {}

/**
 * Starts a loopback HTTP proxy (127.0.0.1, a free port) in front of `target` that injects faults,
 * deterministically, from a seed and an explicit plan of rules matched by method and path. It
 * streams bodies both ways (nothing is buffered unless a fault needs the whole upstream body), and
 * counts what reached the upstream server, so a test can assert that an exec was delivered exactly
 * once.
 *
 * ```ts
 * await using proxy = await createFaultProxy({
 *   target: server.url,
 *   rules: [{ method: "POST", path: "/exec", on: [1], fault: { kind: "reset", when: "after-forward" } }],
 * });
 * // ... point the client at proxy.url ...
 * expect(proxy.forwarded("POST", "/exec")).toBe(1);
 * ```
 */
export async function createFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(String(options.target));
  if (target.protocol !== "http:") throw new TypeError("the fault proxy forwards to http: targets only");
  let plan = new FaultPlan(options.rules ?? [], options.seed ?? 1);
  const received = new Map<string, number>();
  const forwarded = new Map<string, number>();
  const log: FaultLogEntry[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const agent = new HttpAgent({ keepAlive: true });
  let closing: Promise<void> | undefined;

  const bump = (map: Map<string, number>, method: string, path: string): void => {
    const k = key(method, path);
    map.set(k, (map.get(k) ?? 0) + 1);
  };

  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  /** Forwards the request upstream; `onResponse` decides what the client gets. */
  const forward = (req: IncomingMessage, res: ServerResponse, method: string, path: string, onResponse: (upstream: IncomingMessage) => void): void => {
    const headers = endToEnd(req.headers);
    headers.host = target.host;
    const upstream = httpRequest({ host: target.hostname, port: target.port, method, path: req.url ?? "/", headers, agent });
    upstream.on("finish", () => bump(forwarded, method, path));
    upstream.on("response", (response) => {
      response.on("error", noop);
      onResponse(response);
    });
    upstream.on("error", () => {
      if (!res.headersSent) {
        res.writeHead(502, { "content-type": "text/plain" });
        res.end("fault proxy: upstream unreachable");
      } else {
        res.destroy();
      }
    });
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    pipeline(req, upstream, noop);
  };

  const passThrough =
    (res: ServerResponse) =>
    (upstream: IncomingMessage): void => {
      res.writeHead(upstream.statusCode ?? 502, endToEnd(upstream.headers));
      pipeline(upstream, res, noop);
    };

  const truncate = (res: ServerResponse, upstream: IncomingMessage, bytes: number | undefined): void => {
    const declared = Number(upstream.headers["content-length"]);
    const limit = bytes ?? (Number.isFinite(declared) ? Math.floor(declared / 2) : 0);
    res.writeHead(upstream.statusCode ?? 502, endToEnd(upstream.headers));
    let sent = 0;
    let cut = false;
    const cutNow = (): void => {
      if (cut) return;
      cut = true;
      upstream.destroy();
      const socket = res.socket;
      if (socket === null) return;
      res.write("", () => socket.destroy());
    };
    if (limit <= 0) {
      res.flushHeaders();
      cutNow();
      return;
    }
    upstream.on("data", (chunk: Buffer) => {
      if (cut) return;
      const room = limit - sent;
      const part = chunk.byteLength > room ? chunk.subarray(0, room) : chunk;
      sent += part.byteLength;
      res.write(part);
      if (sent >= limit) cutNow();
    });
    upstream.on("end", cutNow);
  };

  const malformed = (res: ServerResponse, upstream: IncomingMessage): void => {
    upstream.resume();
    upstream.on("end", () => {
      const headers = endToEnd(upstream.headers);
      delete headers["content-length"];
      delete headers["content-encoding"];
      const body = '{"exitCode": 0, "stdout": "tru';
      res.writeHead(upstream.statusCode ?? 200, { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
    });
  };

  const inject = (req: IncomingMessage, res: ServerResponse, method: string, path: string, fault: Fault | undefined): void => {
    switch (fault?.kind) {
      case undefined:
        forward(req, res, method, path, passThrough(res));
        return;
      case "latency":
        later(fault.ms, () => {
          if (!req.socket.destroyed) forward(req, res, method, path, passThrough(res));
        });
        return;
      case "reset":
      case "close": {
        const hangUp = (): void => {
          if (fault.kind === "reset") req.socket.resetAndDestroy();
          else req.socket.end();
        };
        if (fault.when === "before-forward") {
          hangUp();
          return;
        }
        forward(req, res, method, path, (upstream) => {
          upstream.resume();
          upstream.on("end", hangUp);
        });
        return;
      }
      case "status": {
        req.resume();
        const body = fault.body ?? JSON.stringify({ error: `fault proxy: injected ${fault.status}` });
        const headers: OutgoingHttpHeaders = { "content-type": "application/json", "content-length": Buffer.byteLength(body) };
        if (fault.retryAfter !== undefined) headers["retry-after"] = String(fault.retryAfter);
        res.writeHead(fault.status, headers);
        res.end(body);
        return;
      }
      case "truncate":
        forward(req, res, method, path, (upstream) => truncate(res, upstream, fault.bytes));
        return;
      case "malformed-json":
        forward(req, res, method, path, (upstream) => malformed(res, upstream));
        return;
      case "stall":
        forward(req, res, method, path, (upstream) => {
          upstream.resume();
          if (fault.when === "after-headers") {
            const headers = endToEnd(upstream.headers);
            res.writeHead(upstream.statusCode ?? 200, headers);
            res.flushHeaders();
          }
        });
        return;
    }
  };

  const server = createServer((req, res) => {
    const method = (req.method ?? "GET").toUpperCase();
    const path = pathOf(req.url);
    bump(received, method, path);
    const fault = plan.next(method, path);
    log.push({ seq: log.length + 1, method, path, fault: fault?.kind });
    inject(req, res, method, path, fault);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("clientError", (_error, socket) => socket.destroy());
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;

  const count = (map: Map<string, number>, method?: string, path?: string): number => {
    let total = 0;
    for (const [k, n] of map) {
      const space = k.indexOf(" ");
      if (method !== undefined && k.slice(0, space) !== method.toUpperCase()) continue;
      if (path !== undefined && k.slice(space + 1) !== path) continue;
      total += n;
    }
    return total;
  };

  const close = (): Promise<void> => {
    closing ??= (async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      agent.destroy();
      await closed;
    })();
    return closing;
  };

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received: (method, path) => count(received, method, path),
    forwarded: (method, path) => count(forwarded, method, path),
    log,
    setRules(rules, seed) {
      plan = new FaultPlan(rules, seed ?? options.seed ?? 1);
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
