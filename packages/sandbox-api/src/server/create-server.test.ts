/** The server's lifecycle: options, close() cleanup (sandboxes, environments, sockets), shutdown under load. */
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBackend, ValidationError } from "@sandkit/core";
import { request } from "undici";
import { describe, expect, it } from "vitest";
import { createSandboxApiServer } from "./create-server.js";
import { startHarness } from "./test-support/harness.js";

describe("createSandboxApiServer", () => {
  it("refuses bad options with a ValidationError naming the field", async () => {
    await expect(createSandboxApiServer({ poolSize: 0 })).rejects.toSatisfy((error) => ValidationError.isInstance(error) && error.field === "poolSize");
    await expect(createSandboxApiServer({ budgetMs: 1.5 })).rejects.toSatisfy((error) => ValidationError.isInstance(error) && error.field === "budgetMs");
    await expect(createSandboxApiServer({ port: 70_000 })).rejects.toSatisfy((error) => ValidationError.isInstance(error) && error.field === "port");
  });

  it("by default keeps environments in a temp dir that close() removes, and closes its own backend", async () => {
    const root = await mkdtemp(join(tmpdir(), "sandkit-sandbox-api-default-"));
    try {
      const server = await createSandboxApiServer({ local: { root, isolation: "none" } });
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(server.backend.name).toBe("local");
      const saved = await request(`${server.url}/execute/`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `config=${encodeURIComponent(JSON.stringify({ commands: ["echo x > f"], save: true }))}`,
      });
      const body = (await saved.body.json()) as { environment: string };
      expect(existsSync(join(server.environmentsDir, `${body.environment}.tgz`))).toBe(true);
      await server.close();
      expect(existsSync(server.environmentsDir)).toBe(false);
      expect((await readdir(root)).filter((name) => name.startsWith("sandkit-"))).toEqual([]);
      await expect(request(`${server.url}/specifications/`)).rejects.toThrow();
      // Idempotent.
      await server.close();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("keeps a caller's environmentsDir and its environments, and does not close a caller's backend", async () => {
    const base = await mkdtemp(join(tmpdir(), "sandkit-sandbox-api-owned-"));
    const backend = await createBackend("local", { root: join(base, "root"), isolation: "none" });
    try {
      const environmentsDir = join(base, "envs");
      const server = await createSandboxApiServer({ backend, environmentsDir });
      const saved = await request(`${server.url}/execute/`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `config=${encodeURIComponent(JSON.stringify({ commands: ["true"], save: true }))}`,
      });
      const body = (await saved.body.json()) as { environment: string };
      await server.close();
      expect(await readdir(environmentsDir)).toEqual([`${body.environment}.tgz`]);
      expect((await backend.health({ signal: new AbortController().signal })).ok).toBe(true);
    } finally {
      await backend.close();
      await rm(base, { recursive: true, force: true });
    }
  });

  it("close() during executes stops them, destroys their sandboxes and leaves no staging behind", async () => {
    const h = await startHarness();
    try {
      const running = [h.executeForm({ commands: ["sleep 30"] }), h.executeForm({ commands: ["sleep 30"], save: true })];
      const deadline = Date.now() + 5_000;
      while ((await h.sandboxDirs()).length < 2 && Date.now() < deadline);
      expect(await h.sandboxDirs()).toHaveLength(2);
      const started = Date.now();
      await h.server.close();
      expect(Date.now() - started).toBeLessThan(5_000);
      const answers = await Promise.allSettled(running);
      for (const answer of answers) {
        // Either a 503 written before the sockets closed, or the connection closed.
        if (answer.status === "fulfilled") expect(answer.value.status).toBe(503);
      }
      expect(await h.sandboxDirs()).toEqual([]);
      expect(await h.stagingEntries()).toEqual([]);
      expect(await readdir(h.environmentsDir)).toEqual([]);
    } finally {
      await h.close();
    }
  });

  it("close() does not wait for a body that is still arriving", async () => {
    const h = await startHarness();
    try {
      let sent!: () => void;
      const firstChunkSent = new Promise<void>((resolve) => {
        sent = resolve;
      });
      const never = new Promise<void>(() => undefined);
      async function* slowBody(): AsyncGenerator<Uint8Array> {
        yield Buffer.from('--b\r\nContent-Disposition: form-data; name="config"\r\n\r\n{"commands":["true"]}\r\n--b\r\n');
        sent();
        await never;
      }
      const pending = h.request("POST", "/execute/", { headers: { "content-type": "multipart/form-data; boundary=b" }, body: slowBody() }).catch((error: unknown) => error);
      await firstChunkSent;
      const deadline = Date.now() + 5_000;
      while ((await h.stagingEntries()).length === 0 && Date.now() < deadline);
      const started = Date.now();
      await h.server.close();
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(await pending).toBeInstanceOf(Error);
      expect(await h.stagingEntries()).toEqual([]);
    } finally {
      await h.close();
    }
  });

  it("expired environments are not served", async () => {
    await using h = await startHarness({ expiryMs: 300 });
    const body = (await h.executeForm({ commands: ["true"], save: true })).json();
    expect((await h.request("HEAD", `/environments/${body.environment as string}/`)).status).toBe(200);
    const deadline = Date.now() + 5_000;
    let status = 200;
    while (status === 200 && Date.now() < deadline) status = (await h.request("HEAD", `/environments/${body.environment as string}/`)).status;
    expect(status).toBe(404);
  });
});
