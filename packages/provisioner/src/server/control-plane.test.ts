import type { SandboxBackendV1 } from "@sandkit/core";
import { SandboxError } from "@sandkit/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProvisionerServer } from "./create-server.js";
import { type Harness, startHarness, TEST_API_KEY } from "./test-support/harness.js";

interface SandboxBody {
  sandbox_id: string;
  sandbox_url: string;
  status: string;
}

describe("provisioner control plane (Part 5.1)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it("P1: GET /health needs no key and answers {status: ok}", async () => {
    const r = await h.api("GET", "/health", { auth: false });
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ status: "ok" });
  });

  it("P2/P3: a missing or wrong X-API-Key is 401 plain text Unauthorized without Content-Type", async () => {
    for (const headers of [{}, { "x-api-key": "wrong" }, { "x-api-key": `${TEST_API_KEY}x` }] as Record<string, string>[]) {
      const r = await h.api("GET", "/api/sandboxes", { auth: false, headers });
      expect(r.status).toBe(401);
      expect(r.text).toBe("Unauthorized");
      expect(r.headers["content-type"]).toBeUndefined();
    }
  });

  it("auth runs before routing and body checks: unknown path and bad body are 401 too", async () => {
    expect((await h.api("GET", "/api/nope", { auth: false })).status).toBe(401);
    expect((await h.api("POST", "/api/sandboxes", { auth: false, body: "{not json", headers: { "content-type": "application/json" } })).status).toBe(401);
  });

  it("P19: GET /api/capabilities answers both lark flags false", async () => {
    const r = await h.api("GET", "/api/capabilities");
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ lark_cli_init_image: false, lark_cli_broker_image: false });
  });

  it("P5/P6/P11: create answers 200 with exactly three fields, repeats return the same sandbox and ignore the other fields", async () => {
    const first = await h.api("POST", "/api/sandboxes", { json: { sandbox_id: "p5-sbx", thread_id: "t-1", user_id: "u1", include_legacy_skills: false } });
    expect(first.status).toBe(200);
    const body = first.json<SandboxBody>();
    expect(Object.keys(body).sort()).toEqual(["sandbox_id", "sandbox_url", "status"]);
    expect(body.sandbox_id).toBe("p5-sbx");
    expect(body.sandbox_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(["Pending", "Running"]).toContain(body.status);
    const again = await h.api("POST", "/api/sandboxes", { json: { sandbox_id: "p5-sbx", thread_id: "t-1", user_id: "someone-else" } });
    expect(again.status).toBe(200);
    expect(again.json<SandboxBody>()).toEqual({ sandbox_id: "p5-sbx", sandbox_url: body.sandbox_url, status: "Running" });
    const one = await h.api("GET", "/api/sandboxes/p5-sbx");
    expect(one.status).toBe(200);
    expect(one.json()).toEqual({ sandbox_id: "p5-sbx", sandbox_url: body.sandbox_url, status: "Running" });
    const dirs = await h.sandboxDirs();
    expect(dirs.length).toBe(1);
  });

  it("concurrent creates of one id make one sandbox", async () => {
    const answers = await Promise.all([1, 2, 3].map(() => h.api("POST", "/api/sandboxes", { json: { sandbox_id: "race-sbx" } })));
    const urls = new Set(answers.map((a) => a.json<SandboxBody>().sandbox_url));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(urls.size).toBe(1);
    expect((await h.api("DELETE", "/api/sandboxes/race-sbx")).status).toBe(200);
  });

  it("P7: create without sandbox_id is 422 with a pydantic-style detail list", async () => {
    const r = await h.api("POST", "/api/sandboxes", { json: { thread_id: "t" } });
    expect(r.status).toBe(422);
    const detail = r.json<{ detail: { loc: unknown[]; type: string }[] }>().detail;
    expect(detail[0]?.loc).toEqual(["body", "sandbox_id"]);
    expect(detail[0]?.type).toBe("missing");
  });

  it("P8: a bad thread_id (dot, 65 chars) or user_id is 422", async () => {
    for (const extra of [{ thread_id: "bad.id" }, { thread_id: "a".repeat(65) }, { user_id: "a b" }]) {
      const r = await h.api("POST", "/api/sandboxes", { json: { sandbox_id: "p8-sbx", ...extra } });
      expect(r.status).toBe(422);
    }
    expect((await h.api("GET", "/api/sandboxes/p8-sbx")).status).toBe(404);
  });

  it("a sandbox_id Kubernetes would refuse is 422 before anything is made (upstream: K8s 500)", async () => {
    for (const id of ["Upper", "-lead", "a/b", "x".repeat(52), ""]) {
      const r = await h.api("POST", "/api/sandboxes", { json: { sandbox_id: id } });
      expect(r.status).toBe(422);
    }
  });

  it("a body over maxJsonBytes is 413 and the connection is closed", async () => {
    const big = JSON.stringify({ sandbox_id: "big-sbx", pad: "x".repeat(2 * 1024 * 1024) });
    const r = await h.api("POST", "/api/sandboxes", { body: big, headers: { "content-type": "application/json" } });
    expect(r.status).toBe(413);
    expect(r.headers.connection).toBe("close");
    expect((await h.api("GET", "/api/sandboxes/big-sbx")).status).toBe(404);
  });

  it("non-JSON and non-object bodies are 422", async () => {
    expect((await h.api("POST", "/api/sandboxes", { body: "{oops", headers: { "content-type": "application/json" } })).status).toBe(422);
    expect((await h.api("POST", "/api/sandboxes", { json: [1] })).status).toBe(422);
  });

  it("P9: an unsupported extra-mount path is 400 with upstream's text", async () => {
    const r = await h.api("POST", "/api/sandboxes", { json: { sandbox_id: "p9-sbx", extra_mounts: [{ host_path: "/.deer-flow/x", container_path: "/etc" }] } });
    expect(r.status).toBe(400);
    expect(r.json()).toEqual({ detail: "Unsupported extra mount path: /etc" });
    const rel = await h.api("POST", "/api/sandboxes", { json: { sandbox_id: "p9-sbx", extra_mounts: [{ host_path: "/x", container_path: "mnt/acp-workspace" }] } });
    expect(rel.json()).toEqual({ detail: "Extra mount path must be absolute: mnt/acp-workspace" });
    const dup = await h.api("POST", "/api/sandboxes", {
      json: { sandbox_id: "p9-sbx", extra_mounts: [{ host_path: "/x", container_path: "/mnt/acp-workspace" }, { host_path: "/y", container_path: "/mnt/acp-workspace/" }] },
    });
    expect(dup.json()).toEqual({ detail: "Duplicate extra mount path: /mnt/acp-workspace" });
  });

  it("P10: eleven extra mounts are 400 Too many extra mounts", async () => {
    const mounts = Array.from({ length: 11 }, (_, i) => ({ host_path: `/.deer-flow/${i}`, container_path: "/mnt/acp-workspace" }));
    const r = await h.api("POST", "/api/sandboxes", { json: { sandbox_id: "p10-sbx", extra_mounts: mounts } });
    expect(r.status).toBe(400);
    expect(r.json()).toEqual({ detail: "Too many extra mounts; max is 10" });
  });

  it("valid extra mounts are accepted; mounts are checked only on the create path", async () => {
    const ok = await h.api("POST", "/api/sandboxes", { json: { sandbox_id: "mnt-sbx", extra_mounts: [{ host_path: "/.deer-flow/a", container_path: "/mnt/skills/custom", read_only: true }] } });
    expect(ok.status).toBe(200);
    const repeat = await h.api("POST", "/api/sandboxes", { json: { sandbox_id: "mnt-sbx", extra_mounts: [{ host_path: "/x", container_path: "/etc" }] } });
    expect(repeat.status).toBe(200);
    expect((await h.api("DELETE", "/api/sandboxes/mnt-sbx")).status).toBe(200);
  });

  it("P12: GET of an unknown id is 404 with upstream's detail", async () => {
    const r = await h.api("GET", "/api/sandboxes/unknown");
    expect(r.status).toBe(404);
    expect(r.json()).toEqual({ detail: "Sandbox 'unknown' not found" });
  });

  it("P14/P15: DELETE answers {ok, sandbox_id}, then GET is 404; DELETE of a never-existing id is 200 too", async () => {
    await h.api("POST", "/api/sandboxes", { json: { sandbox_id: "p14-sbx" } });
    const before = (await h.sandboxDirs()).length;
    const r = await h.api("DELETE", "/api/sandboxes/p14-sbx");
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ ok: true, sandbox_id: "p14-sbx" });
    expect((await h.api("GET", "/api/sandboxes/p14-sbx")).status).toBe(404);
    expect((await h.sandboxDirs()).length).toBe(before - 1);
    const never = await h.api("DELETE", "/api/sandboxes/never-existed");
    expect(never.status).toBe(200);
    expect(never.json()).toEqual({ ok: true, sandbox_id: "never-existed" });
  });

  it("P17: GET /api/sandboxes lists every sandbox with its count", async () => {
    await h.api("POST", "/api/sandboxes", { json: { sandbox_id: "p17-b" } });
    const r = await h.api("GET", "/api/sandboxes");
    expect(r.status).toBe(200);
    const body = r.json<{ sandboxes: SandboxBody[]; count: number }>();
    expect(body.count).toBe(body.sandboxes.length);
    expect(body.sandboxes.map((s) => s.sandbox_id)).toEqual(expect.arrayContaining(["p5-sbx", "p17-b"]));
    for (const s of body.sandboxes) expect(Object.keys(s).sort()).toEqual(["sandbox_id", "sandbox_url", "status"]);
  });

  it("unknown routes are 404 and wrong methods 405, as FastAPI", async () => {
    const a = await h.api("GET", "/api/sandboxes/a/b");
    expect(a.status).toBe(404);
    expect(a.json()).toEqual({ detail: "Not Found" });
    const b = await h.api("PUT", "/api/sandboxes");
    expect(b.status).toBe(405);
    expect(b.json()).toEqual({ detail: "Method Not Allowed" });
  });
});

describe("P4: fail-closed without a configured key", () => {
  it("every /api/* request is 401 whatever key is sent; /health still answers", async () => {
    for (const apiKey of [undefined, ""]) {
      await using h = await startHarness({ apiKey });
      for (const key of [undefined, "", TEST_API_KEY]) {
        const r = await h.api("GET", "/api/sandboxes", { auth: false, headers: key === undefined ? {} : { "x-api-key": key } });
        expect(r.status).toBe(401);
      }
      expect((await h.api("GET", "/health", { auth: false })).status).toBe(200);
    }
  });
});

describe("P13: a lost pod (simulateLostPod)", () => {
  it("GET and POST answer 200 NotFound, the pod is not recreated, the data plane refuses, DELETE clears it", async () => {
    await using h = await startHarness();
    const url = await h.ready("lost-sbx");
    expect(await h.server.simulateLostPod("lost-sbx")).toBe(true);
    expect(await h.server.simulateLostPod("nobody")).toBe(false);
    expect(await h.sandboxDirs()).toEqual([]);
    const one = await h.api("GET", "/api/sandboxes/lost-sbx");
    expect(one.status).toBe(200);
    expect(one.json()).toEqual({ sandbox_id: "lost-sbx", sandbox_url: url, status: "NotFound" });
    const post = await h.api("POST", "/api/sandboxes", { json: { sandbox_id: "lost-sbx" } });
    expect(post.json()).toEqual({ sandbox_id: "lost-sbx", sandbox_url: url, status: "NotFound" });
    expect(await h.sandboxDirs()).toEqual([]);
    await expect(h.raw("GET", `${url}/v1/sandbox`)).rejects.toMatchObject({ code: "ECONNREFUSED" });
    expect((await h.api("DELETE", "/api/sandboxes/lost-sbx")).status).toBe(200);
    expect((await h.api("GET", "/api/sandboxes/lost-sbx")).status).toBe(404);
    const fresh = await h.api("POST", "/api/sandboxes", { json: { sandbox_id: "lost-sbx" } });
    expect(fresh.json<SandboxBody>().status).not.toBe("NotFound");
  });
});

/** A backend whose create or destroy fails, to see the 500 bodies of §1.4. */
function failingBackend(failOn: "create" | "destroy", real: SandboxBackendV1): SandboxBackendV1 {
  return {
    specificationVersion: "v1",
    name: "failing",
    capabilities: real.capabilities,
    create: (request, call) => (failOn === "create" ? Promise.reject(new SandboxError("no capacity", {}, "QUOTA_EXCEEDED")) : real.create(request, call)),
    attach: (id, call) => real.attach(id, call),
    destroy: (id, call) => (failOn === "destroy" ? Promise.reject(new SandboxError("refused", {}, "IO_ERROR")) : real.destroy(id, call)),
    health: (call) => real.health(call),
    close: async () => undefined,
  };
}

describe("backend failures (P16 and the create 500)", () => {
  it("a failing create is 500 Pod creation failed; a failing destroy is 500 Partial cleanup and can be retried", async () => {
    const { createBackend } = await import("@sandkit/core");
    const { mkdtemp, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const base = await mkdtemp(join(tmpdir(), "sandkit-provisioner-fail-"));
    const real = await createBackend("local", { root: base, isolation: "none" });
    try {
      await using bad = await createProvisionerServer({ apiKey: TEST_API_KEY, backend: failingBackend("create", real) });
      const created = await fetch(`${bad.url}/api/sandboxes`, { method: "POST", headers: { "x-api-key": TEST_API_KEY, "content-type": "application/json" }, body: JSON.stringify({ sandbox_id: "s1" }) });
      expect(created.status).toBe(500);
      expect(await created.json()).toEqual({ detail: "Pod creation failed: QUOTA_EXCEEDED" });

      await using stuck = await createProvisionerServer({ apiKey: TEST_API_KEY, backend: failingBackend("destroy", real) });
      const headers = { "x-api-key": TEST_API_KEY, "content-type": "application/json" };
      expect((await fetch(`${stuck.url}/api/sandboxes`, { method: "POST", headers, body: JSON.stringify({ sandbox_id: "s2" }) })).status).toBe(200);
      const deleted = await fetch(`${stuck.url}/api/sandboxes/s2`, { method: "DELETE", headers });
      expect(deleted.status).toBe(500);
      expect(await deleted.json()).toEqual({ detail: "Partial cleanup: pod: IO_ERROR" });
      const after = await fetch(`${stuck.url}/api/sandboxes/s2`, { headers });
      expect(((await after.json()) as SandboxBody).status).toBe("NotFound");
    } finally {
      await real.close();
      await rm(base, { recursive: true, force: true });
    }
  });
});
