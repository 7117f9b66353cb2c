/**
 * The §14 scenarios of the protocol note, from the client side: the adapter against the
 * microsandbox-compatible server of this package over loopback, with keys, scoped keys, dev mode,
 * both error shapes and the REPL.
 */
import diagnosticsChannel from "node:diagnostics_channel";
import { inspect } from "node:util";
import {
  AuthenticationError,
  type CallContextV1,
  createSandbox,
  HTTP_CHANNELS,
  type HttpRequestEvent,
  SandboxError,
  SandboxNotFoundError,
  ServerError,
  ValidationError,
} from "@sandkit/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MicrosandboxClient } from "./client.ts";
import { type MicrosandboxBackend, microsandbox } from "./index.ts";
import type { MicrosandboxOptions } from "./options.ts";
import { resolveOptions } from "./options.ts";
import { issueMicrosandboxApiKey } from "./server/index.ts";
import { type Harness, bubblewrapWorks, startHarness } from "./test-support/harness.ts";

const bubblewrap = await bubblewrapWorks();
const call = (timeoutMs = 30_000): CallContextV1 => ({ signal: AbortSignal.timeout(timeoutMs), deadline: Date.now() + timeoutMs });

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

/** Records the operations the transport sends while `run` runs. */
async function operationsDuring(run: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const listener = (message: unknown): void => {
    const event = message as HttpRequestEvent;
    if (event.backend === "microsandbox") seen.push(event.operation);
  };
  diagnosticsChannel.subscribe(HTTP_CHANNELS.start, listener);
  try {
    await run().catch(() => undefined);
  } finally {
    diagnosticsChannel.unsubscribe(HTTP_CHANNELS.start, listener);
  }
  return seen;
}

describe.skipIf(!bubblewrap)("the adapter against the compatible server (§14)", () => {
  let h: Harness;
  let key: string;
  const backends: MicrosandboxBackend[] = [];
  const make = (options: MicrosandboxOptions = {}): MicrosandboxBackend => {
    const backend = microsandbox({ url: h.server.url, apiKey: key, ...options });
    backends.push(backend);
    return backend;
  };

  beforeAll(async () => {
    h = await startHarness();
    key = h.server.issueApiKey();
  });
  afterAll(async () => {
    await h?.close();
  });
  afterEach(async () => {
    await Promise.all(backends.splice(0).map((b) => b.close()));
  });

  it("row 1: health is GET /api/v1/health, without a key; a dead server is ok: false", async () => {
    expect(await make({ apiKey: undefined }).health(call())).toEqual({ ok: true });
    const dead = make({ url: "http://127.0.0.1:1", requestTimeoutMs: 2000 });
    const answer = await dead.health(call());
    expect(answer.ok).toBe(false);
  });

  it("rows 2-4: a missing, non-msb or wrongly signed key is AuthenticationError, and the key never shows", async () => {
    const missing = await caught(make({ apiKey: undefined }).attach("x1", call()));
    expect(missing).toBeInstanceOf(AuthenticationError);
    expect((missing as AuthenticationError).reason).toBe("unauthenticated");
    expect(await caught(make({ apiKey: "not-a-msb-key" }).attach("x1", call()))).toBeInstanceOf(AuthenticationError);
    const forged = issueMicrosandboxApiKey({ secret: "another-secret-0123456789abcdefgh", namespace: "*" });
    const error = await caught(make({ apiKey: forged }).attach("x1", call()));
    expect(error).toBeInstanceOf(AuthenticationError);
    const token = forged.slice(4);
    expect(inspect(error, { depth: 10 })).not.toContain(token);
    expect(JSON.stringify(error)).not.toContain(token);
    expect(String((error as SandboxError).message)).not.toContain(token);
  });

  it("row 5: a key scoped to another namespace is AuthenticationError (forbidden); its own namespace works", async () => {
    const scoped = h.server.issueApiKey({ namespace: "team-a" });
    const error = await caught(make({ apiKey: scoped, namespace: "team-b" }).create({}, call()));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).reason).toBe("forbidden");
    const own = make({ apiKey: scoped, namespace: "team-a" });
    const connection = await own.create({}, call());
    expect((await connection.metrics!(call())).running).toBe(true);
    await own.destroy(connection.info.id, call());
  });

  it("rows 9-10: fractional cpus and bad names are refused before anything is sent", async () => {
    const backend = make();
    const ops = await operationsDuring(async () => {
      expect(await caught(backend.create({ resources: { cpus: 1.5 } }, call()))).toBeInstanceOf(ValidationError);
      expect(await caught(backend.create({ id: "bad name!" }, call()))).toBeInstanceOf(ValidationError);
      expect(await caught(backend.create({ resources: { memoryMiB: 100.5 } }, call()))).toBeInstanceOf(ValidationError);
    });
    expect(ops).toEqual([]);
  });

  it("rows 8, 12-16, 21-23: start, REPL state, errors, timeouts, commands, metrics and stop", async () => {
    await using sbx = await createSandbox({ backend: make() });
    expect(sbx.info.details).toMatchObject({ namespace: "default", image: "microsandbox/python", start: "started" });

    expect((await sbx.runCode("print('hi')", { language: "python" })).stdout).toBe("hi");
    await sbx.runCode("x = 41", { language: "python" });
    expect(await sbx.runCode("print(x+1)", { language: "python" })).toMatchObject({ stdout: "42", exitCode: 0, timedOut: false });

    const failed = await sbx.runCode("1/0", { language: "python" });
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr.split("\n").at(-1)).toBe("ZeroDivisionError: division by zero");

    const slow = await sbx.runCode("import time; time.sleep(3)", { language: "python", timeoutMs: 1000 });
    expect(slow).toMatchObject({ timedOut: true, exitCode: null });
    expect(slow.stderr).not.toMatch(/Execution timed out/);

    const r = await sbx.exec(["sh", "-c", "echo out; echo err >&2; exit 3"]);
    expect(r).toMatchObject({ exitCode: 3, stdout: "out\n", stderr: "err\n", timedOut: false });

    const metrics = await sbx.metrics();
    expect(metrics.running).toBe(true);
    for (const value of [metrics.memoryBytes, metrics.diskBytes, metrics.cpuPercent]) {
      if (value !== undefined) expect(value).toBeGreaterThanOrEqual(0);
    }
    if (metrics.memoryBytes !== undefined) expect(metrics.memoryBytes % (1024 * 1024)).toBe(0);
  });

  it("rows 17-18 (exactOutput: false): a missing program is a ServerError of unknown cause; a command past its limit is timedOut", async () => {
    await using sbx = await createSandbox({ backend: make({ exactOutput: false }) });
    const missing = await caught(sbx.exec(["definitely-not-a-cmd"]));
    expect(missing).toBeInstanceOf(ServerError);
    expect((missing as ServerError).protocolCode).toBe(5002);
    expect((missing as ServerError).message).toMatch(/cause unknown/);
    const started = Date.now();
    const slow = await sbx.exec(["sleep", "10"], { timeoutMs: 1000 });
    expect(slow).toMatchObject({ timedOut: true, exitCode: null });
    expect(Date.now() - started).toBeLessThan(8000);
    // Lines come back with one newline each in this mode.
    expect((await sbx.exec(["printf", "a\\nb"])).stdout).toBe("a\nb\n");
  });

  it("row 17 (exactOutput, the default): a missing program exits 127, as in a shell", async () => {
    await using sbx = await createSandbox({ backend: make() });
    expect((await sbx.exec(["definitely-not-a-cmd"])).exitCode).toBe(127);
    expect((await sbx.exec(["printf", "a\\r\\nb"])).stdout).toBe("a\r\nb");
  });

  it("rows 20, 22, 24: after stop, calls fail with SandboxNotFoundError; stop is idempotent, also in a never-used namespace", async () => {
    const backend = make();
    const connection = await backend.create({}, call());
    const id = connection.info.id;
    await backend.destroy(id, call());
    await backend.destroy(id, call());
    expect(await caught(connection.runCode!({ code: "1", language: "python", maxOutputBytes: 1024 }, call()))).toBeInstanceOf(SandboxNotFoundError);
    expect(await caught(backend.attach(id, call()))).toBeInstanceOf(SandboxNotFoundError);
    await make({ namespace: "never-used" }).destroy("nothing-here", call());
  });

  it("row 26: a second start of a running sandbox is never sent", async () => {
    const backend = make();
    const connection = await backend.create({ id: "twice" }, call());
    try {
      const ops = await operationsDuring(async () => {
        expect(await caught(backend.create({ id: "twice" }, call()))).toBeInstanceOf(ValidationError);
        // Another instance checks the server first.
        expect(await caught(make().create({ id: "twice" }, call()))).toBeInstanceOf(ValidationError);
      });
      expect(ops).not.toContain("start");
      expect((await connection.runCode!({ code: "print(7)", language: "python", maxOutputBytes: 1024 }, call())).stdout).toBe("7");
      // attach sends no start either.
      const attachOps = await operationsDuring(() => make().attach("twice", call()));
      expect(attachOps).toEqual(["metrics"]);
    } finally {
      await backend.destroy("twice", call());
    }
  });

  it("language: javascript sends nodejs to the node image and keeps REPL state", async () => {
    await using sbx = await createSandbox({ backend: make({ language: "javascript" }) });
    expect(sbx.info.details).toMatchObject({ image: "microsandbox/node" });
    expect(sbx.capabilities.codeLanguages).toEqual(["javascript"]);
    await sbx.runCode("var x = 41", { language: "javascript" });
    expect((await sbx.runCode("console.log(x + 1)", { language: "javascript" })).stdout).toBe("42");
  });

  it("normalises a trailing slash in the URL", async () => {
    expect(await make({ url: `${h.server.url}/` }).health(call())).toEqual({ ok: true });
    const connection = await make({ url: `${h.server.url}//` }).create({}, call());
    await make().destroy(connection.info.id, call());
  });

  it("refuses a language the image does not serve", async () => {
    await using sbx = await createSandbox({ backend: make() });
    expect(sbx.capabilities.codeLanguages).toEqual(["python"]);
    expect(await caught(sbx.runCode("1", { language: "javascript" }))).toBeInstanceOf(ValidationError);
  });

  it("a client refuses a response whose id is another request's, and keeps its key out of inspect", () => {
    const client = new MicrosandboxClient(resolveOptions({ url: h.server.url, apiKey: key }));
    expect(inspect(client, { depth: 10 })).not.toContain(key.slice(4));
    return client.close();
  });
});

describe.skipIf(!bubblewrap)("dev mode (row 27)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ dev: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("works without a key", async () => {
    const backend = microsandbox({ url: h.server.url });
    try {
      await using sbx = await createSandbox({ backend });
      expect((await sbx.runCode("print(1+1)", { language: "python" })).stdout).toBe("2");
    } finally {
      await backend.close();
    }
  });
});
