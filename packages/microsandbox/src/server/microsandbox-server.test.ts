import { mkdtemp, readdir, readlink, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SandboxBackendV1 } from "@sandkit/core";
import { local } from "@sandkit/local";
import { request } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { issueMicrosandboxApiKey } from "./api-keys.js";
import { createMicrosandboxServer } from "./microsandbox-server.js";
import type { MicrosandboxServer, MicrosandboxServerOptions } from "./server-options.js";

/** The secret the test servers sign keys with. */
const TEST_SECRET = "test-secret-0123456789abcdefghij";

/** A server on a local backend (isolation `none`) rooted in a temp dir. */
interface TestServer {
  readonly server: MicrosandboxServer;
  readonly root: string;
  /** Closes the server and removes the temp dir. */
  dispose(): Promise<void>;
}

/** Starts a test server; the caller disposes it. */
async function startTestServer(options: MicrosandboxServerOptions = {}): Promise<TestServer> {
  const root = await mkdtemp(join(tmpdir(), "sandkit-msb-server-"));
  const backend = local({ root, isolation: "none" });
  const server = await createMicrosandboxServer({ apiKeySecret: TEST_SECRET, backend, ...options });
  return {
    server,
    root,
    async dispose() {
      await server.close();
      await backend.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** A raw HTTP answer. */
interface RawAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
  /** The body parsed as JSON, or `undefined` when it is not JSON. */
  readonly json: unknown;
}

/** POSTs a raw body to `/api/v1/rpc`. */
async function postRaw(url: string, body: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const answer = await request(`${url}/api/v1/rpc`, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });
  const text = await answer.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: answer.statusCode, contentType: String(answer.headers["content-type"] ?? ""), text, json };
}

/** Sends one JSON-RPC call with id `"t-1"`. */
function rpc(url: string, method: string, params: unknown, key?: string): Promise<RawAnswer> {
  return postRaw(url, JSON.stringify({ jsonrpc: "2.0", method, params, id: "t-1" }), key === undefined ? {} : { authorization: `Bearer ${key}` });
}

const START = { namespace: "default", sandbox: "s1", config: { image: "microsandbox/python", memory: 512, cpus: 1 } };
const S1 = { namespace: "default", sandbox: "s1" };

describe("microsandbox server, secure mode (§14)", () => {
  let t: TestServer;
  let url: string;
  let key: string;
  beforeAll(async () => {
    t = await startTestServer();
    url = t.server.url;
    key = t.server.issueApiKey();
  });
  afterAll(async () => {
    await t.dispose();
  });

  it("row 1: health needs no key", async () => {
    const answer = await request(`${url}/api/v1/health`);
    expect(answer.statusCode).toBe(200);
    expect(await answer.body.json()).toEqual({ message: "Service is healthy" });
  });

  it("rows 2–4: missing, non-msb and bad keys are shape-B 401s", async () => {
    const none = await rpc(url, "sandbox.metrics.get", { namespace: "*" });
    expect([none.status, none.json]).toEqual([401, { error: "Invalid credentials", code: 1001 }]);
    const notMsb = await rpc(url, "sandbox.metrics.get", { namespace: "*" }, "not-a-msb-key");
    expect([notMsb.status, notMsb.json]).toEqual([401, { error: "Invalid credentials", code: 1001 }]);
    const lower = await postRaw(url, JSON.stringify({ jsonrpc: "2.0", method: "sandbox.metrics.get", params: { namespace: "*" } }), { authorization: `bearer ${key}` });
    expect(lower.status).toBe(401);
    const otherSecret = issueMicrosandboxApiKey({ secret: "another-secret" });
    const bad = await rpc(url, "sandbox.metrics.get", { namespace: "*" }, otherSecret);
    expect([bad.status, bad.json]).toEqual([401, { error: "Invalid or expired token", code: 1004 }]);
    const expired = issueMicrosandboxApiKey({ secret: TEST_SECRET, expiresInSeconds: 1, nowSeconds: Math.floor(Date.now() / 1000) - 3600 });
    const old = await rpc(url, "sandbox.metrics.get", { namespace: "*" }, expired);
    expect([old.status, old.json]).toEqual([401, { error: "Invalid or expired token", code: 1004 }]);
  });

  it("takes a raw key without Bearer, and Proxy-Authorization hides Authorization", async () => {
    const raw = await postRaw(url, JSON.stringify({ jsonrpc: "2.0", method: "sandbox.metrics.get", params: { namespace: "*" }, id: 1 }), { authorization: key });
    expect(raw.status).toBe(200);
    const hidden = await postRaw(url, JSON.stringify({ jsonrpc: "2.0", method: "sandbox.metrics.get", params: { namespace: "*" }, id: 1 }), {
      authorization: `Bearer ${key}`,
      "proxy-authorization": "Bearer nope",
    });
    expect([hidden.status, hidden.json]).toEqual([401, { error: "Invalid credentials", code: 1001 }]);
  });

  it("row 5 and §3.5: a scoped key is held to its namespace", async () => {
    const scoped = t.server.issueApiKey({ namespace: "team-a" });
    const denied = await rpc(url, "sandbox.start", { namespace: "team-b", sandbox: "x" }, scoped);
    expect([denied.status, denied.json]).toEqual([403, { error: "Access denied", code: 3001 }]);
    const star = await rpc(url, "sandbox.metrics.get", { namespace: "*" }, scoped);
    expect(star.status).toBe(403);
    const missing = await rpc(url, "sandbox.metrics.get", { sandbox: "x" }, scoped);
    expect([missing.status, missing.json]).toEqual([400, { error: "Missing or invalid 'namespace' in params for method 'sandbox.metrics.get'", code: 2001 }]);
    const noParams = await postRaw(url, JSON.stringify({ jsonrpc: "2.0", method: "sandbox.stop" }), { authorization: `Bearer ${scoped}` });
    expect([noParams.status, noParams.json]).toEqual([400, { error: "Missing 'params' field in JSON-RPC request", code: 2001 }]);
    const allowed = await rpc(url, "sandbox.stop", { namespace: "team-a", sandbox: "x" }, scoped);
    expect([allowed.status, allowed.json]).toEqual([400, { error: "Namespace directory 'team-a' does not exist", code: 2001 }]);
  });

  it("row 6: a wrong jsonrpc version is a shape-A -32600 with HTTP 400", async () => {
    const answer = await postRaw(url, JSON.stringify({ jsonrpc: "1.0", method: "sandbox.stop", params: S1, id: "x" }), { authorization: `Bearer ${key}` });
    expect([answer.status, answer.json]).toEqual([400, { jsonrpc: "2.0", error: { code: -32600, message: "Invalid or missing jsonrpc version field" }, id: "x" }]);
  });

  it("row 7: an unknown method is a shape-A -32601 with HTTP 404", async () => {
    const answer = await rpc(url, "sandbox.nope", {}, key);
    expect([answer.status, answer.json]).toEqual([404, { jsonrpc: "2.0", error: { code: -32601, message: "Method not found: sandbox.nope" }, id: "t-1" }]);
  });

  it("row 25 and framework rejections: text/plain 400, 422 and 415", async () => {
    const truncated = await postRaw(url, '{"jsonrpc":"2.0","method":', { authorization: `Bearer ${key}` });
    expect(truncated.status).toBe(400);
    expect(truncated.contentType).toMatch(/^text\/plain/);
    expect(truncated.json).toBeUndefined();
    expect(truncated.text).toMatch(/^Failed to parse the request body as JSON: /);
    const noMethod = await postRaw(url, JSON.stringify({ jsonrpc: "2.0" }), { authorization: `Bearer ${key}` });
    expect([noMethod.status, noMethod.text]).toEqual([422, "Failed to deserialize the JSON body into the target type: missing field `method`"]);
    const wrongType = await postRaw(url, "{}", { authorization: `Bearer ${key}`, "content-type": "text/plain" });
    expect(wrongType.status).toBe(415);
    const huge = await postRaw(url, JSON.stringify({ jsonrpc: "2.0", method: "sandbox.stop", params: { pad: "x".repeat(2 * 1024 * 1024) } }), { authorization: `Bearer ${key}` });
    expect(huge.status).toBe(413);
  });

  it("rows 9–11: start validates config types, names and unknown definitions", async () => {
    const float = await rpc(url, "sandbox.start", { ...START, sandbox: "f1", config: { image: "microsandbox/python", cpus: 1.5 } }, key);
    expect([float.status, float.json]).toEqual([400, { error: "Invalid params for sandbox.start: invalid type: floating point `1.5`, expected u8", code: 2001 }]);
    const bigMemory = await rpc(url, "sandbox.start", { ...START, sandbox: "f1", config: { image: "i", memory: 2 ** 32 } }, key);
    expect(bigMemory.status).toBe(400);
    const badName = await rpc(url, "sandbox.start", { ...START, sandbox: "bad name!" }, key);
    expect([badName.status, badName.json]).toEqual([400, { error: "Sandbox name can only contain alphanumeric characters, hyphens, or underscores", code: 2001 }]);
    const dash = await rpc(url, "sandbox.start", { ...START, sandbox: "-x" }, key);
    expect(dash.json).toEqual({ error: "Sandbox name must start with an alphanumeric character", code: 2001 });
    const wildcard = await rpc(url, "sandbox.start", { ...START, namespace: "*" }, key);
    expect(wildcard.json).toEqual({ error: "Wildcard namespace (*) is not valid for sandbox creation", code: 2001 });
    const unknown = await rpc(url, "sandbox.start", { namespace: "fresh", sandbox: "ghost" }, key);
    expect([unknown.status, unknown.json]).toEqual([400, { error: "Sandbox 'ghost' not found in existing configuration", code: 2001 }]);
  });

  describe("a running sandbox", () => {
    beforeAll(async () => {
      const started = await rpc(url, "sandbox.start", START, key);
      expect([started.status, started.json]).toEqual([200, { jsonrpc: "2.0", result: "Sandbox s1 started successfully", id: "t-1" }]);
    });

    it("rows 12–13: a python REPL whose state persists", async () => {
      const hi = await rpc(url, "sandbox.repl.run", { ...S1, language: "python", code: "print('hi')" }, key);
      expect([hi.status, hi.json]).toEqual([200, { jsonrpc: "2.0", result: { status: "success", language: "python", output: [{ stream: "stdout", text: "hi" }] }, id: "t-1" }]);
      await rpc(url, "sandbox.repl.run", { ...S1, language: "python", code: "x = 41" }, key);
      const answer = await rpc(url, "sandbox.repl.run", { ...S1, language: "python", code: "print(x+1)" }, key);
      expect((answer.json as { result: unknown }).result).toEqual({ status: "success", language: "python", output: [{ stream: "stdout", text: "42" }] });
    });

    it("row 14: an exception ends with its error line on stderr, status success", async () => {
      const answer = await rpc(url, "sandbox.repl.run", { ...S1, language: "python", code: "1/0" }, key);
      const result = (answer.json as { result: { status: string; output: { stream: string; text: string }[] } }).result;
      expect(result.status).toBe("success");
      expect(result.output.at(-1)).toEqual({ stream: "stderr", text: "ZeroDivisionError: division by zero" });
      expect(result.output[0]).toEqual({ stream: "stderr", text: "Traceback (most recent call last):" });
    });

    it("a node REPL keeps its own state and echoes bare expressions", async () => {
      const setup = await rpc(url, "sandbox.repl.run", { ...S1, language: "nodejs", code: "const fs = require('fs'); const y = 20; globalThis.z = 1" }, key);
      expect((setup.json as { result: { output: unknown } }).result.output).toEqual([{ stream: "stdout", text: "1" }]); // the completion value
      const answer = await rpc(url, "sandbox.repl.run", { ...S1, language: "javascript", code: "console.log('n'); y + z + 21 + (typeof fs.readFileSync === 'function' ? 0 : 1)" }, key);
      expect((answer.json as { result: unknown }).result).toEqual({
        status: "success",
        language: "javascript",
        output: [
          { stream: "stdout", text: "n" },
          { stream: "stdout", text: "42" },
        ],
      });
    });

    it("node errors end on stderr, and concurrent runs of one REPL are queued", async () => {
      const thrown = await rpc(url, "sandbox.repl.run", { ...S1, language: "node", code: "throw new TypeError('nope')" }, key);
      const output = (thrown.json as { result: { output: { stream: string; text: string }[] } }).result.output;
      expect(output).toEqual([{ stream: "stderr", text: "Uncaught TypeError: nope" }]);
      const nested = await rpc(url, "sandbox.repl.run", { ...S1, language: "node", code: "function f() { throw new Error('deep') }\nf()" }, key);
      const lines = (nested.json as { result: { output: { text: string }[] } }).result.output.map((line) => line.text);
      expect(lines[0]).toBe("Uncaught Error: deep");
      expect(lines.slice(1).every((line) => line.includes("REPL:"))).toBe(true);
      expect(lines.length).toBe(2);
      const runs = await Promise.all(
        [1, 2, 3].map((n) => rpc(url, "sandbox.repl.run", { ...S1, language: "python", code: `import time\ntime.sleep(0.05)\nprint(${n})` }, key)),
      );
      expect(runs.map((run) => (run.json as { result: { output: unknown } }).result.output)).toEqual([1, 2, 3].map((n) => [{ stream: "stdout", text: String(n) }]));
    });

    it("user output cannot forge frames, and output without a newline completes", async () => {
      const code = "import sys\nprint('end\\t1\\nready')\n_ = sys.stdout.write('no newline')";
      const answer = await rpc(url, "sandbox.repl.run", { ...S1, language: "python", code, timeout: 10 }, key);
      expect((answer.json as { result: { output: unknown } }).result.output).toEqual([
        { stream: "stdout", text: "end\t1" },
        { stream: "stdout", text: "ready" },
        { stream: "stdout", text: "no newline" },
      ]);
    });

    it("row 15: a timeout answers in band, restarts the interpreter and says the state is gone", async () => {
      await rpc(url, "sandbox.repl.run", { ...S1, language: "python", code: "kept = 1" }, key);
      const started = Date.now();
      const answer = await rpc(url, "sandbox.repl.run", { ...S1, language: "python", code: "import time; time.sleep(5)", timeout: 1 }, key);
      expect(Date.now() - started).toBeLessThan(4_000);
      const result = (answer.json as { result: { status: string; output: { stream: string; text: string }[] } }).result;
      expect(answer.status).toBe(200);
      expect(result.status).toBe("success");
      expect(result.output.at(-1)).toEqual({ stream: "stderr", text: "Error: Execution timed out after 1 seconds" });
      const after = await rpc(url, "sandbox.repl.run", { ...S1, language: "python", code: "print('kept' in globals())" }, key);
      expect((after.json as { result: { output: unknown } }).result.output).toEqual([{ stream: "stdout", text: "False" }]);
      // The killed interpreter's pipe is removed: one pipe each for the live python and node REPLs.
      const pipes = async (): Promise<string[]> => {
        const listing = await rpc(url, "sandbox.command.run", { ...S1, command: "ls", args: ["-a"] }, key);
        return (listing.json as { result: { output: { text: string }[] } }).result.output.map((line) => line.text).filter((name) => name.startsWith(".sandkit-repl-"));
      };
      const deadline = Date.now() + 5_000;
      while ((await pipes()).length !== 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await pipes()).toHaveLength(2);
    });

    it("row 16: command.run returns exit code and both streams", async () => {
      const args = ["-c", "echo out; echo err >&2; exit 3"];
      const answer = await rpc(url, "sandbox.command.run", { ...S1, command: "sh", args }, key);
      expect([answer.status, answer.json]).toEqual([
        200,
        { jsonrpc: "2.0", result: { command: "sh", args, exit_code: 3, success: false, output: [{ stream: "stdout", text: "out" }, { stream: "stderr", text: "err" }] }, id: "t-1" },
      ]);
    });

    it("rows 17–18: a missing program and a timeout are 500/5002", async () => {
      const missing = await rpc(url, "sandbox.command.run", { ...S1, command: "definitely-not-a-cmd" }, key);
      expect([missing.status, missing.json]).toEqual([500, { error: "Internal server error", code: 5002 }]);
      const started = Date.now();
      const slow = await rpc(url, "sandbox.command.run", { ...S1, command: "sleep", args: ["10"], timeout: 1 }, key);
      expect([slow.status, slow.json]).toEqual([500, { error: "Internal server error", code: 5002 }]);
      expect(Date.now() - started).toBeLessThan(5_000);
      const inner127 = await rpc(url, "sandbox.command.run", { ...S1, command: "sh", args: ["-c", "exit 127"] }, key);
      expect((inner127.json as { result: { exit_code: number } }).result.exit_code).toBe(127);
    });

    it("row 19: repl.run without sandbox is 400/2001", async () => {
      const answer = await rpc(url, "sandbox.repl.run", { namespace: "default", language: "python", code: "1" }, key);
      expect([answer.status, answer.json]).toEqual([400, { error: "Missing required 'sandbox' parameter for portal request", code: 2001 }]);
      const notObject = await rpc(url, "sandbox.repl.run", [1], key);
      expect(notObject.json).toEqual({ error: "Request parameters must be an object containing 'sandbox' and 'namespace'", code: 2001 });
    });

    it("row 20 and unsupported languages: 500/5002", async () => {
      const never = await rpc(url, "sandbox.repl.run", { namespace: "default", sandbox: "never", language: "python", code: "1" }, key);
      expect([never.status, never.json]).toEqual([500, { error: "Internal server error", code: 5002 }]);
      const ruby = await rpc(url, "sandbox.repl.run", { ...S1, language: "ruby", code: "1" }, key);
      expect(ruby.status).toBe(500);
    });

    it("row 21: metrics while running, memory in MiB and disk in bytes as integers or null", async () => {
      const answer = await rpc(url, "sandbox.metrics.get", S1, key);
      const [status] = (answer.json as { result: { sandboxes: Record<string, unknown>[] } }).result.sandboxes;
      expect(status).toMatchObject({ namespace: "default", name: "s1", running: true });
      expect(status!["cpu_usage"] === null || typeof status!["cpu_usage"] === "number").toBe(true);
      for (const field of ["memory_usage", "disk_usage"]) expect(status![field] === null || Number.isInteger(status![field])).toBe(true);
      expect(typeof status!["disk_usage"]).toBe("number");
    });

    it("row 26 (documented): a second start of a running sandbox keeps it and its REPL", async () => {
      await rpc(url, "sandbox.repl.run", { ...S1, language: "python", code: "again = 7" }, key);
      const second = await rpc(url, "sandbox.start", START, key);
      expect((second.json as { result: unknown }).result).toBe("Sandbox s1 started successfully");
      const answer = await rpc(url, "sandbox.repl.run", { ...S1, language: "python", code: "print(again)" }, key);
      expect((answer.json as { result: { output: unknown } }).result.output).toEqual([{ stream: "stdout", text: "7" }]);
    });

    it("rows 22–24: stop is idempotent, metrics then say not running, unknown namespaces are 400", async () => {
      const stopped = await rpc(url, "sandbox.stop", S1, key);
      expect([stopped.status, stopped.json]).toEqual([200, { jsonrpc: "2.0", result: "Sandbox s1 stopped successfully", id: "t-1" }]);
      const again = await rpc(url, "sandbox.stop", S1, key);
      expect((again.json as { result: unknown }).result).toBe("Sandbox s1 stopped successfully");
      const metrics = await rpc(url, "sandbox.metrics.get", S1, key);
      expect((metrics.json as { result: unknown }).result).toEqual({
        sandboxes: [{ namespace: "default", name: "s1", running: false, cpu_usage: null, memory_usage: null, disk_usage: null }],
      });
      const gone = await rpc(url, "sandbox.repl.run", { ...S1, language: "python", code: "1" }, key);
      expect(gone.status).toBe(500);
      const never = await rpc(url, "sandbox.stop", { namespace: "never-used", sandbox: "s1" }, key);
      expect([never.status, never.json]).toEqual([400, { error: "Namespace directory 'never-used' does not exist", code: 2001 }]);
      const undefinedName = await rpc(url, "sandbox.stop", { namespace: "default", sandbox: "nobody" }, key);
      expect(undefinedName.status).toBe(500);
    });

    it("config.envs becomes the sandbox's environment", async () => {
      const started = await rpc(url, "sandbox.start", { namespace: "envs", sandbox: "e1", config: { image: "i", envs: ["GREETING=a=b"] } }, key);
      expect(started.status).toBe(200);
      const answer = await rpc(url, "sandbox.command.run", { namespace: "envs", sandbox: "e1", command: "sh", args: ["-c", 'echo "$GREETING"'] }, key);
      expect((answer.json as { result: { output: unknown } }).result.output).toEqual([{ stream: "stdout", text: "a=b" }]);
      expect((await rpc(url, "sandbox.stop", { namespace: "envs", sandbox: "e1" }, key)).status).toBe(200);
    });

    it("a stopped sandbox starts again from its stored definition, without config", async () => {
      const restarted = await rpc(url, "sandbox.start", S1, key);
      expect((restarted.json as { result: unknown }).result).toBe("Sandbox s1 started successfully");
      const answer = await rpc(url, "sandbox.command.run", { ...S1, command: "echo", args: ["back"] }, key);
      expect((answer.json as { result: { output: unknown } }).result.output).toEqual([{ stream: "stdout", text: "back" }]);
    });
  });
});

describe("microsandbox server, dev mode and close", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it("row 27: dev mode needs no key and ignores a bad one; the id is left out when absent", async () => {
    const t = await startTestServer({ dev: true });
    cleanups.push(() => t.dispose());
    const answer = await postRaw(t.server.url, JSON.stringify({ jsonrpc: "2.0", method: "sandbox.metrics.get", params: { namespace: "*" } }), { authorization: "Bearer junk" });
    expect([answer.status, answer.json]).toEqual([200, { jsonrpc: "2.0", result: { sandboxes: [] } }]);
    expect(() => t.server.issueApiKey()).toThrow();
  });

  it("close() leaves no sandbox directory, process or listening socket behind", async () => {
    const t = await startTestServer({ dev: true, namespaces: ["default"] });
    cleanups.push(() => t.dispose());
    const url = t.server.url;
    expect((await rpc(url, "sandbox.start", START)).status).toBe(200);
    expect((await rpc(url, "sandbox.start", { ...START, sandbox: "s2" })).status).toBe(200);
    expect((await rpc(url, "sandbox.repl.run", { ...S1, language: "python", code: "1" })).status).toBe(200);
    expect((await rpc(url, "sandbox.repl.run", { ...S1, language: "node", code: "1" })).status).toBe(200);
    const busy = rpc(url, "sandbox.command.run", { namespace: "default", sandbox: "s2", command: "sleep", args: ["30"] }).catch(() => undefined);
    expect((await processesUnder(t.root)).length).toBeGreaterThan(0);
    await t.server.close();
    await busy;
    expect(await processesUnder(t.root)).toEqual([]);
    const entries = await readdir(t.root, { recursive: true });
    expect(entries.filter((entry) => !entry.startsWith("."))).toEqual([]);
    await expect(connectTo(t.server.port)).rejects.toMatchObject({ code: "ECONNREFUSED" });
    await t.server.close();
  });
});

describe("microsandbox server, REPL without an interpreter", () => {
  let t: TestServer;
  beforeAll(async () => {
    const root = await mkdtemp(join(tmpdir(), "sandkit-msb-server-"));
    const backend = local({ root, isolation: "none" });
    // A backend whose sandboxes have no python3: the driver's exec finds no such program.
    const noPython: SandboxBackendV1 = {
      specificationVersion: "v1",
      name: "no-python",
      capabilities: backend.capabilities,
      async create(request, call) {
        const connection = await backend.create(request, call);
        return {
          get info() {
            return connection.info;
          },
          exec: (exec, execCall) => connection.exec({ ...exec, argv: exec.argv[0] === "python3" ? ["sandkit-no-such-python3", ...exec.argv.slice(1)] : exec.argv }, execCall),
        };
      },
      attach: (id, call) => backend.attach(id, call),
      destroy: (id, call) => backend.destroy(id, call),
      health: (call) => backend.health(call),
      close: () => backend.close(),
    };
    const server = await createMicrosandboxServer({ dev: true, backend: noPython });
    t = {
      server,
      root,
      async dispose() {
        await server.close();
        await backend.close();
        await rm(root, { recursive: true, force: true });
      },
    };
  });
  afterAll(async () => {
    await t.dispose();
  });

  it("answers 200 with an Error: line, and tries again on the next run", async () => {
    expect((await rpc(t.server.url, "sandbox.start", START)).status).toBe(200);
    for (let i = 0; i < 2; i++) {
      const answer = await rpc(t.server.url, "sandbox.repl.run", { ...S1, language: "python", code: "1" });
      expect(answer.status).toBe(200);
      const output = (answer.json as { result: { status: string; output: { stream: string; text: string }[] } }).result;
      expect(output.status).toBe("success");
      expect(output.output).toHaveLength(1);
      expect(output.output[0]!.stream).toBe("stderr");
      expect(output.output[0]!.text).toMatch(/^Error: the python interpreter could not be started/);
    }
    const node = await rpc(t.server.url, "sandbox.repl.run", { ...S1, language: "node", code: "6 * 7" });
    expect((node.json as { result: { output: unknown } }).result.output).toEqual([{ stream: "stdout", text: "42" }]);
  });
});

/** Pids of processes whose working directory lies under `root`. */
async function processesUnder(root: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if ((await readlink(`/proc/${name}/cwd`)).startsWith(root)) pids.push(Number(name));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return pids;
}

function connectTo(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve();
    });
    socket.once("error", reject);
  });
}
