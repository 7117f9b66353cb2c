/**
 * The lifecycle and the client flows of the protocol (Part 5.3, F1–F4) against the
 * provisioner-compatible server over loopback, with a transparent fault proxy in front of the
 * control plane to count what reached it: create is one POST and waits for the data plane,
 * a data plane that never comes up is deleted and reported as a typed timeout, a lost pod is a
 * typed `SandboxNotFoundError` (and is recreated by a create of the same id), and the key never
 * leaves the control plane nor shows up in errors.
 */
import { inspect } from "node:util";
import { createServer } from "node:net";
import {
  AuthenticationError,
  createSandbox,
  RequestTimeoutError,
  SandboxError,
  SandboxNotFoundError,
  ServerError,
  ValidationError,
} from "@sandkit/core";
import { createFaultProxy, type FaultProxy } from "@sandkit/testkit/fault-proxy";
import { Agent, type Dispatcher } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Harness, TEST_API_KEY, bubblewrapWorks, callWithin, caught, startHarness } from "./test-support/harness.ts";

const bubblewrap = await bubblewrapWorks();
const READY_DELAY_MS = 300;

/** A port nothing listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** An undici agent that records the headers of every request, by origin. */
class RecordingAgent extends Agent {
  readonly seen: { origin: string; path: string; headers: string }[] = [];
  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    this.seen.push({ origin: String(options.origin), path: options.path, headers: JSON.stringify(options.headers ?? {}).toLowerCase() });
    return super.dispatch(options, handler);
  }
}

/** An undici agent that keeps the JSON bodies of `POST /api/sandboxes`. */
class RecordingBodies extends Agent {
  readonly posts: unknown[] = [];
  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (options.method === "POST" && options.path === "/api/sandboxes" && typeof options.body === "string") this.posts.push(JSON.parse(options.body));
    return super.dispatch(options, handler);
  }
}

describe.skipIf(!bubblewrap)("provisioner lifecycle over loopback", () => {
  let h: Harness;
  let proxy: FaultProxy;

  beforeAll(async () => {
    h = await startHarness({ readyDelayMs: READY_DELAY_MS });
    proxy = await createFaultProxy({ target: h.server.url });
  });
  afterAll(async () => {
    await proxy?.close();
    await h?.close();
  });
  afterEach(() => {
    proxy.setRules([]);
  });

  it("F1: create is one POST, then waits until the data plane answers (refused while the pod starts)", async () => {
    const backend = h.backend({ url: proxy.url });
    const started = Date.now();
    const connection = await backend.create({ id: "f1-fresh" }, callWithin());
    try {
      expect(Date.now() - started).toBeGreaterThanOrEqual(READY_DELAY_MS - 20);
      expect(proxy.forwarded("POST", "/api/sandboxes")).toBe(1);
      const r = await connection.exec({ argv: ["sh", "-c", "echo hi; echo oops >&2; exit 3"], maxOutputBytes: 1024 }, callWithin());
      expect(r).toMatchObject({ exitCode: 3, stdout: "hi\n", stderr: "oops\n", timedOut: false });
    } finally {
      await backend.destroy("f1-fresh", callWithin());
    }
  });

  it("F2: a data plane that never becomes ready within readyTimeoutMs is deleted, then a typed timeout is raised", async () => {
    const port = await deadPort();
    const backend = h.backend({ url: proxy.url, readyTimeoutMs: 700, sandboxUrl: () => `http://127.0.0.1:${port}` });
    const started = Date.now();
    const error = await caught(backend.create({ id: "f2-never" }, callWithin()));
    expect(RequestTimeoutError.isInstance(error)).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(proxy.forwarded("DELETE", "/api/sandboxes/f2-never")).toBe(1);
    expect(SandboxNotFoundError.isInstance(await caught(h.backend().attach("f2-never", callWithin())))).toBe(true);
  });

  it("F3: a control plane answering 503 is a typed, retryable ServerError; nothing is deleted and the data plane still works", async () => {
    const backend = h.backend({ url: proxy.url });
    const connection = await backend.create({ id: "f3-cached" }, callWithin());
    try {
      proxy.setRules([{ method: "GET", path: "/api/sandboxes/f3-cached", fault: { kind: "status", status: 503, body: "unavailable" } }]);
      const error = await caught(backend.attach("f3-cached", callWithin()));
      expect(ServerError.isInstance(error) && error.status === 503).toBe(true);
      expect(proxy.forwarded("DELETE", "/api/sandboxes/f3-cached")).toBe(0);
      const r = await connection.exec({ argv: ["echo", "still here"], maxOutputBytes: 1024 }, callWithin());
      expect(r.stdout).toBe("still here\n");
    } finally {
      proxy.setRules([]);
      await backend.destroy("f3-cached", callWithin());
    }
  });

  it("F4 / P13: a lost pod (sticky NotFound) gives SandboxNotFoundError on attach and exec, and a create of the same id replaces it", async () => {
    const backend = h.backend({ url: proxy.url });
    const connection = await backend.create({ id: "f4-lost" }, callWithin());
    await connection.files!.write("/workspace/old.txt", Buffer.from("old"), {}, callWithin());
    expect(await h.server.simulateLostPod("f4-lost")).toBe(true);

    const started = Date.now();
    const execError = await caught(connection.exec({ argv: ["true"], maxOutputBytes: 1024 }, callWithin()));
    expect(SandboxNotFoundError.isInstance(execError)).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(SandboxNotFoundError.isInstance(await caught(backend.attach("f4-lost", callWithin())))).toBe(true);
    expect(SandboxNotFoundError.isInstance(await caught(connection.files!.read("/workspace/old.txt", { maxBytes: 100 }, callWithin())))).toBe(true);

    const deletesBefore = proxy.forwarded("DELETE", "/api/sandboxes/f4-lost");
    const fresh = await backend.create({ id: "f4-lost" }, callWithin());
    try {
      expect(proxy.forwarded("DELETE", "/api/sandboxes/f4-lost")).toBe(deletesBefore + 1);
      const r = await fresh.exec({ argv: ["echo", "new pod"], maxOutputBytes: 1024 }, callWithin());
      expect(r.stdout).toBe("new pod\n");
    } finally {
      await backend.destroy("f4-lost", callWithin());
    }
  });

  it("P18: a create answered 500 (no Service URL in time, pod left in place) is a ServerError and the pod is deleted", async () => {
    const backend = h.backend({ url: proxy.url });
    proxy.setRules([{ method: "POST", path: "/api/sandboxes", fault: { kind: "status", status: 500, body: JSON.stringify({ detail: "Service access URL was not available in time" }) } }]);
    const error = await caught(backend.create({ id: "p18-no-url" }, callWithin()));
    expect(ServerError.isInstance(error) && error.message.includes("Service access URL was not available in time")).toBe(true);
    expect(proxy.forwarded("DELETE", "/api/sandboxes/p18-no-url")).toBe(1);
  });

  it("P6: create is ensure: a second create of the same id returns the same sandbox, and attach reconnects after the client is dropped", async () => {
    const first = h.backend();
    const a = await first.create({ id: "p6-ensure" }, callWithin());
    await a.files!.write("/workspace/kept.txt", Buffer.from("kept"), {}, callWithin());
    await first.close();

    const second = h.backend();
    try {
      const b = await second.create({ id: "p6-ensure" }, callWithin());
      expect(Buffer.from(await b.files!.read("/workspace/kept.txt", { maxBytes: 100 }, callWithin())).toString()).toBe("kept");
      const c = await second.attach("p6-ensure", callWithin());
      expect(c.info.id).toBe("p6-ensure");
      expect((await c.exec({ argv: ["cat", "/workspace/kept.txt"], maxOutputBytes: 100 }, callWithin())).stdout).toBe("kept");
    } finally {
      await second.destroy("p6-ensure", callWithin());
    }
  });

  it("P17: list shows every live sandbox with its status, and a wrong key is an error, not an empty list", async () => {
    const backend = h.backend();
    await backend.create({ id: "p17-a" }, callWithin());
    await backend.create({ id: "p17-b" }, callWithin());
    try {
      const listed = await backend.list(callWithin());
      const mine = listed.filter((entry) => entry.id.startsWith("p17-")).sort((a, b) => a.id.localeCompare(b.id));
      expect(mine.map((entry) => [entry.id, entry.status])).toEqual([
        ["p17-a", "Running"],
        ["p17-b", "Running"],
      ]);
      expect(mine.every((entry) => entry.sandboxUrl.startsWith("http://127.0.0.1:"))).toBe(true);
      expect(AuthenticationError.isInstance(await caught(h.backend({ apiKey: "wrong-key-1" }).list(callWithin())))).toBe(true);
    } finally {
      await backend.destroy("p17-a", callWithin());
      await backend.destroy("p17-b", callWithin());
    }
  });

  it("destroy is idempotent (P14, P15) and an unknown id is SandboxNotFoundError on attach (P12)", async () => {
    const backend = h.backend();
    await backend.create({ id: "p14-gone" }, callWithin());
    await backend.destroy("p14-gone", callWithin());
    await backend.destroy("p14-gone", callWithin());
    await backend.destroy("never-existed", callWithin());
    expect(SandboxNotFoundError.isInstance(await caught(backend.attach("p14-gone", callWithin())))).toBe(true);
  });

  it("createSandbox({ backend }) runs, and closing it destroys the pod", async () => {
    const backend = h.backend();
    let id: string;
    {
      await using sbx = await createSandbox({ backend });
      id = sbx.info.id;
      expect(id).toMatch(/^sk-[0-9a-f]{24}$/);
      expect((await sbx.sh("echo $((6 * 7))")).stdout).toBe("42\n");
    }
    expect(SandboxNotFoundError.isInstance(await caught(backend.attach(id, callWithin())))).toBe(true);
  });

  it("ids are checked before anything is sent", async () => {
    const backend = h.backend({ url: proxy.url });
    const before = proxy.received();
    for (const id of ["Upper", "a/b", "-x", "x".repeat(52), "a..b/../c"]) {
      expect(ValidationError.isInstance(await caught(backend.create({ id }, callWithin())))).toBe(true);
      expect(ValidationError.isInstance(await caught(backend.attach(id, callWithin())))).toBe(true);
    }
    expect(proxy.received()).toBe(before);
  });

  it("health is ok with the right key, and not ok (without throwing) with a wrong one or no server", async () => {
    expect((await h.backend().health(callWithin())).ok).toBe(true);
    const wrong = await h.backend({ apiKey: "wrong-key-123" }).health(callWithin());
    expect(wrong.ok).toBe(false);
    expect(wrong.detail).toContain("AUTHENTICATION");
    const port = await deadPort();
    expect((await h.backend({ url: `http://127.0.0.1:${port}`, retry: { maxAttempts: 1 } }).health(callWithin())).ok).toBe(false);
  });

  it("P2/P3: a wrong key is AuthenticationError with a hint, and the key never appears in errors, JSON or util.inspect", async () => {
    const secret = "sk-very-secret-value-9f8e7d";
    const backend = h.backend({ apiKey: secret });
    const error = await caught(backend.create({ id: "p3-wrong-key" }, callWithin()));
    expect(AuthenticationError.isInstance(error)).toBe(true);
    expect((error as SandboxError).suggestion).toContain("PROVISIONER_API_KEY");
    for (const text of [String(error), (error as Error).stack ?? "", JSON.stringify(error), inspect(error, { depth: 10 }), inspect(backend), JSON.stringify(backend)]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(TEST_API_KEY);
    }
  });

  it("sends thread_id, user_id and extra_mounts as DeerFlow does, and null for an anonymous thread", async () => {
    const agent = new RecordingBodies();
    try {
      const named = h.backend({ dispatcher: agent, threadId: "t-1", userId: "u1", extraMounts: [{ hostPath: "/.deer-flow/acp", containerPath: "/mnt/acp-workspace", readOnly: true }] });
      await named.create({ id: "body-named" }, callWithin());
      await named.destroy("body-named", callWithin());
      const anonymous = h.backend({ dispatcher: agent });
      await anonymous.create({ id: "body-anon" }, callWithin());
      await anonymous.destroy("body-anon", callWithin());
      expect(agent.posts).toEqual([
        { sandbox_id: "body-named", thread_id: "t-1", user_id: "u1", extra_mounts: [{ host_path: "/.deer-flow/acp", container_path: "/mnt/acp-workspace", read_only: true }] },
        { sandbox_id: "body-anon", thread_id: null, user_id: "default" },
      ]);
    } finally {
      await agent.close();
    }
  });

  it("the bash session each exec creates is closed afterwards (upstream leaks them)", async () => {
    const agent = new RecordingAgent();
    const owner = h.backend();
    try {
      const created = await owner.create({ id: "sessions-closed" }, callWithin());
      const backend = h.backend({ dispatcher: agent });
      const connection = await backend.attach("sessions-closed", callWithin());
      await connection.exec({ argv: ["true"], maxOutputBytes: 10 }, callWithin());
      // close() lets in-flight requests (the background session close) finish first.
      await backend.close();
      const closes = agent.seen.filter((entry) => /^\/v1\/bash\/sessions\/[^/]+\/close$/.test(entry.path));
      expect(closes).toHaveLength(1);
      const raw = new Agent();
      try {
        const again = await raw.request({ origin: created.sandboxUrl, path: closes[0]!.path, method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
        await again.body.dump();
        expect(again.statusCode).toBe(404);
      } finally {
        await raw.close();
      }
    } finally {
      await owner.destroy("sessions-closed", callWithin());
      await agent.close();
    }
  });

  it("the API key travels only to the provisioner, never to a sandbox's data plane", async () => {
    const agent = new RecordingAgent();
    try {
      const backend = h.backend({ dispatcher: agent, sandboxHeaders: { "x-trace": "t1" } });
      const connection = await backend.create({ id: "key-scope" }, callWithin());
      await connection.exec({ argv: ["true"], maxOutputBytes: 10 }, callWithin());
      await backend.destroy("key-scope", callWithin());
      const control = new URL(h.server.url).origin;
      const toControl = agent.seen.filter((entry) => entry.origin === control);
      const toData = agent.seen.filter((entry) => entry.origin !== control);
      expect(toControl.filter((entry) => entry.path.startsWith("/api/")).every((entry) => entry.headers.includes(TEST_API_KEY.toLowerCase()))).toBe(true);
      expect(toData.length).toBeGreaterThan(0);
      expect(toData.some((entry) => entry.headers.includes(TEST_API_KEY.toLowerCase()) || entry.headers.includes("x-api-key"))).toBe(false);
      expect(toData.every((entry) => entry.headers.includes("x-trace"))).toBe(true);
      expect(toControl.some((entry) => entry.headers.includes("x-trace"))).toBe(false);
    } finally {
      await agent.close();
    }
  });
});
