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

/** A `sandkit serve` child process: its URL once it listens, what it printed, and its exit. */
interface Served {
  readonly url: string;
  readonly root: string;
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
}

const running: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of running.splice(0)) await cleanup();
});

/**
 * Starts `sandkit serve <args>` with the local backend under a fresh root, waits for its
 * `listening on <url>` line (and for `ready` to accept what it printed so far, e.g. a key on
 * stderr), and registers a cleanup that kills it and removes the root.
 */
async function serveCli(args: readonly string[], ready: (stdout: string, stderr: string) => boolean = () => true): Promise<Served> {
  const root = await mkdtemp(join(tmpdir(), "sandkit-cli-serve-"));
  const child = spawn(process.execPath, [BIN, "serve", ...args, "--isolation", "none"], {
    env: { PATH: process.env.PATH, HOME: root, SANDKIT_LOCAL_ROOT: root },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  running.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
    await rm(root, { recursive: true, force: true });
  });
  let stdout = "";
  let stderr = "";
  const url = await new Promise<string>((resolve, reject) => {
    const check = (): void => {
      const found = /^listening on (http:\/\/127\.0\.0\.1:\d+\/?)\n/.exec(stdout)?.[1];
      if (found !== undefined && ready(stdout, stderr)) resolve(found);
    };
    child.stdout.on("data", (chunk: Buffer) => ((stdout += chunk.toString()), check()));
    child.stderr.on("data", (chunk: Buffer) => ((stderr += chunk.toString()), check()));
    child.on("exit", () => reject(new Error(`serve exited early: ${stderr}`)));
  });
  return { url, root, stderr: () => stderr, exited, kill: (signal) => child.kill(signal) };
}

describe("sandkit serve noxrunner", () => {
  it("prints its URL, serves the protocol with the key, and removes its sandboxes on Ctrl-C", async () => {
    const served = await serveCli(["noxrunner", "--service-key", "serve-key-0123"]);
    const headers = { "x-service-key": "serve-key-0123", "content-type": "application/json" };
    const created = await request(`${served.url}/v1/sandboxes/s1`, { method: "PUT", headers, body: JSON.stringify({ ttlSeconds: 60 }) });
    expect(created.statusCode).toBe(200);
    await created.body.dump();
    const ran = await request(`${served.url}/v1/sandboxes/s1/exec`, { method: "POST", headers, body: JSON.stringify({ cmd: ["python3", "-c", "print(6*7)"] }) });
    expect(await ran.body.json()).toMatchObject({ exitCode: 0, stdout: "42\n" });
    const anonymous = await request(`${served.url}/v1/sandboxes/s1/touch`, { method: "POST" });
    expect(anonymous.statusCode).toBe(401);
    await anonymous.body.dump();
    expect((await readdir(served.root)).length).toBe(1);
    served.kill("SIGINT");
    expect(await served.exited).toBe(0);
    expect(await readdir(served.root)).toEqual([]);
    expect(served.stderr()).not.toContain("serve-key-0123");
  });
});

describe("sandkit serve microsandbox", () => {
  it("prints its URL and a client key, answers JSON-RPC with that key, and stops on SIGTERM", async () => {
    const keyLine = /API key for clients \(MSB_API_KEY\), valid 24 h: (msb_\S+)\n/;
    const served = await serveCli(["microsandbox"], (_out, err) => keyLine.test(err));
    const key = keyLine.exec(served.stderr())![1]!;
    const rpc = (auth: string | undefined) =>
      request(`${served.url}/api/v1/rpc`, {
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
    served.kill("SIGTERM");
    expect(await served.exited).toBe(0);
  });
});

describe("sandkit serve provisioner", () => {
  it("prints its URL, requires the API key, hands out a data plane URL, and stops on SIGINT", async () => {
    const served = await serveCli(["provisioner", "--api-key", "prov-key-0123"]);
    const denied = await request(`${served.url}/api/sandboxes`, { method: "GET" });
    expect(denied.statusCode).toBe(401);
    await denied.body.dump();
    const headers = { "x-api-key": "prov-key-0123", "content-type": "application/json" };
    const created = await request(`${served.url}/api/sandboxes`, { method: "POST", headers, body: JSON.stringify({ sandbox_id: "cli-sbx-1", thread_id: "t1" }) });
    expect(created.statusCode).toBe(200);
    expect(((await created.body.json()) as { sandbox_url: string }).sandbox_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
    served.kill("SIGINT");
    expect(await served.exited).toBe(0);
    expect(served.stderr()).not.toContain("prov-key-0123");
  });
});

describe("sandkit serve sandbox-api", () => {
  it("refuses a key flag as a usage error", async () => {
    const refused = spawn(process.execPath, [BIN, "serve", "sandbox-api", "--api-key", "nope-1234"], { stdio: "ignore" });
    expect(await new Promise<number | null>((resolve) => refused.on("exit", (code) => resolve(code)))).toBe(2);
  });

  it("prints its URL, answers /specifications/, and stops on SIGINT", async () => {
    const served = await serveCli(["sandbox-api"]);
    expect(served.url.endsWith("/")).toBe(true);
    const specs = await request(`${served.url}specifications/`);
    expect(specs.statusCode).toBe(200);
    expect(await specs.body.json()).toEqual(expect.any(Object));
    served.kill("SIGINT");
    expect(await served.exited).toBe(0);
  });
});
