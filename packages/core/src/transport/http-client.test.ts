import diagnosticsChannel from "node:diagnostics_channel";
import { once } from "node:events";
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import { Readable } from "node:stream";
import { inspect } from "node:util";
import { Agent, errors as undiciErrors, type buildConnector } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { AbortedError } from "../errors/aborted-error.ts";
import { AuthenticationError } from "../errors/authentication-error.ts";
import { ConnectionError } from "../errors/connection-error.ts";
import { ProtocolError } from "../errors/protocol-error.ts";
import { RateLimitError } from "../errors/rate-limit-error.ts";
import { RequestTimeoutError } from "../errors/request-timeout-error.ts";
import { SandboxClosedError } from "../errors/sandbox-closed-error.ts";
import { SandboxError } from "../errors/sandbox-error.ts";
import { SandboxNotFoundError } from "../errors/sandbox-not-found-error.ts";
import { ServerError } from "../errors/server-error.ts";
import { ValidationError } from "../errors/validation-error.ts";
import { Secret } from "../secret.ts";
import { HTTP_CHANNELS, type HttpRequestEvent } from "./channels.ts";
import { createHttpClient } from "./http-client.ts";
import { httpDetailsOf } from "./http-errors.ts";
import { int, obj, str } from "./shape.ts";
import type { HttpClient, HttpClientOptions } from "./types.ts";

// ---------------------------------------------------------------------------------------------
// Loopback servers and clean-up

type Handler = (req: IncomingMessage, res: ServerResponse, hit: number) => void | Promise<void>;

interface Loopback {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** Requests received, per `METHOD /path`. */
  hits(method: string, path: string): number;
  /** Sockets open on the server side now. */
  openSockets(): number;
  /** Resolves at the next request received. */
  nextRequest(): Promise<IncomingMessage>;
}

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(handler: Handler, port = 0): Promise<Loopback> {
  const counts = new Map<string, number>();
  const sockets = new Set<Socket>();
  const waiters: ((req: IncomingMessage) => void)[] = [];
  const server = createServer((req, res) => {
    const key = `${req.method} ${new URL(req.url ?? "/", "http://x").pathname}`;
    const hit = (counts.get(key) ?? 0) + 1;
    counts.set(key, hit);
    for (const waiter of waiters.splice(0)) waiter(req);
    void Promise.resolve(handler(req, res, hit)).catch((error: unknown) => {
      res.destroy(error instanceof Error ? error : undefined);
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.listen(port, "127.0.0.1");
  await once(server, "listening");
  const actual = (server.address() as AddressInfo).port;
  cleanups.push(async () => {
    server.closeAllConnections();
    for (const socket of sockets) socket.destroy();
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    server,
    hits: (method, path) => counts.get(`${method} ${path}`) ?? 0,
    openSockets: () => sockets.size,
    nextRequest: () => new Promise((resolve) => waiters.push(resolve)),
  };
}

function json(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function readRequestBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function client(options: HttpClientOptions): HttpClient {
  const http = createHttpClient({ retry: { minDelayMs: 20, maxDelayMs: 100 }, ...options });
  cleanups.push(() => http.close());
  return http;
}

/** A port nothing listens on (taken, then released). */
async function freePort(): Promise<number> {
  const server = createNetServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the promise to reject");
}

/** Collects the transport's channel messages until the test ends. */
function recordChannels(): { name: string; message: HttpRequestEvent }[] {
  const events: { name: string; message: HttpRequestEvent }[] = [];
  for (const name of Object.values(HTTP_CHANNELS)) {
    const listener = (message: unknown): void => {
      events.push({ name, message: message as HttpRequestEvent });
    };
    diagnosticsChannel.subscribe(name, listener);
    cleanups.push(() => {
      diagnosticsChannel.unsubscribe(name, listener);
    });
  }
  return events;
}

async function waitFor(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

// ---------------------------------------------------------------------------------------------

describe("requests and responses", () => {
  it("joins baseUrl and path, form-encodes the query, sends the user agent and headers, validates the shape", async () => {
    const server = await serve((req, res) => json(res, 200, { url: req.url, ua: req.headers["user-agent"], extra: req.headers["x-trace"], n: 7 }));
    const http = client({ baseUrl: `${server.url}/prefix/`, userAgent: "my-agent/2", headers: { "X-Trace": "t-1" } });
    const response = await http.request({
      operation: "probe",
      method: "GET",
      path: "/v1/x",
      query: { dest: "/workspace/my dir&x=1", n: 2, skip: undefined },
      idempotent: true,
      shape: obj({ url: str, ua: str, extra: str, n: int }),
    });
    expect(response.status).toBe(200);
    expect(response.attempts).toBe(1);
    expect(response.body).toEqual({
      url: "/prefix/v1/x?dest=%2Fworkspace%2Fmy+dir%26x%3D1&n=2",
      ua: expect.stringMatching(/^sandkit\/\d+\.\d+\.\d+ my-agent\/2$/),
      extra: "t-1",
      n: 7,
    });
  });

  it("one client reaches several origins (a control plane and data planes)", async () => {
    const control = await serve((_req, res) => json(res, 200, { plane: "control" }));
    const data = await serve((_req, res) => json(res, 200, { plane: "data" }));
    const http = client({ baseUrl: control.url });
    const a = await http.request({ operation: "get", method: "GET", path: "/", idempotent: true });
    const b = await http.request({ operation: "get", method: "GET", url: `${data.url}/v1/sandbox`, idempotent: true });
    expect([a.body, b.body]).toEqual([{ plane: "control" }, { plane: "data" }]);
  });

  it("sends json, string, bytes, a Readable and an async iterable as bodies", async () => {
    const server = await serve(async (req, res) => {
      const body = await readRequestBody(req);
      json(res, 200, { type: req.headers["content-type"] ?? null, text: body.toString() });
    });
    const http = client({ baseUrl: server.url });
    const send = async (options: { json?: unknown; body?: string | Uint8Array | Readable | AsyncIterable<Uint8Array>; headers?: Record<string, string> }) =>
      (await http.request({ operation: "send", method: "POST", path: "/echo", idempotent: false, ...options })).body;
    expect(await send({ json: { cmd: ["echo", "ü"] } })).toEqual({ type: "application/json", text: '{"cmd":["echo","ü"]}' });
    expect(await send({ body: "plain", headers: { "content-type": "text/plain" } })).toEqual({ type: "text/plain", text: "plain" });
    expect(await send({ body: new TextEncoder().encode("bytes") })).toEqual({ type: null, text: "bytes" });
    expect(await send({ body: Readable.from([Buffer.from("stre"), Buffer.from("am")]) })).toEqual({ type: null, text: "stream" });
    async function* gen(): AsyncIterable<Uint8Array> {
      yield Buffer.from("gen");
      yield Buffer.from("erator");
    }
    expect(await send({ body: gen() })).toEqual({ type: null, text: "generator" });
  });

  it("returns text, bytes, a stream, nothing, and answers HEAD without reading a body", async () => {
    const server = await serve((req, res) => {
      res.writeHead(200, { "content-type": "text/plain", "content-length": 5 });
      res.end(req.method === "HEAD" ? undefined : "hello");
    });
    const http = client({ baseUrl: server.url });
    const base = { operation: "read", method: "GET", path: "/", idempotent: true } as const;
    expect((await http.request({ ...base, responseType: "text" })).body).toBe("hello");
    expect(Buffer.from((await http.request({ ...base, responseType: "bytes" })).body).toString()).toBe("hello");
    expect((await http.request({ ...base, responseType: "none" })).body).toBeUndefined();
    const head = await http.request({ ...base, method: "HEAD", responseType: "bytes", maxResponseBytes: 1 });
    expect(head.headers["content-length"]).toBe("5");
    expect(head.body).toBeUndefined();
    const stream = await http.request({ ...base, responseType: "stream" });
    const chunks: Buffer[] = [];
    for await (const chunk of stream.body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe("hello");
  });

  it("acceptStatus makes a status a normal answer", async () => {
    const server = await serve((_req, res) => json(res, 404, { exists: false }));
    const http = client({ baseUrl: server.url });
    const response = await http.request({ operation: "exists", method: "GET", path: "/env/x", idempotent: true, acceptStatus: [404] });
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ exists: false });
  });

  it("refuses bad options with ValidationError before sending", async () => {
    const server = await serve((_req, res) => json(res, 200, {}));
    const http = client({ baseUrl: server.url });
    const base = { operation: "x", method: "GET", path: "/", idempotent: true } as const;
    await expect(http.request({ ...base, path: "relative" })).rejects.toBeInstanceOf(ValidationError);
    await expect(http.request({ ...base, url: "file:///etc/passwd" })).rejects.toBeInstanceOf(ValidationError);
    await expect(http.request({ ...base, timeoutMs: -1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(http.request({ ...base, method: "POST", body: "a", json: {} })).rejects.toBeInstanceOf(ValidationError);
    await expect(http.request({ ...base, idempotent: undefined as unknown as boolean })).rejects.toBeInstanceOf(ValidationError);
    await expect(http.request({ ...base, headers: { "x-bad": "a\r\nb" } })).rejects.toBeInstanceOf(ValidationError);
    expect(() => createHttpClient({ connections: 0 })).toThrow(ValidationError);
    expect(() => createHttpClient({ dispatcher: new Agent(), proxyFromEnv: true })).toThrow(ValidationError);
    expect(server.hits("GET", "/")).toBe(0);
  });
});

describe("bodies that are not what was promised", () => {
  it("a body of the wrong shape is a ProtocolError naming the JSON path", async () => {
    const server = await serve((_req, res) => json(res, 200, { exitCode: "0", stdout: "" }));
    const http = client({ baseUrl: server.url, backend: "noxrunner" });
    const error = await rejection(
      http.request({ operation: "exec", method: "POST", path: "/exec", idempotent: false, shape: obj({ exitCode: int, stdout: str }) }),
    );
    expect(error).toBeInstanceOf(ProtocolError);
    const protocol = error as ProtocolError;
    expect(protocol.message).toContain("$.exitCode: expected an integer, got a string");
    expect(protocol).toMatchObject({ operation: "exec", backend: "noxrunner", status: 200 });
    expect(httpDetailsOf(protocol)).toMatchObject({ method: "POST", url: `${server.url}/exec`, status: 200, attempt: 1 });
  });

  it("malformed and empty JSON are ProtocolErrors, not retried", async () => {
    const server = await serve((req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(req.url === "/empty" ? "" : '{"exitCode": 0,');
    });
    const http = client({ baseUrl: server.url });
    const bad = await rejection(http.request({ operation: "get", method: "GET", path: "/bad", idempotent: true }));
    expect(bad).toBeInstanceOf(ProtocolError);
    expect((bad as ProtocolError).message).toContain("not valid JSON");
    expect((bad as ProtocolError).bodyExcerpt).toBe('{"exitCode": 0,');
    expect(server.hits("GET", "/bad")).toBe(1);
    const empty = await rejection(http.request({ operation: "get", method: "GET", path: "/empty", idempotent: true }));
    expect((empty as ProtocolError).message).toContain("empty");
  });

  it("maxResponseBytes stops a declared or a chunked body past the limit", async () => {
    const big = "x".repeat(5_000);
    const server = await serve((req, res) => {
      if (req.url === "/declared") {
        res.writeHead(200, { "content-length": big.length });
        res.end(big);
      } else {
        res.writeHead(200);
        for (let i = 0; i < 5; i += 1) res.write(big.slice(0, 1_000));
        res.end();
      }
    });
    const http = client({ baseUrl: server.url, maxResponseBytes: 4_000 });
    for (const path of ["/declared", "/chunked"]) {
      const error = await rejection(http.request({ operation: "get", method: "GET", path, idempotent: true, responseType: "text" }));
      expect(error).toBeInstanceOf(ProtocolError);
      expect((error as ProtocolError).message).toContain("larger than maxResponseBytes (4000 bytes)");
    }
    const ok = await http.request({ operation: "get", method: "GET", path: "/declared", idempotent: true, responseType: "text", maxResponseBytes: 5_000 });
    expect(ok.body).toHaveLength(5_000);
  });

  it("a response that is not HTTP is a ProtocolError", async () => {
    const raw = createNetServer((socket) => {
      socket.once("data", () => socket.end("SSH-2.0-OpenSSH\r\n\r\n"));
    });
    raw.listen(0, "127.0.0.1");
    await once(raw, "listening");
    cleanups.push(() => new Promise<void>((resolve) => raw.close(() => resolve())));
    const http = client({ baseUrl: `http://127.0.0.1:${(raw.address() as AddressInfo).port}` });
    const error = await rejection(http.request({ operation: "get", method: "GET", path: "/", idempotent: true }));
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).protocolCode).toMatch(/^HPE/);
  });
});

describe("status codes map to typed errors", () => {
  const table: [status: number, retryAfter: string | undefined, check: (error: unknown) => void][] = [
    [400, undefined, (e) => expect(e).toBeInstanceOf(ValidationError)],
    [401, undefined, (e) => expect(e).toMatchObject({ constructor: AuthenticationError, reason: "unauthenticated", status: 401 })],
    [403, undefined, (e) => expect(e).toMatchObject({ constructor: AuthenticationError, reason: "forbidden", status: 403 })],
    [404, undefined, (e) => expect(e).toBeInstanceOf(SandboxNotFoundError)],
    [409, undefined, (e) => expect(e).toMatchObject({ constructor: ProtocolError, status: 409 })],
    [422, undefined, (e) => expect(e).toBeInstanceOf(ValidationError)],
    [429, "7", (e) => expect(e).toMatchObject({ constructor: RateLimitError, retryAfterMs: 7_000, status: 429 })],
    [429, undefined, (e) => expect(e).toMatchObject({ constructor: RateLimitError, retryAfterMs: undefined })],
    [500, undefined, (e) => expect(e).toMatchObject({ constructor: ServerError, status: 500, retryable: false })],
    [502, undefined, (e) => expect(e).toMatchObject({ constructor: ServerError, status: 502 })],
    [503, undefined, (e) => expect(e).toMatchObject({ constructor: ServerError, status: 503 })],
    [503, "2", (e) => expect(e).toMatchObject({ constructor: RateLimitError, retryAfterMs: 2_000, status: 503 })],
    [504, undefined, (e) => expect(e).toMatchObject({ constructor: ServerError, status: 504 })],
    [302, undefined, (e) => expect(e).toMatchObject({ constructor: ProtocolError, status: 302 })],
  ];

  it.each(table)("%i (Retry-After %s)", async (status, retryAfter, check) => {
    const server = await serve((_req, res) => json(res, status, { error: `status ${status}` }, retryAfter === undefined ? {} : { "retry-after": retryAfter }));
    const http = client({ baseUrl: server.url, backend: "test-backend" });
    const error = await rejection(http.request({ operation: "exec", method: "POST", path: "/run", idempotent: false, sandboxId: "sbx-1" }));
    check(error);
    expect(error).toMatchObject({ operation: "exec", backend: "test-backend", sandboxId: "sbx-1" });
    expect(httpDetailsOf(error)).toEqual({ method: "POST", url: `${server.url}/run`, status, bodyExcerpt: `{"error":"status ${status}"}`, attempt: 1 });
    expect((error as Error).message).toContain(`test-backend exec: POST ${server.url}/run answered ${status}`);
    expect(server.hits("POST", "/run")).toBe(1);
  });

  it("an adapter's mapper claims its protocol codes; the table handles the rest", async () => {
    const server = await serve((req, res) => {
      if (req.url === "/gone") json(res, 404, { error: { code: "POD_NOT_FOUND", message: "no pod" } });
      else json(res, 404, { detail: "Not Found" });
    });
    const seen: unknown[] = [];
    const http = client({
      baseUrl: server.url,
      backend: "noxrunner",
      mapError(info) {
        seen.push(info.json);
        const code = (info.json as { error?: { code?: unknown } } | undefined)?.error?.code;
        if (code === "POD_NOT_FOUND") return new ProtocolError(`${info.summary}: pod missing`, { ...info.context, protocolCode: code });
        return undefined;
      },
    });
    const mapped = await rejection(http.request({ operation: "exec", method: "POST", path: "/gone", idempotent: false }));
    expect(mapped).toMatchObject({ constructor: ProtocolError, protocolCode: "POD_NOT_FOUND", backend: "noxrunner", operation: "exec" });
    expect(httpDetailsOf(mapped)?.status).toBe(404);
    const fallback = await rejection(http.request({ operation: "exec", method: "POST", path: "/other", idempotent: false }));
    expect(fallback).toBeInstanceOf(SandboxNotFoundError);
    expect(seen).toEqual([{ error: { code: "POD_NOT_FOUND", message: "no pod" } }, { detail: "Not Found" }]);
  });
});

describe("a mapper that throws", () => {
  it("gives a ProtocolError with the mapper's error as cause, not an untyped error", async () => {
    const server = await serve((_req, res) => json(res, 418, { error: "teapot" }));
    const bug = new TypeError("mapper bug");
    const http = client({
      baseUrl: server.url,
      mapError: () => {
        throw bug;
      },
    });
    const error = await rejection(http.request({ operation: "brew", method: "POST", path: "/", idempotent: false }));
    expect(error).toMatchObject({ constructor: ProtocolError, status: 418, cause: bug });
  });
});

describe("secrets", () => {
  it("never show in errors, excerpts, inspect output, JSON or channel messages, even when the server echoes them", async () => {
    const events = recordChannels();
    const server = await serve((req, res) => json(res, 500, { error: "boom", echoed: req.headers, url: req.url }));
    const serviceKey = new Secret("svc-key-abcdef123456");
    const bearer = "tok-zyx987654321";
    const perRequest = "req-key-55555aaaa";
    const http = client({
      baseUrl: `http://admin:pa55-w0rd-xyz@127.0.0.1:${server.port}`,
      headers: { "X-Service-Key": serviceKey, Authorization: `Bearer ${bearer}` },
    });
    const error = await rejection(
      http.request({ operation: "exec", method: "POST", path: "/x", query: { token: "q-token-77777" }, headers: { "X-API-Key": perRequest }, idempotent: false }),
    );
    expect(error).toBeInstanceOf(ServerError);
    const shown = [
      (error as Error).message,
      (error as Error).stack ?? "",
      inspect(error, { depth: 8 }),
      JSON.stringify(error),
      JSON.stringify(httpDetailsOf(error)),
      JSON.stringify(events),
    ].join("\n");
    for (const secret of [serviceKey.reveal(), bearer, perRequest, "pa55-w0rd-xyz", "q-token-77777", Buffer.from("admin:pa55-w0rd-xyz").toString("base64")]) {
      expect(shown).not.toContain(secret);
    }
    expect(shown).toContain("token=[redacted]");
    expect(events.map((e) => e.name)).toEqual([HTTP_CHANNELS.start, HTTP_CHANNELS.error]);
  });
});

describe("retries", () => {
  it("an idempotent call survives 503s and a reset, and channels report each attempt", async () => {
    const events = recordChannels();
    const server = await serve((req, res, hit) => {
      if (hit === 1) json(res, 503, { error: "busy" });
      else if (hit === 2) req.socket.resetAndDestroy();
      else json(res, 200, { ok: true });
    });
    const http = client({ baseUrl: server.url, backend: "t" });
    const response = await http.request({ operation: "health", method: "GET", path: "/h", idempotent: true });
    expect(response.body).toEqual({ ok: true });
    expect(response.attempts).toBe(3);
    expect(server.hits("GET", "/h")).toBe(3);
    expect(events.map((e) => `${e.name.split(".").pop()}:${e.message.attempt}`)).toEqual(["start:1", "error:1", "start:2", "error:2", "start:3", "finish:3"]);
    expect(events[1]!.message).toMatchObject({ status: 503, errorCode: "SERVER_ERROR", operation: "health", backend: "t", method: "GET", url: `${server.url}/h` });
    expect(events[3]!.message).toMatchObject({ errorCode: "CONNECTION_FAILED", requestSent: true });
    expect(events[3]!.message.errno).toMatch(/ECONNRESET|UND_ERR_SOCKET/);
    expect(events[5]!.message.status).toBe(200);
    expect(events[5]!.message.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("a non-idempotent call is not repeated after a 503 or after the server closed the connection without a response", async () => {
    const server = await serve((req, res) => {
      if (req.url === "/busy") json(res, 503, { error: "busy" });
      else req.socket.resetAndDestroy();
    });
    const http = client({ baseUrl: server.url });
    const busy = await rejection(http.request({ operation: "exec", method: "POST", path: "/busy", json: { cmd: ["true"] }, idempotent: false }));
    expect(busy).toMatchObject({ constructor: ServerError, status: 503, retryable: false });
    expect(server.hits("POST", "/busy")).toBe(1);
    const dropped = await rejection(http.request({ operation: "exec", method: "POST", path: "/drop", json: { cmd: ["true"] }, idempotent: false }));
    expect(dropped).toMatchObject({ constructor: ConnectionError, requestSent: true, retryable: false });
    expect((dropped as ConnectionError).errno).toMatch(/ECONNRESET|UND_ERR_SOCKET/);
    expect((dropped as Error).message).toContain("closed the connection without a response");
    expect(server.hits("POST", "/drop")).toBe(1);
  });

  it("unprocessedStatuses lets a non-idempotent call retry a 503 the server sends before doing anything", async () => {
    const server = await serve((_req, res, hit) => (hit === 1 ? json(res, 503, { error: "overloaded" }) : json(res, 200, { ran: true })));
    const http = client({ baseUrl: server.url });
    const response = await http.request({ operation: "execute", method: "POST", path: "/execute/", body: "x", idempotent: false, unprocessedStatuses: [503] });
    expect(response.body).toEqual({ ran: true });
    expect(server.hits("POST", "/execute/")).toBe(2);
  });

  it("a refused connection is retried even for a non-idempotent call, replaying an unstarted stream body, and delivered once", async () => {
    const port = await freePort();
    let late: Promise<Loopback> | undefined;
    const listener = (message: unknown): void => {
      if ((message as HttpRequestEvent).errno === "ECONNREFUSED") {
        late ??= serve(async (req, res) => json(res, 200, { got: (await readRequestBody(req)).toString() }), port);
      }
    };
    diagnosticsChannel.subscribe(HTTP_CHANNELS.error, listener);
    cleanups.push(() => {
      diagnosticsChannel.unsubscribe(HTTP_CHANNELS.error, listener);
    });
    const http = client({ baseUrl: `http://127.0.0.1:${port}`, retry: { minDelayMs: 200, maxDelayMs: 200 } });
    const response = await http.request({ operation: "exec", method: "POST", path: "/exec", body: Readable.from([Buffer.from("payload")]), idempotent: false });
    expect(response.body).toEqual({ got: "payload" });
    expect(response.attempts).toBe(2);
    const server = await late!;
    expect(server.hits("POST", "/exec")).toBe(1);
  });

  it("a refused connection that stays refused ends in ConnectionError(ECONNREFUSED, requestSent false) after the budget", async () => {
    const port = await freePort();
    const events = recordChannels();
    const http = client({ baseUrl: `http://127.0.0.1:${port}`, retry: { maxAttempts: 3, minDelayMs: 10, maxDelayMs: 10 } });
    const error = await rejection(http.request({ operation: "exec", method: "POST", path: "/exec", idempotent: false }));
    expect(error).toMatchObject({ constructor: ConnectionError, errno: "ECONNREFUSED", requestSent: false, retryable: true });
    expect(httpDetailsOf(error)?.attempt).toBe(3);
    expect(events.filter((e) => e.name === HTTP_CHANNELS.start)).toHaveLength(3);
  });

  it.each([
    ["ENOTFOUND", () => Object.assign(new Error("getaddrinfo ENOTFOUND sandbox.invalid"), { code: "ENOTFOUND" })],
    ["EAI_AGAIN", () => Object.assign(new Error("getaddrinfo EAI_AGAIN sandbox.invalid"), { code: "EAI_AGAIN" })],
    ["UND_ERR_CONNECT_TIMEOUT", () => new undiciErrors.ConnectTimeoutError()],
  ])("a connect failure (%s) is retried for a non-idempotent call: the request never left", async (code, makeError) => {
    let connects = 0;
    const connector: buildConnector.connector = (_options, callback) => {
      connects += 1;
      queueMicrotask(() => callback(makeError(), null));
    };
    const agent = new Agent({ connect: connector });
    cleanups.push(() => agent.destroy());
    const http = client({ baseUrl: "http://sandbox.invalid:8080", dispatcher: agent, retry: { maxAttempts: 3, minDelayMs: 5, maxDelayMs: 5 } });
    const error = await rejection(http.request({ operation: "exec", method: "POST", path: "/exec", json: {}, idempotent: false }));
    expect(error).toMatchObject({ constructor: ConnectionError, errno: code, requestSent: false });
    expect(httpDetailsOf(error)?.attempt).toBe(3);
    expect(connects).toBe(3);
  });

  it("a stream body that began is not replayed, even for an idempotent call", async () => {
    const server = await serve(async (req) => {
      await readRequestBody(req);
      req.socket.resetAndDestroy();
    });
    const http = client({ baseUrl: server.url });
    const error = await rejection(http.request({ operation: "upload", method: "PUT", path: "/f", body: Readable.from([Buffer.from("abc")]), idempotent: true }));
    expect(error).toBeInstanceOf(ConnectionError);
    expect(server.hits("PUT", "/f")).toBe(1);
  });

  it("honours Retry-After in seconds: the measured wait is at least the asked wait", async () => {
    const arrivals: number[] = [];
    const server = await serve((_req, res, hit) => {
      arrivals.push(performance.now());
      if (hit === 1) json(res, 429, { error: "slow down" }, { "retry-after": "1" });
      else json(res, 200, { ok: true });
    });
    const http = client({ baseUrl: server.url });
    const response = await http.request({ operation: "get", method: "GET", path: "/", idempotent: true, timeoutMs: 5_000 });
    expect(response.attempts).toBe(2);
    expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(1_000);
  });

  it("honours Retry-After as an HTTP date", async () => {
    let askedUntil = 0;
    let secondAt = 0;
    const server = await serve((_req, res, hit) => {
      if (hit === 1) {
        const date = new Date(Date.now() + 1_500);
        askedUntil = Math.floor(date.getTime() / 1000) * 1000;
        json(res, 503, { error: "later" }, { "retry-after": date.toUTCString() });
      } else {
        secondAt = Date.now();
        json(res, 200, { ok: true });
      }
    });
    const http = client({ baseUrl: server.url });
    await http.request({ operation: "get", method: "GET", path: "/", idempotent: true, timeoutMs: 5_000 });
    expect(secondAt).toBeGreaterThanOrEqual(askedUntil);
  });

  it("a Retry-After past the deadline is not waited out: the RateLimitError comes at once", async () => {
    const server = await serve((_req, res) => json(res, 429, { error: "later" }, { "retry-after": "5" }));
    const http = client({ baseUrl: server.url });
    const started = performance.now();
    const error = await rejection(http.request({ operation: "get", method: "GET", path: "/", idempotent: true, timeoutMs: 1_000 }));
    expect(performance.now() - started).toBeLessThan(500);
    expect(error).toMatchObject({ constructor: RateLimitError, retryAfterMs: 5_000 });
    expect(server.hits("GET", "/")).toBe(1);
  });

  it("retries never run past the deadline", async () => {
    const server = await serve((_req, res) => json(res, 503, { error: "busy" }));
    const http = client({ baseUrl: server.url, retry: { maxAttempts: 100, minDelayMs: 50, maxDelayMs: 100 } });
    const started = performance.now();
    const error = await rejection(http.request({ operation: "get", method: "GET", path: "/", idempotent: true, timeoutMs: 600 }));
    const elapsed = performance.now() - started;
    expect(elapsed).toBeLessThan(700);
    expect(SandboxError.isInstance(error) && (error instanceof ServerError || error instanceof RequestTimeoutError)).toBe(true);
    expect(server.hits("GET", "/")).toBeGreaterThan(2);
  });
});

describe("deadlines and aborts", () => {
  it("a server that never answers: RequestTimeoutError within 100 ms of the deadline", async () => {
    const server = await serve(() => {});
    const http = client({ baseUrl: server.url, backend: "t" });
    const started = performance.now();
    const error = await rejection(http.request({ operation: "exec", method: "POST", path: "/x", idempotent: false, timeoutMs: 300 }));
    const elapsed = performance.now() - started;
    expect(error).toMatchObject({ constructor: RequestTimeoutError, timeoutMs: 300, operation: "exec", backend: "t" });
    expect(httpDetailsOf(error)).toMatchObject({ method: "POST", url: `${server.url}/x` });
    expect(elapsed).toBeGreaterThanOrEqual(295);
    expect(elapsed).toBeLessThan(400);
  });

  it("headers then a stalled body: RequestTimeoutError within 100 ms of the deadline", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": 100 });
      res.write('{"partial":');
    });
    const http = client({ baseUrl: server.url });
    const started = performance.now();
    const error = await rejection(http.request({ operation: "get", method: "GET", path: "/", idempotent: true, timeoutMs: 300 }));
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(elapsed).toBeGreaterThanOrEqual(295);
    expect(elapsed).toBeLessThan(400);
    expect(server.hits("GET", "/")).toBe(1);
  });

  it("a streamed response stays under the deadline until it is consumed", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.write("first chunk");
    });
    const http = client({ baseUrl: server.url });
    const started = performance.now();
    const response = await http.request({ operation: "download", method: "GET", path: "/", idempotent: true, responseType: "stream", timeoutMs: 300 });
    const chunks: string[] = [];
    const error = await rejection(
      (async () => {
        for await (const chunk of response.body) chunks.push(String(chunk));
      })(),
    );
    const elapsed = performance.now() - started;
    expect(chunks).toEqual(["first chunk"]);
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(elapsed).toBeLessThan(400);
  });

  it("a connection that never completes: the deadline and the caller's abort still hold", async () => {
    const agent = new Agent({ connect: () => {} }); // never connects
    cleanups.push(() => agent.destroy());
    const http = client({ baseUrl: "http://127.0.0.1:9", dispatcher: agent });
    const started = performance.now();
    const error = await rejection(http.request({ operation: "get", method: "GET", path: "/", idempotent: true, timeoutMs: 250 }));
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(elapsed).toBeGreaterThanOrEqual(245);
    expect(elapsed).toBeLessThan(350);
    const controller = new AbortController();
    const aborted = rejection(http.request({ operation: "get", method: "GET", path: "/", idempotent: true, signal: controller.signal }));
    controller.abort();
    expect(await aborted).toBeInstanceOf(AbortedError);
  });

  it("the caller's abort is an AbortedError carrying the reason", async () => {
    const server = await serve(() => {});
    const http = client({ baseUrl: server.url });
    const controller = new AbortController();
    const arrived = server.nextRequest();
    const pending = rejection(http.request({ operation: "exec", method: "POST", path: "/x", idempotent: false, signal: controller.signal, timeoutMs: 5_000 }));
    await arrived;
    controller.abort(new Error("user cancelled"));
    const error = await pending;
    expect(error).toBeInstanceOf(AbortedError);
    expect(((error as AbortedError).cause as Error).message).toBe("user cancelled");
    const already = await rejection(http.request({ operation: "exec", method: "POST", path: "/x", idempotent: false, signal: AbortSignal.abort() }));
    expect(already).toBeInstanceOf(AbortedError);
  });
});

describe("the connection pool", () => {
  it("keeps connections alive and closes every socket on close(); close is idempotent", async () => {
    const server = await serve((_req, res) => json(res, 200, { ok: true }));
    const http = createHttpClient({ baseUrl: server.url });
    await Promise.all(Array.from({ length: 4 }, () => http.request({ operation: "get", method: "GET", path: "/", idempotent: true })));
    await http.request({ operation: "get", method: "GET", path: "/", idempotent: true });
    expect(server.openSockets()).toBeGreaterThan(0);
    expect(server.openSockets()).toBeLessThanOrEqual(4);
    await Promise.all([http.close(), http.close()]);
    await http[Symbol.asyncDispose]();
    expect(http.closed).toBe(true);
    await waitFor(() => server.openSockets() === 0);
    await expect(http.request({ operation: "get", method: "GET", path: "/", idempotent: true })).rejects.toBeInstanceOf(SandboxClosedError);
  });

  it("close() is bounded even with a response nobody reads", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200);
      res.write("x");
    });
    const http = createHttpClient({ baseUrl: server.url, closeTimeoutMs: 200 });
    const response = await http.request({ operation: "download", method: "GET", path: "/", idempotent: true, responseType: "stream" });
    response.body.on("error", () => {});
    const started = performance.now();
    await http.close();
    expect(performance.now() - started).toBeLessThan(400);
    await waitFor(() => server.openSockets() === 0);
    expect(response.body.destroyed).toBe(true);
  });

  it("an injected dispatcher is used and left open", async () => {
    const server = await serve((_req, res) => json(res, 200, { ok: true }));
    const agent = new Agent();
    cleanups.push(() => agent.close());
    const http = createHttpClient({ baseUrl: server.url, dispatcher: agent });
    await http.request({ operation: "get", method: "GET", path: "/", idempotent: true });
    await http.close();
    expect(agent.closed).toBe(false);
    const again = await agent.request({ origin: server.url, path: "/", method: "GET" });
    expect(await again.body.json()).toEqual({ ok: true });
  });

  it("honours HTTP_PROXY only with proxyFromEnv: true", async () => {
    const target = await serve((_req, res) => json(res, 200, { from: "target" }));
    const proxied: string[] = [];
    const proxy = await serve((req, res) => {
      proxied.push(req.url ?? "");
      const upstream = httpRequest(req.url ?? "", { method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      req.pipe(upstream);
    });
    const saved = { HTTP_PROXY: process.env.HTTP_PROXY, NO_PROXY: process.env.NO_PROXY, http_proxy: process.env.http_proxy, no_proxy: process.env.no_proxy };
    cleanups.push(() => {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });
    process.env.HTTP_PROXY = proxy.url;
    process.env.http_proxy = proxy.url;
    process.env.NO_PROXY = "";
    process.env.no_proxy = "";
    const direct = client({ baseUrl: target.url });
    expect((await direct.request({ operation: "get", method: "GET", path: "/a", idempotent: true })).body).toEqual({ from: "target" });
    expect(proxied).toEqual([]);
    const viaProxy = client({ baseUrl: target.url, proxyFromEnv: true });
    expect((await viaProxy.request({ operation: "get", method: "GET", path: "/b", idempotent: true })).body).toEqual({ from: "target" });
    expect(proxied).toEqual([`${target.url}/b`]);
  });
});
