import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "./test-support/harness.js";

const RFC3339_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

function expiresInSeconds(expiresAt: string): number {
  return (Date.parse(expiresAt) - Date.now()) / 1000;
}

describe("create, touch and delete (§12 rows 4-9, 24)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it("row 4: PUT with only ttlSeconds 900 answers podName sbx-e8bc163c82 and expiresAt now + 900 s, RFC 3339 with Z", async () => {
    const r = await h.request("PUT", "/v1/sandboxes/s1", { body: JSON.stringify({ ttlSeconds: 900 }), headers: { "content-type": "application/json" } });
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("application/json");
    const body = r.json() as { podName: string; expiresAt: string };
    expect(Object.keys(body).sort()).toEqual(["expiresAt", "podName"]);
    expect(body.podName).toBe("sbx-e8bc163c82");
    expect(body.expiresAt).toMatch(RFC3339_SECONDS);
    expect(expiresInSeconds(body.expiresAt)).toBeGreaterThan(895);
    expect(expiresInSeconds(body.expiresAt)).toBeLessThanOrEqual(900);
  });

  it("row 6: PUT again with ttlSeconds 60 keeps podName and the unchanged expiresAt (ensure does not reset the TTL)", async () => {
    const first = (await h.request("PUT", "/v1/sandboxes/ensure-me", { json: { ttlSeconds: 900 } })).json() as { podName: string; expiresAt: string };
    const dirs = (await h.sandboxDirs()).length;
    // Cross a second boundary so that a reset expiry would show.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const again = await h.request("PUT", "/v1/sandboxes/ensure-me", { json: { ttlSeconds: 60 } });
    expect(again.status).toBe(200);
    expect(again.json()).toEqual(first);
    expect((await h.sandboxDirs()).length, "no second sandbox").toBe(dirs);
  });

  it("row 5: ttlSeconds 0 with image and limits answers 200 with the default TTL (900)", async () => {
    const r = await h.request("PUT", "/v1/sandboxes/s5", {
      json: { ttlSeconds: 0, image: "img", cpuLimit: "500m", memoryLimit: "1Gi", ephemeralStorageLimit: "2Gi" },
    });
    expect(r.status).toBe(200);
    const body = r.json() as { podName: string; expiresAt: string };
    expect(body.podName).toMatch(/^sbx-[0-9a-f]{10}$/);
    expect(expiresInSeconds(body.expiresAt)).toBeGreaterThan(895);
  });

  it("concurrent PUTs of one id make one sandbox", async () => {
    const before = (await h.sandboxDirs()).length;
    const answers = await Promise.all(Array.from({ length: 8 }, () => h.request("PUT", "/v1/sandboxes/racer", { json: { ttlSeconds: 900 } })));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    expect(new Set(answers.map((a) => a.text)).size).toBe(1);
    expect((await h.sandboxDirs()).length).toBe(before + 1);
  });

  it("row 7: a body that is not JSON is 400 BAD_REQUEST with the requestId supplied", async () => {
    const r = await h.request("PUT", "/v1/sandboxes/s1", { body: "not json", headers: { "x-request-id": "req-7" } });
    expect(r.status).toBe(400);
    expect(r.headers["x-request-id"]).toBe("req-7");
    const body = r.json() as { error: { code: string; message: string; requestId?: string } };
    expect(body.error.code).toBe("BAD_REQUEST");
    expect(typeof body.error.message).toBe("string");
    expect(body.error.requestId).toBe("req-7");
  });

  it("row 7: an empty body is 400 too, and without X-Request-Id the body has no requestId but the header has a generated one", async () => {
    const r = await h.request("PUT", "/v1/sandboxes/s1");
    expect(r.status).toBe(400);
    const body = r.json() as { error: Record<string, unknown> };
    expect(body.error.code).toBe("BAD_REQUEST");
    expect(body.error).not.toHaveProperty("requestId");
    expect(r.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("create refuses bad field types (400), lower-case env keys (422 INVALID_ENV_KEY), workdir outside /workspace (422 INVALID_WORKDIR), bad quantities and negative TTLs (400)", async () => {
    const cases: [unknown, number, string][] = [
      [{ ttlSeconds: "900" }, 400, "BAD_REQUEST"],
      [{ ttlSeconds: 1.5 }, 400, "BAD_REQUEST"],
      [{ ttlSeconds: -5 }, 400, "BAD_REQUEST"],
      [{ ttlSeconds: 900, image: 7 }, 400, "BAD_REQUEST"],
      [{ ttlSeconds: 900, cpuLimit: "lots" }, 400, "BAD_REQUEST"],
      [{ ttlSeconds: 900, memoryLimit: "-1Gi" }, 400, "BAD_REQUEST"],
      [{ ttlSeconds: 900, env: { lower: "x" } }, 422, "INVALID_ENV_KEY"],
      [{ ttlSeconds: 900, env: { OK: 1 } }, 400, "BAD_REQUEST"],
      [{ ttlSeconds: 900, workdir: "/etc" }, 422, "INVALID_WORKDIR"],
      [[900], 400, "BAD_REQUEST"],
    ];
    const before = (await h.sandboxDirs()).length;
    for (const [json, status, code] of cases) {
      const r = await h.request("PUT", "/v1/sandboxes/refused", { json });
      expect(r.status, JSON.stringify(json)).toBe(status);
      expect((r.json() as { error: { code: string } }).error.code, JSON.stringify(json)).toBe(code);
    }
    expect((await h.sandboxDirs()).length, "no sandbox was made by a refused create").toBe(before);
  });

  it("create passes env to the sandbox", async () => {
    expect((await h.request("PUT", "/v1/sandboxes/with-env", { json: { ttlSeconds: 900, env: { GREETING: "hi there" } } })).status).toBe(200);
    const r = await h.request("POST", "/v1/sandboxes/with-env/exec", { json: { cmd: ["printenv", "GREETING"], workdir: "/workspace", timeoutSeconds: 30 } });
    expect((r.json() as { stdout: string }).stdout).toBe("hi there\n");
  });

  it("row 8: touch answers 200 with an empty body and moves expiresAt", async () => {
    await h.request("PUT", "/v1/sandboxes/touchy", { json: { ttlSeconds: 900 } });
    const r = await h.request("POST", "/v1/sandboxes/touchy/touch", { headers: { "content-length": "0" } });
    expect(r.status).toBe(200);
    expect(r.body.byteLength).toBe(0);
  });

  it("row 9: touch of an unknown session is 404 POD_NOT_FOUND and creates nothing", async () => {
    const before = (await h.sandboxDirs()).length;
    const r = await h.request("POST", "/v1/sandboxes/nope/touch");
    expect(r.status).toBe(404);
    expect((r.json() as { error: { code: string } }).error.code).toBe("POD_NOT_FOUND");
    expect((await h.sandboxDirs()).length).toBe(before);
  });

  it("row 24: DELETE answers 204 for a present and for an absent session, and removes the sandbox directory", async () => {
    await h.request("PUT", "/v1/sandboxes/doomed", { json: { ttlSeconds: 900 } });
    const workspace = h.workspaceOf("doomed");
    const before = (await h.sandboxDirs()).length;
    const present = await h.request("DELETE", "/v1/sandboxes/doomed");
    expect(present.status).toBe(204);
    expect(present.body.byteLength).toBe(0);
    expect((await h.sandboxDirs()).length).toBe(before - 1);
    expect(await h.sandboxDirs()).not.toContain(workspace.split("/").at(-2));
    const absent = await h.request("DELETE", "/v1/sandboxes/nope");
    expect(absent.status).toBe(204);
    const gone = await h.request("POST", "/v1/sandboxes/doomed/touch");
    expect(gone.status).toBe(404);
  });

  it("a deleted session can be created again, fresh and empty", async () => {
    await h.request("PUT", "/v1/sandboxes/phoenix", { json: { ttlSeconds: 900 } });
    await h.request("POST", "/v1/sandboxes/phoenix/exec", { json: { cmd: ["sh", "-c", "echo x > mark"], workdir: "/workspace", timeoutSeconds: 30 } });
    await h.request("DELETE", "/v1/sandboxes/phoenix");
    expect((await h.request("PUT", "/v1/sandboxes/phoenix", { json: { ttlSeconds: 900 } })).status).toBe(200);
    const r = await h.request("POST", "/v1/sandboxes/phoenix/exec", { json: { cmd: ["test", "-e", "mark"], workdir: "/workspace", timeoutSeconds: 30 } });
    expect((r.json() as { exitCode: number }).exitCode).toBe(1);
  });
});

describe("TTL", () => {
  it("a sandbox expires after its TTL unless touched, and is then 404 with its directory gone", async () => {
    await using h = await startHarness();
    expect((await h.request("PUT", "/v1/sandboxes/short", { json: { ttlSeconds: 1 } })).status).toBe(200);
    expect((await h.request("PUT", "/v1/sandboxes/kept", { json: { ttlSeconds: 2 } })).status).toBe(200);
    const shortDir = h.workspaceOf("short").split("/").at(-2);
    const started = Date.now();
    // Keep "kept" alive with touches while "short" runs out (watched on disk: touching it would keep it).
    let shortGone = false;
    while (Date.now() - started < 8_000) {
      expect((await h.request("POST", "/v1/sandboxes/kept/touch")).status).toBe(200);
      if (!(await h.sandboxDirs()).includes(shortDir!)) {
        shortGone = true;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(shortGone, "the 1 s sandbox expired").toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect((await h.request("POST", "/v1/sandboxes/short/touch")).status, "the expired sandbox is gone").toBe(404);
    expect((await h.request("POST", "/v1/sandboxes/kept/touch")).status, "the touched sandbox is still there").toBe(200);
    expect(await h.sandboxDirs()).toHaveLength(1);
  }, 15_000);

  it("TTLs are clamped to maxTtlSeconds", async () => {
    await using h = await startHarness({ maxTtlSeconds: 60 });
    const body = (await h.request("PUT", "/v1/sandboxes/long", { json: { ttlSeconds: 100_000 } })).json() as { expiresAt: string };
    expect(expiresInSeconds(body.expiresAt)).toBeLessThanOrEqual(60);
    expect(expiresInSeconds(body.expiresAt)).toBeGreaterThan(55);
  });
});

describe("unknownSession: auto-create (the reference server v0 variant)", () => {
  it("row 9 (v0): touch of an unknown session creates it and answers 200 empty", async () => {
    await using h = await startHarness({ unknownSession: "auto-create" });
    const r = await h.request("POST", "/v1/sandboxes/fresh/touch");
    expect(r.status).toBe(200);
    expect(r.body.byteLength).toBe(0);
    expect(await h.sandboxDirs()).toHaveLength(1);
    // And the PUT that follows is an ensure of that sandbox.
    const put = await h.request("PUT", "/v1/sandboxes/fresh", { json: { ttlSeconds: 900 } });
    expect((put.json() as { podName: string }).podName).toMatch(/^sbx-/);
    expect(await h.sandboxDirs()).toHaveLength(1);
  });
});
