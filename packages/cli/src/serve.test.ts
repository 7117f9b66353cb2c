import { spawn } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { parseServeArgs } from "./serve.js";
import { UsageError } from "./usage-error.js";

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));

describe("parseServeArgs", () => {
  it("reads the protocol and flags, with loopback and port 0 by default", () => {
    expect(parseServeArgs(["noxrunner"], {})).toEqual({ protocol: "noxrunner", host: "127.0.0.1", port: 0, key: undefined, dev: false, isolation: undefined });
    expect(parseServeArgs(["noxrunner", "--port", "8080", "--service-key", "k-123456"], {})).toMatchObject({ port: 8080, key: "k-123456" });
    expect(parseServeArgs(["noxrunner"], { SANDKIT_SERVE_KEY: "from-env-1" })).toMatchObject({ key: "from-env-1" });
  });

  it("refuses what it cannot honour, as usage errors", () => {
    for (const args of [[], ["warp"], ["noxrunner", "--port", "70000"], ["noxrunner", "extra"], ["noxrunner", "--dev", "--service-key", "k"], ["noxrunner", "--bogus"]]) {
      expect(() => parseServeArgs(args, {})).toThrow(UsageError);
    }
  });
});

describe("sandkit serve noxrunner", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it("prints its URL, serves the protocol with the key, and removes its sandboxes on Ctrl-C", async () => {
    const root = await mkdtemp(join(tmpdir(), "sandkit-cli-serve-"));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const child = spawn(process.execPath, [BIN, "serve", "noxrunner", "--service-key", "serve-key-0123", "--isolation", "none"], {
      env: { PATH: process.env.PATH, HOME: root, SANDKIT_LOCAL_ROOT: root },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const match = /^listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(out);
        if (match) resolve(match[1]!);
      });
      child.on("exit", () => reject(new Error(`serve exited early: ${stderr}`)));
    });
    const headers = { "x-service-key": "serve-key-0123", "content-type": "application/json" };
    const created = await request(`${url}/v1/sandboxes/s1`, { method: "PUT", headers, body: JSON.stringify({ ttlSeconds: 60 }) });
    expect(created.statusCode).toBe(200);
    await created.body.dump();
    const ran = await request(`${url}/v1/sandboxes/s1/exec`, { method: "POST", headers, body: JSON.stringify({ cmd: ["python3", "-c", "print(6*7)"] }) });
    expect(await ran.body.json()).toMatchObject({ exitCode: 0, stdout: "42\n" });
    const anonymous = await request(`${url}/v1/sandboxes/s1/touch`, { method: "POST" });
    expect(anonymous.statusCode).toBe(401);
    await anonymous.body.dump();
    expect((await readdir(root)).length).toBe(1);
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(await readdir(root)).toEqual([]);
    expect(stderr).not.toContain("serve-key-0123");
  });
});

describe("sandkit serve microsandbox", () => {
  it("prints its URL and a client key, answers JSON-RPC with that key, and stops on SIGTERM", async () => {
    const root = await mkdtemp(join(tmpdir(), "sandkit-cli-serve-msb-"));
    const child = spawn(process.execPath, [BIN, "serve", "microsandbox", "--isolation", "none"], {
      env: { PATH: process.env.PATH, HOME: root, SANDKIT_LOCAL_ROOT: root },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      let stderr = "";
      let stdout = "";
      const ready = new Promise<{ url: string; key: string }>((resolve, reject) => {
        const check = (): void => {
          const url = /^listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(stdout)?.[1];
          const key = /API key for clients \(MSB_API_KEY\), valid 24 h: (msb_\S+)\n/.exec(stderr)?.[1];
          if (url !== undefined && key !== undefined) resolve({ url, key });
        };
        child.stdout.on("data", (chunk: Buffer) => ((stdout += chunk.toString()), check()));
        child.stderr.on("data", (chunk: Buffer) => ((stderr += chunk.toString()), check()));
        child.on("exit", () => reject(new Error(`serve exited early: ${stderr}`)));
      });
      const { url, key } = await ready;
      const rpc = (auth: string | undefined) =>
        request(`${url}/api/v1/rpc`, {
          method: "POST",
          headers: { "content-type": "application/json", ...(auth === undefined ? {} : { authorization: `Bearer ${auth}` }) },
          body: JSON.stringify({ jsonrpc: "2.0", method: "sandbox.metrics.get", params: { namespace: "*" }, id: "1" }),
        });
      const denied = await rpc(undefined);
      expect(denied.statusCode).toBe(401);
      await denied.body.dump();
      const allowed = await rpc(key);
      expect(allowed.statusCode).toBe(200);
      expect(await allowed.body.json()).toMatchObject({ jsonrpc: "2.0", id: "1" });
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe("sandkit serve provisioner", () => {
  it("prints its URL, requires the API key, creates a sandbox whose data plane runs commands, and stops on SIGINT", async () => {
    const root = await mkdtemp(join(tmpdir(), "sandkit-cli-serve-prov-"));
    const child = spawn(process.execPath, [BIN, "serve", "provisioner", "--api-key", "prov-key-0123", "--isolation", "none"], {
      env: { PATH: process.env.PATH, HOME: root, SANDKIT_LOCAL_ROOT: root },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (chunk: Buffer) => {
          out += chunk.toString();
          const match = /^listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(out);
          if (match) resolve(match[1]!);
        });
        child.on("exit", () => reject(new Error(`serve exited early: ${stderr}`)));
      });
      const denied = await request(`${url}/api/sandboxes`, { method: "GET" });
      expect(denied.statusCode).toBe(401);
      await denied.body.dump();
      const headers = { "x-api-key": "prov-key-0123", "content-type": "application/json" };
      const created = await request(`${url}/api/sandboxes`, { method: "POST", headers, body: JSON.stringify({ sandbox_id: "cli-sbx-1", thread_id: "t1" }) });
      expect(created.statusCode).toBe(200);
      const body = (await created.body.json()) as { sandbox_url: string };
      expect(body.sandbox_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
      child.kill("SIGINT");
      expect(await exited).toBe(0);
      expect(stderr).not.toContain("prov-key-0123");
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe("sandkit serve sandbox-api", () => {
  it("prints its URL, answers /specifications/, refuses a key flag, and stops on SIGINT", async () => {
    const refused = spawn(process.execPath, [BIN, "serve", "sandbox-api", "--api-key", "nope-1234"], { stdio: ["ignore", "pipe", "pipe"] });
    expect(await new Promise<number | null>((resolve) => refused.on("exit", (code) => resolve(code)))).toBe(2);
    const root = await mkdtemp(join(tmpdir(), "sandkit-cli-serve-sapi-"));
    const child = spawn(process.execPath, [BIN, "serve", "sandbox-api", "--isolation", "none"], {
      env: { PATH: process.env.PATH, HOME: root, SANDKIT_LOCAL_ROOT: root },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (chunk: Buffer) => {
          out += chunk.toString();
          const match = /^listening on (http:\/\/127\.0\.0\.1:\d+\/)\n/.exec(out);
          if (match) resolve(match[1]!);
        });
        child.on("exit", () => reject(new Error(`serve exited early: ${stderr}`)));
      });
      const specs = await request(`${url}specifications/`);
      expect(specs.statusCode).toBe(200);
      expect(await specs.body.json()).toEqual(expect.any(Object));
      child.kill("SIGINT");
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
      await rm(root, { recursive: true, force: true });
    }
  });
});
