import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execResponseOf } from "./handle-exec.js";
import { type Harness, startHarness } from "./test-support/harness.js";

interface ExecBody {
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

interface ErrorBody {
  error: { code: string; message: string; requestId?: string };
}

/** The exec body exactly as the upstream Python client sends it (key order included). */
function clientBody(cmd: string[], options: { workdir?: string; timeoutSeconds?: number; env?: Record<string, string> } = {}): string {
  const body: Record<string, unknown> = { cmd, workdir: options.workdir ?? "/workspace", timeoutSeconds: options.timeoutSeconds ?? 30 };
  if (options.env !== undefined) body.env = options.env;
  return JSON.stringify(body);
}

describe("exec (§12 rows 10-17)", () => {
  let h: Harness;
  const exec = (session: string, body: string, headers: Record<string, string> = {}) =>
    h.request("POST", `/v1/sandboxes/${session}/exec`, { body, headers: { "content-type": "application/json", ...headers } });

  beforeAll(async () => {
    h = await startHarness();
    expect((await h.request("PUT", "/v1/sandboxes/s1", { json: { ttlSeconds: 900 } })).status).toBe(200);
  });
  afterAll(async () => {
    await h.close();
  });

  it("row 10: echo hello answers 200 with exitCode 0, stdout hello, empty stderr and an integer durationMs", async () => {
    const r = await exec("s1", clientBody(["echo", "hello"]));
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("application/json");
    const body = r.json() as ExecBody;
    expect(Object.keys(body).sort()).toEqual(["durationMs", "exitCode", "stderr", "stdout"]);
    expect(body).toMatchObject({ exitCode: 0, stdout: "hello\n", stderr: "" });
    expect(Number.isInteger(body.durationMs) && body.durationMs >= 0).toBe(true);
  });

  it("row 11: a non-zero exit is a 200 with the exit code and both streams", async () => {
    const r = await exec("s1", clientBody(["sh", "-c", "echo out; echo err >&2; exit 7"]));
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ exitCode: 7, stdout: "out\n", stderr: "err\n" });
  });

  it("row 12: env reaches the command and workdir /workspace/sub is where it runs", async () => {
    expect((await exec("s1", clientBody(["mkdir", "-p", "sub"]))).status).toBe(200);
    const r = await exec("s1", clientBody(["printenv", "TEST_VAR"], { workdir: "/workspace/sub", env: { TEST_VAR: "v" } }));
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ exitCode: 0, stdout: "v\n" });
    const where = (await exec("s1", clientBody(["sh", "-c", "echo here > marker"], { workdir: "/workspace/sub" }))).json() as ExecBody;
    expect(where.exitCode).toBe(0);
    const check = (await exec("s1", clientBody(["cat", "sub/marker"]))).json() as ExecBody;
    expect(check.stdout).toBe("here\n");
  });

  it("row 12: a workdir that does not exist fails the command like `cd` would (exit 2), not the request", async () => {
    const r = await exec("s1", clientBody(["true"], { workdir: "/workspace/missing" }));
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ exitCode: 2, stdout: "", stderr: "sh: cd: /workspace/missing: No such file or directory\n" });
  });

  it("argv runs verbatim, with no shell in between and no joining of `sh -c` arguments (the v0 quirk is not reproduced)", async () => {
    const args = ["a b", "$HOME", "'single'", "`echo injected`", "$(echo injected)"];
    const plain = (await exec("s1", clientBody(["printf", "[%s]", ...args]))).json() as ExecBody;
    expect(plain.stdout).toBe(args.map((a) => `[${a}]`).join(""));
    // v0 would join "x; echo joined" into the script and expand '$HOME' in the outer shell.
    const shell = (await exec("s1", clientBody(["sh", "-c", "printf '%s|%s' '$HOME' \"$1\"", "sh", "x; echo joined"]))).json() as ExecBody;
    expect(shell.stdout).toBe("$HOME|x; echo joined");
  });

  it("row 13a (default exit-124): a command past timeoutSeconds answers 200, exitCode 124, stderr 'Command timed out after 2 seconds', durationMs about 2000", async () => {
    const started = Date.now();
    const r = await exec("s1", clientBody(["sleep", "10"], { timeoutSeconds: 2 }));
    expect(r.status).toBe(200);
    const body = r.json() as ExecBody;
    expect(body).toMatchObject({ exitCode: 124, stdout: "", stderr: "Command timed out after 2 seconds" });
    expect(body.durationMs).toBeGreaterThanOrEqual(1900);
    expect(body.durationMs).toBeLessThan(4000);
    expect(Date.now() - started).toBeLessThan(6000);
  });

  it("row 14: an empty cmd is 400 BAD_REQUEST 'cmd is required'", async () => {
    for (const body of [clientBody([]), JSON.stringify({ workdir: "/workspace" }), JSON.stringify({ cmd: null })]) {
      const r = await exec("s1", body);
      expect(r.status, body).toBe(400);
      expect((r.json() as ErrorBody).error).toMatchObject({ code: "BAD_REQUEST", message: "cmd is required" });
    }
  });

  it("wrong field types are 400 BAD_REQUEST (a float timeout, non-string env values, a cmd that is not a string array)", async () => {
    for (const body of [
      JSON.stringify({ cmd: ["true"], timeoutSeconds: 1.5 }),
      JSON.stringify({ cmd: ["true"], env: { A: 1 } }),
      JSON.stringify({ cmd: "echo hi" }),
      JSON.stringify({ cmd: ["echo", 3] }),
      JSON.stringify({ cmd: ["echo", "nul\u0000"] }),
      "[]",
      "{",
    ]) {
      const r = await exec("s1", body);
      expect(r.status, body).toBe(400);
      expect((r.json() as ErrorBody).error.code, body).toBe("BAD_REQUEST");
    }
  });

  it("row 15: workdir /etc is 422 INVALID_WORKDIR; env {lower: x} is 422 INVALID_ENV_KEY; neither runs anything", async () => {
    for (const workdir of ["/etc", "relative", "/workspace/../etc", "/workspacex"]) {
      const r = await exec("s1", clientBody(["touch", "/workspace/ran"], { workdir }));
      expect(r.status, workdir).toBe(422);
      expect((r.json() as ErrorBody).error.code, workdir).toBe("INVALID_WORKDIR");
    }
    for (const env of [{ lower: "x" }, { "BAD-NAME": "x" }, { "1ABC": "x" }] as Record<string, string>[]) {
      const r = await exec("s1", clientBody(["touch", "ran"], { env }));
      expect(r.status).toBe(422);
      expect((r.json() as ErrorBody).error.code).toBe("INVALID_ENV_KEY");
    }
    expect(((await exec("s1", clientBody(["test", "-e", "ran"]))).json() as ExecBody).exitCode, "nothing ran").toBe(1);
  });

  it("the checks run in the reference order: cmd (400) before env (422) before workdir (422)", async () => {
    const noCmd = await exec("s1", JSON.stringify({ cmd: [], workdir: "/etc", env: { lower: "x" } }));
    expect((noCmd.json() as ErrorBody).error.code).toBe("BAD_REQUEST");
    const envFirst = await exec("s1", JSON.stringify({ cmd: ["true"], workdir: "/etc", env: { lower: "x" } }));
    expect((envFirst.json() as ErrorBody).error.code).toBe("INVALID_ENV_KEY");
  });

  it("row 16: timeoutSeconds 301 is 504 EXEC_TIMEOUT 'Timeout exceeds maximum of 5m0s' without running the command", async () => {
    const r = await exec("s1", clientBody(["touch", "should-not-exist"], { timeoutSeconds: 301 }));
    expect(r.status).toBe(504);
    expect((r.json() as ErrorBody).error).toMatchObject({ code: "EXEC_TIMEOUT", message: "Timeout exceeds maximum of 5m0s" });
    expect(((await exec("s1", clientBody(["test", "-e", "should-not-exist"]))).json() as ExecBody).exitCode).toBe(1);
  });

  it("row 16: the maximum check comes after the session check (unknown session: 404 first)", async () => {
    const r = await exec("nope", clientBody(["true"], { timeoutSeconds: 301 }));
    expect(r.status).toBe(404);
  });

  it("timeoutSeconds 0 means the default (the command runs)", async () => {
    const r = await exec("s1", clientBody(["echo", "ok"], { timeoutSeconds: 0 }));
    expect(r.json()).toMatchObject({ exitCode: 0, stdout: "ok\n" });
  });

  it("row 17: exec on an unknown session is 404 POD_NOT_FOUND", async () => {
    const before = (await h.sandboxDirs()).length;
    const r = await exec("nope", clientBody(["echo", "x"]), { "x-request-id": "abc-17" });
    expect(r.status).toBe(404);
    expect(r.json()).toEqual({ error: { code: "POD_NOT_FOUND", message: 'sandbox "nope" not found', requestId: "abc-17" } });
    expect((await h.sandboxDirs()).length).toBe(before);
  });

  it("a command killed by a signal reports 128 + the signal number", async () => {
    const r = await exec("s1", clientBody(["sh", "-c", "kill -KILL $$"]));
    expect((r.json() as ExecBody).exitCode).toBe(137);
  });

  it("output past maxOutputBytes is cut and flagged", async () => {
    await using small = await startHarness({ maxOutputBytes: 1000 });
    await small.request("PUT", "/v1/sandboxes/s1", { json: { ttlSeconds: 900 } });
    const r = await small.request("POST", "/v1/sandboxes/s1/exec", { body: clientBody(["sh", "-c", "yes x | head -c 50000; echo done >&2"]) });
    const body = r.json() as ExecBody & { stdoutTruncated?: boolean; stderrTruncated?: boolean };
    expect(body.exitCode).toBe(0);
    expect(Buffer.byteLength(body.stdout)).toBeLessThanOrEqual(1000);
    expect(body.stdoutTruncated).toBe(true);
    expect(body.stderr).toBe("done\n");
    expect(body).not.toHaveProperty("stderrTruncated");
  });

  it("an exec moves the sandbox's expiry", async () => {
    await using short = await startHarness();
    await short.request("PUT", "/v1/sandboxes/busy", { json: { ttlSeconds: 2 } });
    const dir = short.workspaceOf("busy").split("/").at(-2)!;
    // Three commands of 1 s each: without the refresh the sandbox would expire during the third.
    for (let i = 0; i < 3; i += 1) {
      const r = await short.request("POST", "/v1/sandboxes/busy/exec", { body: clientBody(["sleep", "1"]) });
      expect((r.json() as ExecBody).exitCode).toBe(0);
    }
    expect(await short.sandboxDirs()).toContain(dir);
  }, 15_000);

  it("a long command outlives the TTL: the sandbox expires only once the command has answered", async () => {
    await using short = await startHarness();
    await short.request("PUT", "/v1/sandboxes/long", { json: { ttlSeconds: 1 } });
    const r = await short.request("POST", "/v1/sandboxes/long/exec", { body: clientBody(["sh", "-c", "sleep 2; echo finished"]) });
    expect(r.json()).toMatchObject({ exitCode: 0, stdout: "finished\n" });
    // The exec moved the expiry to 1 s after it answered; then the sandbox goes.
    const deadline = Date.now() + 5_000;
    while ((await short.sandboxDirs()).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await short.sandboxDirs()).toEqual([]);
  }, 15_000);
});

describe("execTimeoutStyle: http-504 (the reference server v0 variant)", () => {
  it("row 13b: a command past timeoutSeconds answers 504 EXEC_TIMEOUT", async () => {
    await using h = await startHarness({ execTimeoutStyle: "http-504" });
    await h.request("PUT", "/v1/sandboxes/s1", { json: { ttlSeconds: 900 } });
    const started = Date.now();
    const r = await h.request("POST", "/v1/sandboxes/s1/exec", { body: clientBody(["sleep", "10"], { timeoutSeconds: 2 }) });
    expect(r.status).toBe(504);
    expect((r.json() as ErrorBody).error).toMatchObject({ code: "EXEC_TIMEOUT", message: "Command timed out after 2s" });
    expect(Date.now() - started).toBeLessThan(6000);
  });
});

describe("unknownSession: auto-create (v0)", () => {
  it("row 17 (v0): exec on an unknown session creates it with the defaults and runs", async () => {
    await using h = await startHarness({ unknownSession: "auto-create" });
    const r = await h.request("POST", "/v1/sandboxes/nope/exec", { body: clientBody(["echo", "ready"], { timeoutSeconds: 5 }) });
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ exitCode: 0, stdout: "ready\n" });
    expect(await h.sandboxDirs()).toHaveLength(1);
  });

  it("row 16 (v0): the over-maximum timeout is refused after the auto-create", async () => {
    await using h = await startHarness({ unknownSession: "auto-create" });
    const r = await h.request("POST", "/v1/sandboxes/fresh/exec", { body: clientBody(["true"], { timeoutSeconds: 301 }) });
    expect(r.status).toBe(504);
    expect(await h.sandboxDirs()).toHaveLength(1);
  });
});

describe("execResponseOf", () => {
  const base = { stdout: "", stderr: "", stdoutTruncated: false, stderrTruncated: false, durationMs: 12.6, timedOut: false };

  it("keeps the output so far of a timed-out command and appends the timeout line on its own line", () => {
    expect(execResponseOf({ ...base, exitCode: null, stdout: "partial", stderr: "warn", timedOut: true }, 3)).toEqual({
      exitCode: 124,
      stdout: "partial",
      stderr: "warn\nCommand timed out after 3 seconds",
      durationMs: 13,
    });
  });

  it("gives -1 for an exit the backend could not tell, and 128 + n for a known signal", () => {
    expect(execResponseOf({ ...base, exitCode: null, signal: null }, 30).exitCode).toBe(-1);
    expect(execResponseOf({ ...base, exitCode: null, signal: "SIGTERM" }, 30).exitCode).toBe(143);
    expect(execResponseOf({ ...base, exitCode: null, signal: "SIGNOPE" }, 30).exitCode).toBe(-1);
  });
});
