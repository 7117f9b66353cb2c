/**
 * The conformance scenarios of the protocol file (§12), from the client's side: the adapter's
 * wire client and backend against the NoxRunner-compatible server of this package over loopback,
 * in the server's default behaviours and in the reference server v0's where a row lists two.
 * Row numbers are in the test names. A transparent fault proxy counts what reached the server.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import {
  AuthenticationError,
  type CallContextV1,
  createSandbox,
  extractArchive,
  packEntries,
  SandboxNotFoundError,
  ServerError,
  ValidationError,
} from "@sandkit/core";
import { createFaultProxy } from "@sandkit/testkit/fault-proxy";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NoxRunnerClient } from "./client.ts";
import { noxrunner } from "./index.ts";
import { resolveOptions } from "./options.ts";
import { type Harness, bubblewrapWorks, startHarness } from "./server/test-support/harness.ts";

const bubblewrap = await bubblewrapWorks();
const control = { timeoutMs: 20_000 };
const call = (timeoutMs = 30_000): CallContextV1 => ({ signal: AbortSignal.timeout(timeoutMs), deadline: Date.now() + timeoutMs });
const fastRetry = { minDelayMs: 5, maxDelayMs: 20 };

function clientFor(url: string, extra: Parameters<typeof resolveOptions>[0] = {}): NoxRunnerClient {
  return new NoxRunnerClient(resolveOptions({ url, retry: fastRetry, ...extra }));
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe.skipIf(!bubblewrap)("§12 against the server's defaults (SPECS.md behaviours)", () => {
  let h: Harness;
  let client: NoxRunnerClient;
  beforeAll(async () => {
    h = await startHarness({}, "bubblewrap");
    client = clientFor(h.server.url);
  });
  afterAll(async () => {
    await client?.close();
    await h?.close();
  });

  it("#1 a text OK health answer is healthy", async () => {
    expect(await client.health(control)).toEqual({ ok: true, detail: "HTTP 200, OK" });
  });

  it("#4 PUT with only ttlSeconds 900 gives the derived pod name and an expiry 900 s ahead", async () => {
    const before = Date.now();
    const answer = await client.ensure("s1", { ttlSeconds: 900 }, control);
    expect(answer.podName).toBe("sbx-e8bc163c82");
    const expiresAt = answer.expiresAt!.getTime();
    expect(expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 899_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 901_000);
  });

  it("#5 PUT with every field (ttl 0, image and the three quantities) is accepted", async () => {
    const answer = await client.ensure("s5", { ttlSeconds: 0, image: "img", cpuLimit: "500m", memoryLimit: "1Gi", ephemeralStorageLimit: "2Gi" }, control);
    expect(answer.podName).toMatch(/^sbx-[0-9a-f]{10}$/);
    expect(answer.expiresAt).toBeInstanceOf(Date);
  });

  it("#6 PUT again on an existing sandbox keeps its pod name and its expiry", async () => {
    const first = await client.ensure("s6", { ttlSeconds: 900 }, control);
    const again = await client.ensure("s6", { ttlSeconds: 60 }, control);
    expect(again).toEqual(first);
  });

  it("#8 touch answers success; #9 touch of an unknown sandbox is SandboxNotFoundError", async () => {
    await client.ensure("s8", { ttlSeconds: 900 }, control);
    await expect(client.touch("s8", control)).resolves.toBeUndefined();
    const error = await caught(client.touch("nope", control));
    expect(error).toBeInstanceOf(SandboxNotFoundError);
    expect(error).toMatchObject({ operation: "keepAlive", sandboxId: "nope" });
  });

  it("#10 #11 #12 exec: output, a non-zero exit as a result, env and workdir", async () => {
    await client.ensure("s10", { ttlSeconds: 900 }, control);
    expect(await client.exec("s10", { cmd: ["echo", "hello"], workdir: "/workspace", timeoutSeconds: 30 }, control)).toMatchObject({
      exitCode: 0,
      stdout: "hello\n",
      stderr: "",
    });
    const seven = await client.exec("s10", { cmd: ["sh", "-c", "echo out; echo err >&2; exit 7"], workdir: "/workspace", timeoutSeconds: 30 }, control);
    expect(seven).toMatchObject({ exitCode: 7, stdout: "out\n", stderr: "err\n" });
    expect(Number.isInteger(seven.durationMs)).toBe(true);
    await client.exec("s10", { cmd: ["mkdir", "-p", "/workspace/sub"], workdir: "/workspace", timeoutSeconds: 30 }, control);
    const env = await client.exec("s10", { cmd: ["printenv", "TEST_VAR"], workdir: "/workspace/sub", timeoutSeconds: 30, env: { TEST_VAR: "v" } }, control);
    expect(env).toMatchObject({ exitCode: 0, stdout: "v\n" });
  });

  it("#13a a command past its limit (200, exit 124) is timedOut; an exit 124 of its own is not", async () => {
    const backend = noxrunner({ url: h.server.url });
    try {
      await using sbx = await createSandbox({ backend });
      const started = Date.now();
      const slow = await sbx.exec(["sleep", "10"], { timeoutMs: 2000 });
      expect(slow).toMatchObject({ timedOut: true, exitCode: null });
      expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(await sbx.exec(["sh", "-c", "exit 124"], { timeoutMs: 2000 })).toMatchObject({ timedOut: false, exitCode: 124 });
    } finally {
      await backend.close();
    }
  });

  it("#14 #15 exec arguments the server refuses are ValidationErrors naming what was wrong", async () => {
    await client.ensure("s14", { ttlSeconds: 900 }, control);
    expect(await caught(client.exec("s14", { cmd: [], workdir: "/workspace", timeoutSeconds: 30 }, control))).toBeInstanceOf(ValidationError);
    expect(await caught(client.exec("s14", { cmd: ["true"], workdir: "/etc", timeoutSeconds: 30 }, control))).toMatchObject({ field: "cwd" });
    expect(await caught(client.exec("s14", { cmd: ["true"], workdir: "/workspace", timeoutSeconds: 30, env: { lower: "x" } }, control))).toMatchObject({
      field: "env",
      name: "ValidationError",
    });
  });

  it("#16 a time limit above the maximum is refused before sending, or after a 504 sent at once", async () => {
    await using proxy = await createFaultProxy({ target: h.server.url });
    const strict = noxrunner({ url: proxy.url });
    const lax = noxrunner({ url: proxy.url, maxExecTimeoutSeconds: 400 });
    try {
      await using sbx = await createSandbox({ backend: strict });
      const before = proxy.forwarded("POST", `/v1/sandboxes/${sbx.id}/exec`);
      expect(await caught(sbx.exec(["true"], { timeoutMs: 301_000 }))).toMatchObject({ name: "ValidationError", field: "timeoutMs" });
      expect(proxy.forwarded("POST", `/v1/sandboxes/${sbx.id}/exec`)).toBe(before);
      await using other = await createSandbox({ backend: lax, id: `${sbx.id}-lax` });
      const error = await caught(other.exec(["true"], { timeoutMs: 301_000 }));
      expect(error).toMatchObject({ name: "ValidationError", field: "timeoutMs" });
      expect((error as ValidationError).cause).toBeInstanceOf(ServerError);
      expect((error as ValidationError).cause).toMatchObject({ protocolCode: "EXEC_TIMEOUT", status: 504 });
    } finally {
      await strict.close();
      await lax.close();
    }
  });

  it("#17 exec on an unknown sandbox is SandboxNotFoundError", async () => {
    expect(await caught(client.exec("nope", { cmd: ["true"], workdir: "/workspace", timeoutSeconds: 30 }, control))).toBeInstanceOf(SandboxNotFoundError);
  });

  it("#18 #21 upload of a.txt and sub/b.bin, read back by a command and by a download", async () => {
    await client.ensure("s18", { ttlSeconds: 900 }, control);
    const archive = packEntries(
      [
        { type: "file", path: "a.txt", content: Buffer.from("héllo"), mode: 0o644, mtime: new Date(0) },
        { type: "file", path: "sub/b.bin", content: Uint8Array.of(0, 1), mode: 0o644, mtime: new Date(0) },
      ],
      { gzip: true },
    );
    await client.upload("s18", "/workspace", archive, control);
    const od = await client.exec("s18", { cmd: ["od", "-An", "-tx1", "/workspace/sub/b.bin"], workdir: "/workspace", timeoutSeconds: 30 }, control);
    expect(od.stdout.trim()).toBe("00 01");
    const local = await mkdtemp(join(tmpdir(), "sandkit-noxrunner-dl-"));
    try {
      const body = await client.download("s18", "/workspace", control);
      await extractArchive(body, local);
      expect(await readFile(join(local, "a.txt"), "utf8")).toBe("héllo");
      expect([...(await readFile(join(local, "sub/b.bin")))]).toEqual([0, 1]);
    } finally {
      await rm(local, { recursive: true, force: true });
    }
  });

  it("#19 an upload holding ../x is refused (422 UPLOAD_VALIDATION_FAILED → ValidationError)", async () => {
    await client.ensure("s19", { ttlSeconds: 900 }, control);
    const { tarEntry, endOfArchive } = await import("@sandkit/testkit/fixtures");
    const body = Buffer.concat([tarEntry({ name: "../x", typeflag: "0" }, "escape\n"), endOfArchive()]);
    const error = await caught(client.upload("s19", "/workspace", (async function* () {
      yield body;
    })(), control));
    expect(error).toMatchObject({ name: "ValidationError", field: "archive" });
    expect((error as Error).message).toContain("UPLOAD_VALIDATION_FAILED");
  });

  it("#20 an upload to /etc, or over the server's size limit, is refused", async () => {
    await using small = await startHarness({ maxUploadBytes: 1024 }, "bubblewrap");
    const tight = clientFor(small.server.url);
    try {
      await tight.ensure("s20", { ttlSeconds: 900 }, control);
      const tiny = (): AsyncIterable<Uint8Array> => packEntries([{ type: "file", path: "a", content: Buffer.from("a") }], { gzip: true });
      expect(await caught(tight.upload("s20", "/etc", tiny(), control))).toMatchObject({ name: "ValidationError", field: "path" });
      const big = packEntries([{ type: "file", path: "big", content: randomBytes(64 * 1024) }], { gzip: true });
      const error = await caught(tight.upload("s20", "/workspace", big, control));
      expect(error).toMatchObject({ name: "ValidationError", field: "archive" });
      expect((error as Error).message).toContain("UPLOAD_TOO_LARGE");
    } finally {
      await tight.close();
    }
  });

  it("#23 download on an unknown sandbox is SandboxNotFoundError", async () => {
    expect(await caught(client.download("nope", "/workspace", control))).toBeInstanceOf(SandboxNotFoundError);
  });

  it("#24 DELETE of an existing and then of an unknown sandbox both succeed", async () => {
    await client.ensure("s24", { ttlSeconds: 900 }, control);
    await expect(client.remove("s24", control)).resolves.toBeUndefined();
    await expect(client.remove("nope", control)).resolves.toBeUndefined();
    expect(await caught(client.touch("s24", control))).toBeInstanceOf(SandboxNotFoundError);
  });

  it("#28 the id a#b is refused: nothing reaches the server, least of all DELETE /v1/sandboxes/a", async () => {
    await using proxy = await createFaultProxy({ target: h.server.url });
    const backend = noxrunner({ url: proxy.url });
    try {
      await client.ensure("a", { ttlSeconds: 900 }, control);
      expect(await caught(backend.destroy("a#b", call()))).toMatchObject({ name: "ValidationError", field: "id" });
      expect(await caught(backend.attach("a#b", call()))).toMatchObject({ name: "ValidationError", field: "id" });
      expect(await caught(createSandbox({ backend, id: "a#b" }))).toMatchObject({ name: "ValidationError", field: "id" });
      expect(proxy.log).toEqual([]);
      await expect(client.touch("a", control)).resolves.toBeUndefined();
    } finally {
      await backend.close();
    }
  });

  it("create with the id of an existing sandbox attaches to it (PUT is create-or-ensure): nothing is reset", async () => {
    const backend = noxrunner({ url: h.server.url });
    try {
      const first = await createSandbox({ backend, id: "keep-me", ttlMs: 600_000, onClose: "detach" });
      await first.files.write("state.txt", "kept");
      await first.close();
      // The second create asks for a 60 s TTL: the sandbox keeps its own 10 minutes.
      await using again = await createSandbox({ backend, id: "keep-me", ttlMs: 60_000 });
      expect(await again.files.read("state.txt", { encoding: "utf8" })).toBe("kept");
      expect(again.info.expiresAt!.getTime() - Date.now()).toBeGreaterThan(500_000);
    } finally {
      await backend.close();
    }
  });
});

describe.skipIf(!bubblewrap)("§12 against the reference server v0's behaviours", () => {
  let h: Harness;
  let client: NoxRunnerClient;
  beforeAll(async () => {
    h = await startHarness({ healthStyle: "json", execTimeoutStyle: "http-504", unknownSession: "auto-create" }, "bubblewrap");
    client = clientFor(h.server.url);
  });
  afterAll(async () => {
    await client?.close();
    await h?.close();
  });

  it("#2 a JSON status ok health answer is healthy", async () => {
    expect(await client.health(control)).toEqual({ ok: true, detail: "HTTP 200, status ok" });
  });

  it("#9 touch of an unknown sandbox succeeds (v0 creates it)", async () => {
    await expect(client.touch("made-by-touch", control)).resolves.toBeUndefined();
  });

  it("#13b a command past its limit (504 EXEC_TIMEOUT) is timedOut with no exit code", async () => {
    const backend = noxrunner({ url: h.server.url });
    try {
      await using sbx = await createSandbox({ backend });
      const started = Date.now();
      expect(await sbx.exec(["sleep", "10"], { timeoutMs: 2000 })).toMatchObject({ timedOut: true, exitCode: null, stdout: "", stderr: "" });
      expect(Date.now() - started).toBeLessThan(5000);
      expect(await sbx.exec(["sh", "-c", "exit 124"])).toMatchObject({ timedOut: false, exitCode: 124 });
      expect(await sbx.exec(["echo", "after"])).toMatchObject({ exitCode: 0, stdout: "after\n" });
    } finally {
      await backend.close();
    }
  });
});

describe.skipIf(!bubblewrap)("#26 service-key authentication", () => {
  const key = "sk-noxrunner-test-key-0123456789";
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ serviceKey: key }, "bubblewrap");
  });
  afterAll(async () => {
    await h?.close();
  });

  it("a missing or wrong key is AuthenticationError; the right one works; the key never shows", async () => {
    const none = noxrunner({ url: h.server.url });
    const wrong = noxrunner({ url: h.server.url, serviceKey: "sk-wrong-key-000000000000" });
    const right = noxrunner({ url: h.server.url, serviceKey: key });
    try {
      const missing = await caught(createSandbox({ backend: none }));
      expect(missing).toBeInstanceOf(AuthenticationError);
      expect((missing as Error).message).toContain("SERVICE_KEY_MISSING");
      const refused = await caught(createSandbox({ backend: wrong }));
      expect(refused).toBeInstanceOf(AuthenticationError);
      expect((refused as Error).message).toContain("SERVICE_KEY_INVALID");
      await using sbx = await createSandbox({ backend: right });
      expect((await sbx.exec(["echo", "in"])).stdout).toBe("in\n");
      for (const shown of [inspect(right, { depth: 10 }), JSON.stringify(right), inspect(sbx, { depth: 10 }), inspect(refused, { depth: 10 }), JSON.stringify(refused)]) {
        expect(shown).not.toContain(key);
        expect(shown).not.toContain("sk-wrong-key-000000000000");
      }
      expect(inspect(right)).toContain("[redacted]");
    } finally {
      await none.close();
      await wrong.close();
      await right.close();
    }
  });

  it("a custom failure status (403) is still AuthenticationError", async () => {
    await using strict = await startHarness({ serviceKey: key, authFailureStatus: 403 }, "bubblewrap");
    const backend = noxrunner({ url: strict.server.url, serviceKey: "sk-wrong-key-000000000000" });
    try {
      expect(await caught(createSandbox({ backend }))).toMatchObject({ name: "AuthenticationError", status: 403 });
      // Health is open, as on the reference server.
      expect((await backend.health(call())).ok).toBe(true);
    } finally {
      await backend.close();
    }
  });
});
