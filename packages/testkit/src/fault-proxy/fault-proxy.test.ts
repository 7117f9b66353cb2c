import { once } from "node:events";
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { createFaultProxy, type FaultProxy, type FaultProxyOptions } from "./fault-proxy.ts";
import { FaultPlan, seededRandom, type FaultRule } from "./faults.ts";

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Upstream {
  readonly url: string;
  readonly requests: { method: string; url: string; body: string }[];
}

async function upstream(handler?: (req: IncomingMessage, res: ServerResponse) => void): Promise<Upstream> {
  const requests: Upstream["requests"] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    if (handler !== undefined) {
      handler(req, res);
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      requests.push({ method: req.method ?? "", url: req.url ?? "", body });
      const text = JSON.stringify({ method: req.method, url: req.url, body, host: req.headers.host });
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text), "x-upstream": "yes" });
      res.end(text);
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

async function proxyFor(options: FaultProxyOptions): Promise<FaultProxy> {
  const proxy = await createFaultProxy(options);
  cleanups.push(() => proxy.close());
  return proxy;
}

interface Reply {
  readonly status: number;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
}

/** One request on a fresh connection; rejects with the socket error (its `code`) if the connection fails. */
function send(url: string, method = "GET", body?: string | Readable): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
      res.on("aborted", () => reject(Object.assign(new Error("response aborted"), { code: "ABORTED" })));
    });
    req.on("error", reject);
    if (body instanceof Readable) body.pipe(req);
    else req.end(body);
  });
}

async function failure(promise: Promise<unknown>): Promise<NodeJS.ErrnoException> {
  try {
    await promise;
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
  throw new Error("expected a failure");
}

describe("createFaultProxy: transparent forwarding", () => {
  it("forwards method, path, query, body and headers, and counts received and forwarded per method and path", async () => {
    const server = await upstream();
    const proxy = await proxyFor({ target: server.url });
    const reply = await send(`${proxy.url}/v1/exec?x=1`, "POST", "payload");
    expect(reply.status).toBe(200);
    expect(reply.headers["x-upstream"]).toBe("yes");
    expect(JSON.parse(reply.body)).toEqual({ method: "POST", url: "/v1/exec?x=1", body: "payload", host: new URL(server.url).host });
    await send(`${proxy.url}/v1/exec`, "POST", "again");
    await send(`${proxy.url}/healthz`);
    expect(proxy.received("POST", "/v1/exec")).toBe(2);
    expect(proxy.forwarded("POST", "/v1/exec")).toBe(2);
    expect(proxy.forwarded("GET", "/healthz")).toBe(1);
    expect(proxy.forwarded()).toBe(3);
    expect(proxy.log.map((e) => [e.seq, e.method, e.path, e.fault])).toEqual([
      [1, "POST", "/v1/exec", undefined],
      [2, "POST", "/v1/exec", undefined],
      [3, "GET", "/healthz", undefined],
    ]);
  });

  it("streams an upload: the upstream sees the first chunk before the client sends the second", async () => {
    let firstSeen: () => void = () => {};
    const seen = new Promise<void>((resolve) => {
      firstSeen = resolve;
    });
    const server = await upstream((req, res) => {
      let bytes = 0;
      req.on("data", (chunk: Buffer) => {
        bytes += chunk.byteLength;
        firstSeen();
      });
      req.on("end", () => res.end(String(bytes)));
    });
    const proxy = await proxyFor({ target: server.url });
    async function* body(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(64 * 1024, 1);
      await seen; // would never resolve if the proxy buffered the whole upload
      yield Buffer.alloc(64 * 1024, 2);
    }
    const reply = await send(`${proxy.url}/upload`, "PUT", Readable.from(body()));
    expect(reply.body).toBe(String(128 * 1024));
  });

  it("streams a download: the client sees the first chunk before the upstream sends the second", async () => {
    let release: () => void = () => {};
    const received = new Promise<void>((resolve) => {
      release = resolve;
    });
    const server = await upstream((_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.write(Buffer.alloc(32 * 1024, 1));
      void received.then(() => res.end(Buffer.alloc(32 * 1024, 2)));
    });
    const proxy = await proxyFor({ target: server.url });
    const total = await new Promise<number>((resolve, reject) => {
      httpRequest(`${proxy.url}/download`, { agent: false }, (res) => {
        let bytes = 0;
        res.on("data", (chunk: Buffer) => {
          bytes += chunk.byteLength;
          release();
        });
        res.on("end", () => resolve(bytes));
      })
        .on("error", reject)
        .end();
    });
    expect(total).toBe(64 * 1024);
  });

  it("answers 502 when the upstream cannot be reached", async () => {
    const proxy = await proxyFor({ target: "http://127.0.0.1:1" });
    expect((await send(`${proxy.url}/x`)).status).toBe(502);
    expect(proxy.forwarded()).toBe(0);
  });
});

describe("createFaultProxy: faults", () => {
  it("reset before forwarding: the client gets a reset and the upstream nothing", async () => {
    const server = await upstream();
    const proxy = await proxyFor({ target: server.url, rules: [{ fault: { kind: "reset", when: "before-forward" } }] });
    expect((await failure(send(`${proxy.url}/exec`, "POST", "x"))).code).toBe("ECONNRESET");
    expect(proxy.received("POST", "/exec")).toBe(1);
    expect(proxy.forwarded("POST", "/exec")).toBe(0);
    expect(server.requests).toEqual([]);
  });

  it("reset after forwarding: the upstream got the request, the client gets a reset", async () => {
    const server = await upstream();
    const proxy = await proxyFor({ target: server.url, rules: [{ fault: { kind: "reset", when: "after-forward" } }] });
    expect((await failure(send(`${proxy.url}/exec`, "POST", "cmd"))).code).toBe("ECONNRESET");
    expect(proxy.forwarded("POST", "/exec")).toBe(1);
    expect(server.requests).toEqual([{ method: "POST", url: "/exec", body: "cmd" }]);
  });

  it("close after forwarding: the connection ends without a response", async () => {
    const server = await upstream();
    const proxy = await proxyFor({ target: server.url, rules: [{ fault: { kind: "close", when: "after-forward" } }] });
    const error = await failure(send(`${proxy.url}/exec`, "POST", "cmd"));
    expect(error.code).toBe("ECONNRESET");
    expect(error.message).toBe("socket hang up");
    expect(proxy.forwarded("POST", "/exec")).toBe(1);
  });

  it("status: 429 and 503 with Retry-After (seconds or a date) and 500, without forwarding", async () => {
    const server = await upstream();
    const date = "Sun, 22 Nov 2026 10:00:05 GMT";
    const proxy = await proxyFor({
      target: server.url,
      rules: [
        { path: "/a", fault: { kind: "status", status: 429, retryAfter: 2 } },
        { path: "/b", fault: { kind: "status", status: 503, retryAfter: date } },
        { path: "/c", fault: { kind: "status", status: 500 } },
      ],
    });
    const a = await send(`${proxy.url}/a`);
    const b = await send(`${proxy.url}/b`);
    const c = await send(`${proxy.url}/c`, "POST", "body is drained");
    expect([a.status, a.headers["retry-after"]]).toEqual([429, "2"]);
    expect([b.status, b.headers["retry-after"]]).toEqual([503, date]);
    expect([c.status, c.headers["retry-after"], JSON.parse(c.body)]).toEqual([500, undefined, { error: "fault proxy: injected 500" }]);
    expect(proxy.forwarded()).toBe(0);
  });

  it("truncate: the headers promise more body than arrives", async () => {
    const server = await upstream();
    const proxy = await proxyFor({ target: server.url, rules: [{ fault: { kind: "truncate", bytes: 5 } }] });
    const error = await failure(send(`${proxy.url}/x`));
    expect(error.code).toMatch(/ECONNRESET|ABORTED/);
    expect(proxy.forwarded()).toBe(1);
  });

  it("malformed-json replaces the body with JSON that does not parse", async () => {
    const server = await upstream();
    const proxy = await proxyFor({ target: server.url, rules: [{ fault: { kind: "malformed-json" } }] });
    const reply = await send(`${proxy.url}/x`);
    expect(reply.status).toBe(200);
    expect(() => JSON.parse(reply.body) as unknown).toThrow(SyntaxError);
    expect(proxy.forwarded()).toBe(1);
  });

  it("latency delays the forwarded request", async () => {
    const server = await upstream();
    const proxy = await proxyFor({ target: server.url, rules: [{ fault: { kind: "latency", ms: 150 } }] });
    const started = performance.now();
    expect((await send(`${proxy.url}/x`)).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
  });

  it("stall after headers sends the headers and then nothing, until close() ends it", async () => {
    const server = await upstream();
    const proxy = await createFaultProxy({ target: server.url, rules: [{ fault: { kind: "stall", when: "after-headers" } }] });
    const headers = new Promise<IncomingMessage>((resolve, reject) => {
      httpRequest(`${proxy.url}/x`, { agent: false }, resolve).on("error", reject).end();
    });
    const res = await headers;
    expect(res.statusCode).toBe(200);
    const ended = new Promise<string>((resolve) => {
      res.on("aborted", () => resolve("aborted"));
      res.on("error", () => resolve("error"));
      res.on("end", () => resolve("end"));
    });
    res.resume();
    await proxy.close();
    expect(await ended).not.toBe("end");
    expect((await failure(send(`${proxy.url}/x`))).code).toBe("ECONNREFUSED");
  });
});

describe("createFaultProxy: deterministic plans", () => {
  it("on, times and method/path matching pick exactly the planned requests", async () => {
    const server = await upstream();
    const rules: FaultRule[] = [
      { method: "POST", path: /^\/v1\/sandboxes\/[^/]+\/exec$/, on: [2, 4], fault: { kind: "status", status: 503 } },
      { method: "GET", times: 1, fault: { kind: "status", status: 500 } },
    ];
    const proxy = await proxyFor({ target: server.url, rules });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i += 1) statuses.push((await send(`${proxy.url}/v1/sandboxes/s${i}/exec`, "POST")).status);
    statuses.push((await send(`${proxy.url}/healthz`)).status, (await send(`${proxy.url}/healthz`)).status);
    statuses.push((await send(`${proxy.url}/v1/sandboxes/s1/touch`, "POST")).status);
    expect(statuses).toEqual([200, 503, 200, 503, 200, 500, 200, 200]);
    expect(proxy.forwarded("POST")).toBe(4);
  });

  it("the same seed gives the same faults; another seed, another sequence", () => {
    const rules: FaultRule[] = [
      { probability: 0.3, fault: { kind: "reset", when: "before-forward" } },
      { probability: 0.3, fault: { kind: "status", status: 503 } },
    ];
    const run = (seed: number): (string | undefined)[] => {
      const plan = new FaultPlan(rules, seed);
      return Array.from({ length: 40 }, () => plan.next("GET", "/x")?.kind);
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
    expect(run(7).filter((k) => k !== undefined).length).toBeGreaterThan(5);
    expect(seededRandom(1)()).toBe(seededRandom(1)());
  });

  it("setRules replaces the plan", async () => {
    const server = await upstream();
    const proxy = await proxyFor({ target: server.url, rules: [{ fault: { kind: "status", status: 500 } }] });
    expect((await send(`${proxy.url}/x`)).status).toBe(500);
    proxy.setRules([]);
    expect((await send(`${proxy.url}/x`)).status).toBe(200);
  });

  it("refuses inconsistent rules", () => {
    expect(() => new FaultPlan([{ on: [1], times: 2, fault: { kind: "status", status: 500 } }], 1)).toThrow(TypeError);
    expect(() => new FaultPlan([{ probability: 2, fault: { kind: "status", status: 500 } }], 1)).toThrow(TypeError);
    expect(() => new FaultPlan([{ fault: { kind: "status", status: 42 } }], 1)).toThrow(TypeError);
  });
});
