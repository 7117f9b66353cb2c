/**
 * The core HTTP transport under injected faults, over real loopback sockets: client -> fault proxy ->
 * a small exec server. What must hold: idempotent calls survive, a non-idempotent call is never
 * delivered twice, Retry-After is honoured, deadlines hold, and every error is a documented class.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import {
  ConnectionError,
  createHttpClient,
  httpDetailsOf,
  int,
  obj,
  ProtocolError,
  RateLimitError,
  RequestTimeoutError,
  SandboxError,
  ServerError,
  str,
  type HttpClient,
  type HttpClientOptions,
} from "@sandkit/core";
import { afterEach, describe, expect, it } from "vitest";
import { createFaultProxy, type FaultProxy } from "./fault-proxy.ts";
import type { FaultRule } from "./faults.ts";

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const execResult = obj({ exitCode: int, stdout: str });

/** A tiny exec server: GET /v1/sandboxes/:id and POST /v1/sandboxes/:id/exec; it counts deliveries per path. */
async function execServer(): Promise<{ url: string; delivered: (path: string) => number }> {
  const deliveries = new Map<string, number>();
  const sockets = new Set<Socket>();
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const path = (req.url ?? "/").split("?")[0]!;
      deliveries.set(`${req.method} ${path}`, (deliveries.get(`${req.method} ${path}`) ?? 0) + 1);
      const body =
        req.method === "POST"
          ? JSON.stringify({ exitCode: 0, stdout: Buffer.concat(chunks).toString() })
          : JSON.stringify({ exitCode: 0, stdout: "x".repeat(2_000) });
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
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
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    delivered: (path) => deliveries.get(`POST ${path}`) ?? deliveries.get(`GET ${path}`) ?? 0,
  };
}

async function setup(rules: readonly FaultRule[], options: HttpClientOptions = {}, seed = 1): Promise<{ proxy: FaultProxy; http: HttpClient; delivered: (path: string) => number }> {
  const server = await execServer();
  const proxy = await createFaultProxy({ target: server.url, rules, seed });
  cleanups.push(() => proxy.close());
  const http = createHttpClient({ baseUrl: proxy.url, backend: "faulty", retry: { minDelayMs: 10, maxDelayMs: 40 }, ...options });
  cleanups.push(() => http.close());
  return { proxy, http, delivered: server.delivered };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the promise to reject");
}

const get = (http: HttpClient, path = "/v1/sandboxes/s1", timeoutMs = 5_000) =>
  http.request({ operation: "attach", method: "GET", path, idempotent: true, shape: execResult, timeoutMs });
const exec = (http: HttpClient, path = "/v1/sandboxes/s1/exec", timeoutMs = 5_000) =>
  http.request({ operation: "exec", method: "POST", path, body: "echo hi", idempotent: false, shape: execResult, timeoutMs });

describe("idempotent calls survive faults", () => {
  const faults: [string, FaultRule["fault"]][] = [
    ["a reset before forwarding", { kind: "reset", when: "before-forward" }],
    ["a reset after forwarding", { kind: "reset", when: "after-forward" }],
    ["a close without response", { kind: "close", when: "after-forward" }],
    ["a 503", { kind: "status", status: 503 }],
    ["a 502", { kind: "status", status: 502 }],
    ["a 429 with Retry-After: 0", { kind: "status", status: 429, retryAfter: 0 }],
    ["a truncated body", { kind: "truncate" }],
  ];
  it.each(faults)("%s, twice in a row", async (_name, fault) => {
    const { proxy, http } = await setup([{ times: 2, fault }]);
    const response = await get(http);
    expect(response.body.exitCode).toBe(0);
    expect(response.attempts).toBe(3);
    expect(proxy.received("GET", "/v1/sandboxes/s1")).toBe(3);
  });
});

describe("a non-idempotent call is never delivered twice", () => {
  it("reset after forwarding: ConnectionError(requestSent), delivered exactly once, not retried", async () => {
    const { proxy, http, delivered } = await setup([{ method: "POST", on: [1], fault: { kind: "reset", when: "after-forward" } }]);
    const error = await rejection(exec(http));
    expect(error).toMatchObject({ constructor: ConnectionError, requestSent: true, retryable: false, operation: "exec", backend: "faulty" });
    expect(proxy.received("POST", "/v1/sandboxes/s1/exec")).toBe(1);
    expect(proxy.forwarded("POST", "/v1/sandboxes/s1/exec")).toBe(1);
    expect(delivered("/v1/sandboxes/s1/exec")).toBe(1);
  });

  it("a connection closed without a response is a ConnectionError and is not retried", async () => {
    const { proxy, http } = await setup([{ method: "POST", fault: { kind: "close", when: "after-forward" } }]);
    const error = await rejection(exec(http));
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toContain("closed the connection without a response");
    expect(proxy.forwarded("POST")).toBe(1);
  });

  it("reset before forwarding: the client cannot know it was not delivered, so it does not retry", async () => {
    const { proxy, http } = await setup([{ method: "POST", fault: { kind: "reset", when: "before-forward" } }]);
    const error = await rejection(exec(http));
    expect(error).toMatchObject({ constructor: ConnectionError, requestSent: true });
    expect(proxy.received("POST")).toBe(1);
    expect(proxy.forwarded("POST")).toBe(0);
  });

  it("503 and 500 are not retried for exec", async () => {
    const { proxy, http } = await setup([
      { path: "/v1/sandboxes/a/exec", fault: { kind: "status", status: 503 } },
      { path: "/v1/sandboxes/b/exec", fault: { kind: "status", status: 500 } },
    ]);
    expect(await rejection(exec(http, "/v1/sandboxes/a/exec"))).toMatchObject({ constructor: ServerError, status: 503 });
    expect(await rejection(exec(http, "/v1/sandboxes/b/exec"))).toMatchObject({ constructor: ServerError, status: 500 });
    expect(proxy.received("POST")).toBe(2);
  });

  it("a 429 with Retry-After is a RateLimitError carrying the wait, not retried", async () => {
    const { proxy, http } = await setup([{ method: "POST", fault: { kind: "status", status: 429, retryAfter: 3 } }]);
    expect(await rejection(exec(http))).toMatchObject({ constructor: RateLimitError, retryAfterMs: 3_000 });
    expect(proxy.received("POST")).toBe(1);
  });

  it("under seeded chaos, 40 execs are each delivered at most once, and every failure is typed", async () => {
    const rules: FaultRule[] = [
      { method: "POST", probability: 0.15, fault: { kind: "reset", when: "before-forward" } },
      { method: "POST", probability: 0.15, fault: { kind: "reset", when: "after-forward" } },
      { method: "POST", probability: 0.15, fault: { kind: "status", status: 503 } },
      { method: "POST", probability: 0.1, fault: { kind: "truncate" } },
      { method: "POST", probability: 0.1, fault: { kind: "malformed-json" } },
    ];
    const { proxy, http, delivered } = await setup(rules, {}, 42);
    const outcomes = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => exec(http, `/v1/sandboxes/s${i}/exec`)));
    let ok = 0;
    for (let i = 0; i < outcomes.length; i += 1) {
      const path = `/v1/sandboxes/s${i}/exec`;
      const outcome = outcomes[i]!;
      expect(delivered(path)).toBeLessThanOrEqual(1);
      expect(proxy.received("POST", path)).toBe(1);
      if (outcome.status === "fulfilled") {
        ok += 1;
        expect(outcome.value.body).toEqual({ exitCode: 0, stdout: "echo hi" });
        expect(delivered(path)).toBe(1);
      } else {
        const error: unknown = outcome.reason;
        expect(error instanceof ConnectionError || error instanceof ServerError || error instanceof ProtocolError).toBe(true);
        expect(httpDetailsOf(error)?.url).toBe(`${proxy.url}${path}`);
      }
    }
    expect(ok).toBeGreaterThan(5);
    expect(ok).toBeLessThan(40);
  });

  it("under the same chaos, 40 idempotent reads all succeed", async () => {
    const rules: FaultRule[] = [
      { probability: 0.2, fault: { kind: "reset", when: "after-forward" } },
      { probability: 0.2, fault: { kind: "status", status: 503 } },
      { probability: 0.1, fault: { kind: "truncate" } },
    ];
    const { http } = await setup(rules, { retry: { maxAttempts: 10, minDelayMs: 5, maxDelayMs: 20 } }, 42);
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => get(http, `/v1/sandboxes/s${i}`)));
    expect(results.every((r) => r.body.exitCode === 0)).toBe(true);
    expect(results.some((r) => r.attempts > 1)).toBe(true);
  });
});

describe("Retry-After, malformed bodies and deadlines through the proxy", () => {
  it("Retry-After: 1 on a 503 is waited out (measured >= 1000 ms) within the deadline", async () => {
    const { proxy, http } = await setup([{ on: [1], fault: { kind: "status", status: 503, retryAfter: 1 } }]);
    const started = performance.now();
    const response = await get(http, "/v1/sandboxes/s1", 3_000);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(response.attempts).toBe(2);
    expect(proxy.forwarded()).toBe(1);
  });

  it("malformed JSON is a ProtocolError, not retried", async () => {
    const { proxy, http } = await setup([{ fault: { kind: "malformed-json" } }]);
    const error = await rejection(get(http));
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).message).toContain("not valid JSON");
    expect(proxy.received()).toBe(1);
  });

  it("a stall after the headers ends in RequestTimeoutError within 100 ms of the deadline", async () => {
    const { http } = await setup([{ fault: { kind: "stall", when: "after-headers" } }]);
    const started = performance.now();
    const error = await rejection(get(http, "/v1/sandboxes/s1", 400));
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(elapsed).toBeGreaterThanOrEqual(395);
    expect(elapsed).toBeLessThan(500);
  });

  it("latency past the deadline on a non-idempotent call is a RequestTimeoutError, and the exec is not resent", async () => {
    const { proxy, http } = await setup([{ fault: { kind: "latency", ms: 600 } }]);
    const started = performance.now();
    const error = await rejection(exec(http, "/v1/sandboxes/s1/exec", 300));
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(SandboxError.isInstance(error)).toBe(true);
    expect(performance.now() - started).toBeLessThan(400);
    expect(proxy.received("POST")).toBe(1);
  });
});
