/**
 * The adapter under faults, with a loopback fault proxy on each plane: between the adapter and
 * the provisioner (control plane), and between the adapter and one sandbox's AIO API (data plane,
 * reached through the `sandboxUrl` rewrite). Idempotent calls (POST create-or-ensure, GET, DELETE,
 * the readiness probe, downloads, replacing writes) survive resets and 5xx; exec reaches the
 * sandbox at most once whatever happens to the connection; an HTTP 200 with `success: false` or an
 * unfinished status is a typed error, never a success.
 */
import {
  type CallContextV1,
  ConnectionError,
  FileNotFoundError,
  ProtocolError,
  RequestTimeoutError,
  type SandboxConnectionV1,
  ServerError,
} from "@sandkit/core";
import { createFaultProxy, type FaultProxy, type FaultRule } from "@sandkit/testkit/fault-proxy";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ProvisionerConnection } from "./connection.ts";
import type { ProvisionerBackend } from "./index.ts";
import { type Harness, bubblewrapWorks, callWithin, caught, startHarness } from "./test-support/harness.ts";

const bubblewrap = await bubblewrapWorks();
const envelope = (value: unknown): string => JSON.stringify(value);

describe.skipIf(!bubblewrap)("the adapter through fault proxies", () => {
  let h: Harness;
  let control: FaultProxy;

  beforeAll(async () => {
    h = await startHarness({});
    control = await createFaultProxy({ target: h.server.url });
  });
  afterAll(async () => {
    await control?.close();
    await h?.close();
  });
  afterEach(() => {
    control.setRules([]);
  });

  describe("control plane: idempotent calls are repeated until they succeed", () => {
    const faults: readonly [string, FaultRule["fault"]][] = [
      ["a reset before the request reached the server", { kind: "reset", when: "before-forward" }],
      ["a reset after the server answered", { kind: "reset", when: "after-forward" }],
      ["a connection closed without an answer", { kind: "close", when: "after-forward" }],
      ["503 Service Unavailable", { kind: "status", status: 503, body: "unavailable" }],
      ["502 Bad Gateway", { kind: "status", status: 502, body: "bad gateway" }],
      ["429 with Retry-After: 0", { kind: "status", status: 429, retryAfter: 0 }],
    ];
    for (const [name, fault] of faults) {
      it(`create (POST, ensure), attach (GET) and destroy (DELETE) survive ${name}`, async () => {
        const id = `ft-${faults.findIndex(([n]) => n === name)}`;
        const backend = h.backend({ url: control.url });
        control.setRules([
          { method: "POST", path: "/api/sandboxes", on: [1], fault },
          { method: "GET", path: `/api/sandboxes/${id}`, on: [2], fault },
          { method: "DELETE", path: `/api/sandboxes/${id}`, on: [1], fault },
        ]);
        const created = await backend.create({ id }, callWithin());
        expect(created.info.id).toBe(id);
        const attached = await backend.attach(id, callWithin());
        expect((await attached.exec({ argv: ["echo", "ok"], maxOutputBytes: 100 }, callWithin())).stdout).toBe("ok\n");
        await backend.destroy(id, callWithin());
        expect(control.received("POST", "/api/sandboxes")).toBeGreaterThanOrEqual(2);
        expect(control.received("DELETE", `/api/sandboxes/${id}`)).toBeGreaterThanOrEqual(2);
        // Whatever the retries, one sandbox existed and it is gone now.
        await backend.destroy(id, callWithin());
        control.setRules([]);
      });
    }

    it("a create whose POST keeps failing is a typed error and deletes what it may have created", async () => {
      const backend = h.backend({ url: control.url });
      control.setRules([{ method: "POST", path: "/api/sandboxes", fault: { kind: "reset", when: "after-forward" } }]);
      const error = await caught(backend.create({ id: "ft-post-fails" }, callWithin()));
      expect(ConnectionError.isInstance(error)).toBe(true);
      expect(control.forwarded("DELETE", "/api/sandboxes/ft-post-fails")).toBe(1);
      control.setRules([]);
      expect((await caught(backend.attach("ft-post-fails", callWithin()))) instanceof Error).toBe(true);
    });
  });

  describe("data plane", () => {
    let direct: ProvisionerBackend;
    let data: FaultProxy;
    let proxied: ProvisionerBackend;
    let sbx: ProvisionerConnection;
    const id = "ft-data";
    const call = (ms = 20_000): CallContextV1 => callWithin(ms);
    const exec = (connection: SandboxConnectionV1, argv: string[], timeoutMs?: number) => connection.exec({ argv, maxOutputBytes: 4096, timeoutMs }, call());

    beforeAll(async () => {
      direct = h.backend();
      const created = await direct.create({ id }, callWithin());
      data = await createFaultProxy({ target: created.sandboxUrl });
      proxied = h.backend({ sandboxUrl: () => data.url, execMarginMs: 1000 });
      sbx = await proxied.attach(id, callWithin());
    });
    afterAll(async () => {
      await direct?.destroy(id, callWithin()).catch(() => undefined);
      await data?.close();
    });
    afterEach(() => {
      data.setRules([]);
    });

    it("exec is never sent twice: a reset after the sandbox got it is a ConnectionError, and it ran once", async () => {
      await sbx.files!.write("/workspace/count", Buffer.from(""), {}, call());
      const before = data.forwarded("POST", "/v1/bash/exec");
      data.setRules([{ method: "POST", path: "/v1/bash/exec", on: [1], fault: { kind: "reset", when: "after-forward" } }]);
      const error = await caught(exec(sbx, ["sh", "-c", "echo x >> /workspace/count"]));
      expect(ConnectionError.isInstance(error) && error.requestSent).toBe(true);
      expect(data.forwarded("POST", "/v1/bash/exec") - before).toBe(1);
      data.setRules([]);
      expect((await exec(sbx, ["cat", "/workspace/count"])).stdout).toBe("x\n");
    });

    it("exec reset by an intermediary is not sent again (the client cannot tell whether it arrived)", async () => {
      const received = data.received("POST", "/v1/bash/exec");
      const forwarded = data.forwarded("POST", "/v1/bash/exec");
      data.setRules([{ method: "POST", path: "/v1/bash/exec", on: [1], fault: { kind: "reset", when: "before-forward" } }]);
      const error = await caught(exec(sbx, ["echo", "once"]));
      expect(ConnectionError.isInstance(error)).toBe(true);
      expect(data.received("POST", "/v1/bash/exec") - received).toBe(1);
      expect(data.forwarded("POST", "/v1/bash/exec") - forwarded).toBe(0);
    });

    it("exec answered 503 is not repeated: a typed ServerError", async () => {
      const received = data.received("POST", "/v1/bash/exec");
      data.setRules([{ method: "POST", path: "/v1/bash/exec", fault: { kind: "status", status: 503, body: "busy" } }]);
      const error = await caught(exec(sbx, ["true"]));
      expect(ServerError.isInstance(error) && error.status === 503).toBe(true);
      expect(data.received("POST", "/v1/bash/exec") - received).toBe(1);
    });

    it("an HTTP 200 with success: false is an error, never a success", async () => {
      data.setRules([{ method: "POST", path: "/v1/bash/exec", fault: { kind: "status", status: 200, body: envelope({ success: false, message: "boom", data: null }) } }]);
      const error = await caught(exec(sbx, ["true"]));
      expect(ServerError.isInstance(error) && error.protocolCode === "SUCCESS_FALSE").toBe(true);
      data.setRules([
        {
          method: "POST",
          path: "/v1/file/write",
          fault: { kind: "status", status: 200, body: envelope({ success: false, message: "denied", data: { path: "/x", operation: "write", error_type: "permission_denied", retryable: false } }) },
        },
      ]);
      const denied = await caught(sbx.files!.write("/workspace/x", Buffer.from("x"), {}, call()));
      expect(ServerError.isInstance(denied) && denied.protocolCode === "permission_denied").toBe(true);
      data.setRules([
        { method: "POST", path: "/v1/file/list", fault: { kind: "status", status: 200, body: envelope({ success: false, data: { error_type: "not_found" } }) } },
      ]);
      expect(FileNotFoundError.isInstance(await caught(sbx.files!.list("/workspace/nope", call())))).toBe(true);
    });

    it("a status other than completed is never a success: running is a ServerError, timed_out is timedOut", async () => {
      data.setRules([{ method: "POST", path: "/v1/bash/exec", on: [1], fault: { kind: "status", status: 200, body: envelope({ success: true, data: { status: "running", stdout: "", exit_code: null } }) } }]);
      const error = await caught(exec(sbx, ["true"]));
      expect(ServerError.isInstance(error) && error.protocolCode === "running").toBe(true);
      const r = await exec(sbx, ["sleep", "5"], 300);
      expect(r).toMatchObject({ timedOut: true, exitCode: null });
    });

    it("a malformed exec answer is a ProtocolError", async () => {
      data.setRules([{ method: "POST", path: "/v1/bash/exec", fault: { kind: "malformed-json" } }]);
      expect(ProtocolError.isInstance(await caught(exec(sbx, ["true"])))).toBe(true);
    });

    it("an exec whose answer never comes ends at its limit plus the margin, with a typed error", async () => {
      data.setRules([{ method: "POST", path: "/v1/bash/exec", fault: { kind: "stall", when: "before-headers" } }]);
      const started = Date.now();
      const error = await caught(exec(sbx, ["true"], 500));
      expect(RequestTimeoutError.isInstance(error)).toBe(true);
      expect(Date.now() - started).toBeLessThan(5000);
    });

    it("downloads and replacing writes survive resets; a truncated download is a typed error", async () => {
      const bytes = Buffer.alloc(200_000, 7);
      data.setRules([{ method: "POST", path: "/v1/file/write", on: [1], fault: { kind: "reset", when: "after-forward" } }]);
      await sbx.files!.write("/workspace/blob", bytes, {}, call());
      data.setRules([{ method: "GET", path: "/v1/file/download", on: [1], fault: { kind: "reset", when: "after-forward" } }]);
      expect(Buffer.compare(Buffer.from(await sbx.files!.read("/workspace/blob", { maxBytes: 1 << 20 }, call())), bytes)).toBe(0);
      data.setRules([{ method: "GET", path: "/v1/file/download", fault: { kind: "truncate", bytes: 1000 } }]);
      expect(ConnectionError.isInstance(await caught(sbx.files!.read("/workspace/blob", { maxBytes: 1 << 20 }, call())))).toBe(true);
    });

    it("S9: on an image without /v1/bash/* (404), exec falls back to the PTY shell endpoint, with env and cwd", async () => {
      const old = await proxied.attach(id, callWithin());
      await old.files!.mkdir("/workspace/fb", call());
      data.setRules([{ method: "POST", path: "/v1/bash/exec", fault: { kind: "status", status: 404, body: envelope({ success: false, message: "Not Found", data: null }) } }]);
      const shellBefore = data.forwarded("POST", "/v1/shell/exec");
      const r = await old.exec({ argv: ["sh", "-c", 'echo "$GREETING from $(pwd)"; exit 4'], env: { GREETING: "hi there" }, cwd: "/workspace/fb", maxOutputBytes: 4096 }, call());
      expect(r.exitCode).toBe(4);
      expect(r.stdout.trim()).toBe("hi there from /workspace/fb");
      const again = await old.exec({ argv: ["echo", "second"], maxOutputBytes: 4096 }, call());
      expect(again.stdout.trim()).toBe("second");
      expect(data.forwarded("POST", "/v1/shell/exec") - shellBefore).toBe(2);
      expect(data.received("POST", "/v1/bash/exec")).toBeGreaterThan(0);
    });

    it("the readiness probe polls through 503s and broken connections", async () => {
      const before = data.received("GET", "/v1/sandbox");
      data.setRules([
        { method: "GET", path: "/v1/sandbox", on: [1, 2, 3], fault: { kind: "status", status: 503, body: "starting" } },
        { method: "GET", path: "/v1/sandbox", on: [1, 2], fault: { kind: "reset", when: "before-forward" } },
      ]);
      const again = await proxied.attach(id, callWithin());
      expect(again.info.id).toBe(id);
      expect(data.received("GET", "/v1/sandbox") - before).toBeGreaterThanOrEqual(6);
    });
  });
});
