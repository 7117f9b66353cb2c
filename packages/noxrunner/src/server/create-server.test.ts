import { existsSync } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type HealthV1, Secret, type SandboxBackendV1, ValidationError } from "@sandkit/core";
import { endOfArchive, tarEntry } from "@sandkit/testkit/fixtures";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNoxRunnerServer } from "./create-server.js";
import { type Harness, startHarness } from "./test-support/harness.js";

interface ErrorBody {
  error: { code: string; message: string; requestId?: string; details?: Record<string, unknown> };
}

/** A backend that only answers `health`, for the health rows. */
function healthOnlyBackend(health: () => Promise<HealthV1>): SandboxBackendV1 {
  const refuse = (): never => {
    throw new Error("not used");
  };
  return {
    specificationVersion: "v1",
    name: "stub",
    capabilities: {
      exec: { stream: "buffered", stdin: false, env: true, cwd: true },
      files: "none",
      ttl: "none",
      metrics: false,
      codeLanguages: [],
      attach: false,
      isolation: "unknown",
    },
    create: refuse,
    attach: refuse,
    destroy: async () => undefined,
    health: () => health(),
    close: async () => undefined,
  };
}

describe("health (§12 rows 1-3) and readiness", () => {
  it("row 1: GET /healthz answers 200 text/plain OK (the default)", async () => {
    await using h = await startHarness();
    const r = await h.request("GET", "/healthz");
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toMatch(/^text\/plain/);
    expect(r.text).toBe("OK");
  });

  it("row 2: with healthStyle json, GET /healthz answers 200 JSON with status ok and an RFC 3339 time", async () => {
    await using h = await startHarness({ healthStyle: "json" });
    const r = await h.request("GET", "/healthz");
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("application/json");
    const body = r.json() as { status: string; time: string };
    expect(body.status).toBe("ok");
    expect(body.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(Math.abs(Date.parse(body.time) - Date.now())).toBeLessThan(5_000);
  });

  it("row 3: /healthz answers 503 (and /readyz 503 JSON) when the backend is unhealthy, without its detail", async () => {
    await using server = await createNoxRunnerServer({
      backend: healthOnlyBackend(async () => ({ ok: false, detail: "root /secret/host/path is not usable" })),
    });
    const health = await request(`${server.url}/healthz`);
    expect(health.statusCode).toBe(503);
    const healthText = await health.body.text();
    expect(healthText).not.toContain("/secret");
    const ready = await request(`${server.url}/readyz`);
    expect(ready.statusCode).toBe(503);
    const body = (await ready.body.json()) as Record<string, unknown>;
    expect(body).toEqual({ ready: false, configLoaded: true, k8sConnected: false, message: "backend is not healthy" });
    const throwing = await createNoxRunnerServer({ backend: healthOnlyBackend(() => Promise.reject(new Error("boom at /host/path"))) });
    try {
      const r = await request(`${throwing.url}/healthz`);
      expect(r.statusCode).toBe(503);
      expect(await r.body.text()).not.toContain("/host/path");
    } finally {
      await throwing.close();
    }
  });

  it("/readyz answers 200 with the reference server's fields when the backend is healthy", async () => {
    await using h = await startHarness();
    const r = await h.request("GET", "/readyz");
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ ready: true, configLoaded: true, k8sConnected: true, message: "ready" });
  });
});

describe("routing (§12 rows 25 and 28, §1)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    expect((await h.request("PUT", "/v1/sandboxes/s1", { json: { ttlSeconds: 900 } })).status).toBe(200);
    expect((await h.request("PUT", "/v1/sandboxes/a", { json: { ttlSeconds: 900 } })).status).toBe(200);
  });
  afterAll(async () => {
    await h.close();
  });

  it("row 25: a wrong method under /v1/sandboxes/ is 400 BAD_REQUEST 'Method not allowed', not 405", async () => {
    for (const [method, path] of [
      ["GET", "/v1/sandboxes/s1"],
      ["POST", "/v1/sandboxes/s1"],
      ["PATCH", "/v1/sandboxes/s1"],
      ["GET", "/v1/sandboxes/s1/touch"],
      ["PUT", "/v1/sandboxes/s1/exec"],
      ["GET", "/v1/sandboxes/s1/files/upload"],
      ["POST", "/v1/sandboxes/s1/files/download"],
    ] as const) {
      const r = await h.request(method, path, { headers: { "x-request-id": "r25" } });
      expect(r.status, `${method} ${path}`).toBe(400);
      expect(r.json(), `${method} ${path}`).toEqual({ error: { code: "BAD_REQUEST", message: "Method not allowed", requestId: "r25" } });
    }
  });

  it("unknown sub-paths, trailing slashes, empty and invalid ids are 400 BAD_REQUEST 'sessionId required'", async () => {
    for (const path of [
      "/v1/sandboxes/s1/foo",
      "/v1/sandboxes/s1/",
      "/v1/sandboxes/",
      "/v1/sandboxes//touch",
      "/v1/sandboxes/s1/files",
      "/v1/sandboxes/s1/files/upload/x",
      "/v1/sandboxes/-leading-dash",
      `/v1/sandboxes/${"x".repeat(129)}`,
      "/v1/sandboxes/%E2%9C%93",
      "/v1/sandboxes/bad%zz",
    ]) {
      const r = await h.request("DELETE", path);
      expect(r.status, path).toBe(400);
      expect((r.json() as ErrorBody).error, path).toMatchObject({ code: "BAD_REQUEST", message: "sessionId required" });
    }
  });

  it("row 28: the id a%23b (a#b, encoded) never reaches a; a%2Fb neither", async () => {
    for (const id of ["a%23b", "a%2Fb", "a%3Fb", "a%20b"]) {
      const r = await h.request("DELETE", `/v1/sandboxes/${id}`);
      expect(r.status, id).toBe(400);
      expect((r.json() as ErrorBody).error.message).toBe("sessionId required");
    }
    const stillThere = await h.request("POST", "/v1/sandboxes/a/touch");
    expect(stillThere.status, "a was not deleted").toBe(200);
  });

  it("ids of 128 characters with dots, dashes and underscores are accepted", async () => {
    const id = `A${"b._-".repeat(31)}xyz`;
    expect(id).toHaveLength(128);
    const r = await h.request("PUT", `/v1/sandboxes/${id}`, { json: { ttlSeconds: 900 } });
    expect(r.status).toBe(200);
    expect((await h.request("DELETE", `/v1/sandboxes/${id}`)).status).toBe(204);
  });

  it("outside /v1/sandboxes/ the answer is Go's plain-text 404", async () => {
    for (const path of ["/", "/nothing", "/v1", "/v1/", "/v1/sandboxes", "/v1/other/s1", "/v2/sandboxes/s1", "/metrics"]) {
      const r = await h.request("GET", path);
      expect(r.status, path).toBe(404);
      expect(r.headers["content-type"], path).toBe("text/plain; charset=utf-8");
      expect(r.text, path).toBe("404 page not found\n");
    }
  });

  it("every answer carries X-Request-Id: the client's when it sent one, else a generated UUID", async () => {
    for (const path of ["/healthz", "/readyz", "/nothing", "/v1/sandboxes/s1/touch"]) {
      const method = path.endsWith("touch") ? "POST" : "GET";
      const echoed = await h.request(method, path, { headers: { "x-request-id": "mine-1" } });
      expect(echoed.headers["x-request-id"], path).toBe("mine-1");
      const generated = await h.request(method, path);
      expect(generated.headers["x-request-id"], path).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    }
    const alias = await h.request("POST", "/v1/sandboxes/nope/touch", { headers: { "request-id": "alias-2" } });
    expect((alias.json() as ErrorBody).error.requestId).toBe("alias-2");
  });

  it("a request id that is too long or has control characters is not echoed", async () => {
    const r = await h.request("POST", "/v1/sandboxes/nope/touch", { headers: { "x-request-id": "x".repeat(300) } });
    expect(r.headers["x-request-id"]).not.toBe("x".repeat(300));
    expect((r.json() as ErrorBody).error).not.toHaveProperty("requestId");
  });

  it("a JSON body over maxJsonBytes is 413 BODY_TOO_LARGE", async () => {
    await using small = await startHarness({ maxJsonBytes: 1024 });
    const r = await small.request("PUT", "/v1/sandboxes/s1", { json: { ttlSeconds: 900, image: "x".repeat(2000) } });
    expect(r.status).toBe(413);
    expect((r.json() as ErrorBody).error.code).toBe("BODY_TOO_LARGE");
    expect(await small.sandboxDirs()).toEqual([]);
  });
});

describe("authentication (§12 row 26)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ serviceKey: ["key-one-1234", new Secret("key-two-5678")] });
  });
  afterAll(async () => {
    await h.close();
  });

  it("without a key every /v1 request is 401 SERVICE_KEY_MISSING, before routing", async () => {
    for (const [method, path] of [
      ["PUT", "/v1/sandboxes/s1"],
      ["GET", "/v1/sandboxes/s1"],
      ["POST", "/v1/sandboxes/s1/bogus"],
      ["GET", "/v1/elsewhere"],
      ["DELETE", "/v1/sandboxes/a%23b"],
    ] as const) {
      const r = await h.request(method, path, { json: { ttlSeconds: 900 }, headers: { "x-request-id": "auth-1" } });
      expect(r.status, `${method} ${path}`).toBe(401);
      expect(r.json()).toEqual({ error: { code: "SERVICE_KEY_MISSING", message: "service key is missing", requestId: "auth-1" } });
    }
    expect(await h.sandboxDirs()).toEqual([]);
  });

  it("a wrong key is 401 SERVICE_KEY_INVALID and is not echoed", async () => {
    const r = await h.request("PUT", "/v1/sandboxes/s1", { json: { ttlSeconds: 900 }, headers: { "x-service-key": "wrong-key-9999" } });
    expect(r.status).toBe(401);
    expect((r.json() as ErrorBody).error.code).toBe("SERVICE_KEY_INVALID");
    expect(r.text).not.toContain("wrong-key-9999");
  });

  it("Authorization: Bearer <key> counts as no key (SERVICE_KEY_MISSING); the scheme ServiceKey is case-sensitive", async () => {
    for (const authorization of ["Bearer key-one-1234", "servicekey key-one-1234", "ServiceKey", "ServiceKey  key-one-1234x"]) {
      const r = await h.request("POST", "/v1/sandboxes/s1/touch", { headers: { authorization } });
      expect(r.status, authorization).toBe(401);
    }
    const bearer = await h.request("POST", "/v1/sandboxes/s1/touch", { headers: { authorization: "Bearer key-one-1234" } });
    expect((bearer.json() as ErrorBody).error.code).toBe("SERVICE_KEY_MISSING");
    const wrongSpacing = await h.request("POST", "/v1/sandboxes/s1/touch", { headers: { authorization: "ServiceKey  key-one-1234x" } });
    expect((wrongSpacing.json() as ErrorBody).error.code).toBe("SERVICE_KEY_INVALID");
  });

  it("each configured key is accepted, in X-Service-Key or in Authorization: ServiceKey", async () => {
    const put = await h.request("PUT", "/v1/sandboxes/s1", { json: { ttlSeconds: 900 }, headers: { "x-service-key": "key-one-1234" } });
    expect(put.status).toBe(200);
    const touch = await h.request("POST", "/v1/sandboxes/s1/touch", { headers: { authorization: "ServiceKey key-two-5678" } });
    expect(touch.status).toBe(200);
    const del = await h.request("DELETE", "/v1/sandboxes/s1", { headers: { "x-service-key": "key-two-5678" } });
    expect(del.status).toBe(204);
  });

  it("/healthz and /readyz need no key; unknown paths outside /v1 are still 404", async () => {
    expect((await h.request("GET", "/healthz")).status).toBe(200);
    expect((await h.request("GET", "/readyz")).status).toBe(200);
    expect((await h.request("GET", "/other")).status).toBe(404);
  });

  it("the failure status can be 403 or 400", async () => {
    for (const status of [403, 400] as const) {
      await using strict = await startHarness({ serviceKey: "abcd-efgh", authFailureStatus: status });
      const missing = await strict.request("POST", "/v1/sandboxes/s1/touch");
      expect(missing.status).toBe(status);
      expect((missing.json() as ErrorBody).error.code).toBe("SERVICE_KEY_MISSING");
      const invalid = await strict.request("POST", "/v1/sandboxes/s1/touch", { headers: { "x-service-key": "nope" } });
      expect(invalid.status).toBe(status);
      expect((invalid.json() as ErrorBody).error.code).toBe("SERVICE_KEY_INVALID");
    }
  });

  it("the logger hears about failures but never sees a key", async () => {
    const lines: string[] = [];
    const record = (message: string, fields?: Readonly<Record<string, unknown>>): void => {
      lines.push(`${message} ${JSON.stringify(fields ?? {})}`);
    };
    await using logged = await startHarness({ serviceKey: "logged-key-4321", logger: { info: record, warn: record, error: record } });
    const auth = { "x-service-key": "logged-key-4321" };
    await logged.request("PUT", "/v1/sandboxes/s1", { json: { ttlSeconds: 900 }, headers: auth });
    await logged.request("POST", "/v1/sandboxes/s1/exec", { json: { cmd: ["sh", "-c", "echo x > plain"] }, headers: auth });
    // A failing upload (dest is a file) is logged with the backend's detail.
    const failed = await logged.request("POST", "/v1/sandboxes/s1/files/upload?dest=%2Fworkspace%2Fplain", {
      body: Buffer.alloc(1024),
      headers: { ...auth, "x-service-key": "wrong-key-8765" },
    });
    expect(failed.status).toBe(401);
    const archive = Buffer.concat([tarEntry({ name: "f", typeflag: "0" }, "f"), endOfArchive()]);
    const broken = await logged.request("POST", "/v1/sandboxes/s1/files/upload?dest=%2Fworkspace%2Fplain", { body: archive, headers: auth });
    expect(broken.status).toBe(500);
    expect(lines.some((line) => line.startsWith("upload failed"))).toBe(true);
    for (const line of lines) {
      expect(line).not.toContain("logged-key-4321");
      expect(line).not.toContain("wrong-key-8765");
    }
  });

  it("empty keys are refused when the server is made", async () => {
    await expect(createNoxRunnerServer({ serviceKey: "" })).rejects.toBeInstanceOf(ValidationError);
    await expect(createNoxRunnerServer({ serviceKey: [] })).rejects.toBeInstanceOf(ValidationError);
  });
});

describe("options", () => {
  it("bad options are a ValidationError naming the field, before anything starts", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ port: 70_000 }, "port"],
      [{ healthStyle: "xml" }, "healthStyle"],
      [{ execTimeoutStyle: "exit-0" }, "execTimeoutStyle"],
      [{ unknownSession: "create" }, "unknownSession"],
      [{ authFailureStatus: 418 }, "authFailureStatus"],
      [{ maxUploadBytes: 0 }, "maxUploadBytes"],
      [{ maxTimeoutSeconds: 1.5 }, "maxTimeoutSeconds"],
    ];
    for (const [options, field] of cases) {
      const error = await createNoxRunnerServer(options).catch((e: unknown) => e);
      expect(ValidationError.isInstance(error), field).toBe(true);
      expect((error as ValidationError).field).toBe(field);
    }
  });

  it("a port in use is a LISTEN_FAILED error", async () => {
    await using h = await startHarness();
    const error = await createNoxRunnerServer({ backend: h.backend, port: h.server.port }).catch((e: unknown) => e);
    expect((error as { code?: unknown }).code).toBe("LISTEN_FAILED");
  });
});

describe("close()", () => {
  it("destroys every sandbox it made, leaves no directory, and accepts no connection afterwards", async () => {
    const h = await startHarness();
    try {
      for (const id of ["c1", "c2", "c3"]) expect((await h.request("PUT", `/v1/sandboxes/${id}`, { json: { ttlSeconds: 900 } })).status).toBe(200);
      expect(await h.sandboxDirs()).toHaveLength(3);
      const port = h.server.port;
      await h.server.close();
      expect(await h.sandboxDirs()).toEqual([]);
      const refused = await new Promise<string>((resolve) => {
        const socket = connect(port, "127.0.0.1");
        socket.once("connect", () => {
          socket.destroy();
          resolve("connected");
        });
        socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
      });
      expect(refused).toBe("ECONNREFUSED");
      await h.server.close();
    } finally {
      await h.close();
    }
  });

  it("ends a command in flight, answers it, and still removes its sandbox", async () => {
    const h = await startHarness();
    try {
      await h.request("PUT", "/v1/sandboxes/busy", { json: { ttlSeconds: 900 } });
      const running = h.request("POST", "/v1/sandboxes/busy/exec", {
        json: { cmd: ["sh", "-c", "touch started; exec sleep 30"], workdir: "/workspace", timeoutSeconds: 60 },
      });
      const marker = join(h.workspaceOf("busy"), "started");
      const deadline = Date.now() + 5_000;
      while (!existsSync(marker) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(existsSync(marker), "the command started").toBe(true);
      const started = Date.now();
      await h.server.close();
      expect(Date.now() - started).toBeLessThan(10_000);
      const answer = await running.catch((error: unknown) => error);
      if (!(answer instanceof Error)) expect((answer as { status: number }).status).toBe(503);
      expect(await h.sandboxDirs()).toEqual([]);
    } finally {
      await h.close();
    }
  }, 20_000);

  it("the default backend is made through core and closed by close()", async () => {
    const root = join(tmpdir(), `sandkit-noxrunner-default-${process.pid}-${Date.now()}`);
    const server = await createNoxRunnerServer({ local: { root, isolation: "none" } });
    try {
      expect(server.backend.name).toBe("local");
      expect((await request(`${server.url}/v1/sandboxes/d1`, { method: "PUT", body: JSON.stringify({ ttlSeconds: 900 }) })).statusCode).toBe(200);
      expect((await readdir(root)).filter((name) => name.startsWith("sandkit-"))).toHaveLength(1);
    } finally {
      await server.close();
    }
    expect((await readdir(root)).filter((name) => name.startsWith("sandkit-"))).toEqual([]);
    await rm(root, { recursive: true, force: true });
  });
});
