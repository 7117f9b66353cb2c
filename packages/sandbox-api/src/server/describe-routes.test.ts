/** The §13 scenarios C1–C4 (the describe routes) and C25 (the pool), over loopback. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseLibraries } from "./handle-describe.js";
import { type Harness, startHarness } from "./test-support/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ poolSize: 3 });
});
afterAll(async () => {
  await h.close();
});

describe("describe routes", () => {
  it("C1: GET /specifications/ has the upstream shape, with the pool size as container.count", async () => {
    const response = await h.request("GET", "/specifications/");
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toBe("application/json");
    const body = response.json() as { host: Record<string, unknown>; container: Record<string, unknown> };
    expect(body.host).toMatchObject({
      cpu: { logical: expect.any(Number), freq_min: expect.any(Number), freq_max: expect.any(Number) },
      memory: { ram: expect.any(Number), swap: expect.any(Number), storage: expect.any(Object) },
      docker_version: "sandkit-local",
      sandbox_version: "3.0.3",
    });
    expect(body.container).toMatchObject({
      count: 3,
      cpu: { count: expect.any(Number), period: -1, shares: -1, quota: -1 },
      memory: { ram: -1, swap: -1, storage: -1 },
      io: { read_iops: {}, read_bps: {}, write_iops: {}, write_bps: {} },
      process: -1,
      working_dir_device: expect.any(String),
    });
    const storage = Object.values((body.host.memory as { storage: Record<string, number> }).storage);
    expect(storage).toHaveLength(1);
    expect(storage[0]).toBeGreaterThan(0);
  });

  it("C2: POST on the describe routes is 405 with an Allow header without POST", async () => {
    for (const path of ["/specifications/", "/usages/", "/libraries/"]) {
      const response = await h.request("POST", path, { body: "x" });
      expect(response.status).toBe(405);
      expect(response.body.byteLength).toBe(0);
      expect(response.headers.allow).toBe("GET, HEAD, OPTIONS");
    }
  });

  it("C3: GET /usages/ counts the executes running right now", async () => {
    const running = [h.executeForm({ commands: ["sleep 1"] }), h.executeForm({ commands: ["sleep 1"] })];
    const deadline = Date.now() + 5_000;
    let body = (await h.request("GET", "/usages/")).json();
    while (body.container !== 2 && Date.now() < deadline) body = (await h.request("GET", "/usages/")).json();
    expect(body).toMatchObject({
      cpu: { frequency: expect.any(Number), usage: expect.any(Number), usage_avg: [expect.any(Number), expect.any(Number), expect.any(Number)] },
      memory: { ram: expect.any(Number), swap: expect.any(Number), storage: expect.any(Object) },
      io: { read_iops: {}, write_iops: {}, read_bps: {}, write_bps: {} },
      network: { sent_bytes: 0, received_bytes: 0, sent_packets: 0, received_packets: 0 },
      process: expect.any(Number),
      container: 2,
    });
    await Promise.all(running);
    expect((await h.request("GET", "/usages/")).json().container).toBe(0);
  });

  it("C4: GET /libraries/ lists what the sandboxes can run", async () => {
    const response = await h.request("GET", "/libraries/");
    expect(response.status).toBe(200);
    const body = response.json() as { libraries: Record<string, Record<string, string>>; bin: string[] };
    expect(Object.keys(body.libraries).sort()).toEqual(["c", "perl", "python", "system"]);
    expect(body.bin).toContain("bash");
    expect(body.bin).toEqual([...body.bin].sort());
    expect(await h.sandboxDirs()).toEqual([]);
  });

  it("HEAD on a describe route has the headers and no body", async () => {
    const response = await h.request("HEAD", "/specifications/");
    expect(response.status).toBe(200);
    expect(Number(response.headers["content-length"])).toBeGreaterThan(0);
    expect(response.body.byteLength).toBe(0);
  });

  it("parseLibraries drops hostile lines", () => {
    const parsed = parseLibraries("#bin\nls\nbad name\n#system\n__proto__\tx\nbash\t5.2\nnotab\n#nope\na\tb\n");
    expect(parsed).toEqual({ libraries: { system: { bash: "5.2" }, python: {}, perl: {}, c: {} }, bin: ["ls"] });
  });
});

describe("the pool", () => {
  it("C25: with every slot busy past poolWaitMs, an execute is 503 'Sandbox overloaded'", async () => {
    await using small = await startHarness({ poolSize: 2, poolWaitMs: 100 });
    const busy = [small.executeForm({ commands: ["sleep 1.5"] }), small.executeForm({ commands: ["sleep 1.5"] })];
    const deadline = Date.now() + 5_000;
    while ((await small.request("GET", "/usages/")).json().container !== 2 && Date.now() < deadline);
    const refused = await small.executeForm({ commands: ["echo hi"] });
    expect(refused.status).toBe(503);
    expect(refused.text).toBe("Sandbox overloaded, retry after a few seconds.");
    expect(refused.headers["retry-after"]).toBeUndefined();
    const done = await Promise.all(busy);
    expect(done.map((r) => r.json().status)).toEqual([0, 0]);
    expect((await small.executeForm({ commands: ["echo hi"] })).json().status).toBe(0);
  });

  it("a request that waits less than poolWaitMs gets the freed slot", async () => {
    await using small = await startHarness({ poolSize: 1, poolWaitMs: 5_000 });
    const first = small.executeForm({ commands: ["sleep 0.3"] });
    const deadline = Date.now() + 5_000;
    while ((await small.request("GET", "/usages/")).json().container !== 1 && Date.now() < deadline);
    const second = await small.executeForm({ commands: ["echo second"] });
    expect(second.status).toBe(200);
    expect((await first).status).toBe(200);
  });
});
