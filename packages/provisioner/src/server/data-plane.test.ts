import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "./test-support/harness.js";

interface Envelope<T = Record<string, unknown>> {
  success: boolean;
  message: string | null;
  data: T;
}

describe("AIO data plane (Part 5.2)", () => {
  let h: Harness;
  let url: string;
  let home: string;
  beforeAll(async () => {
    h = await startHarness();
    url = await h.ready("dp-sbx");
    home = (await h.raw("GET", `${url}/v1/sandbox`)).json<{ home_dir: string }>().home_dir;
  });
  afterAll(async () => {
    await h.close();
  });
  const post = (path: string, json: unknown) => h.raw("POST", `${url}${path}`, { json });

  it("S2: GET /v1/sandbox answers 200 with the envelope and home_dir, version and detail at the top level", async () => {
    const r = await h.raw("GET", `${url}/v1/sandbox`);
    expect(r.status).toBe(200);
    const body = r.json<{ success: boolean; home_dir: string; version: string; detail: { system: { home_dir: string } }; data: unknown }>();
    expect(body.success).toBe(true);
    expect(body.home_dir).toBe("/workspace");
    expect(body.version).toMatch(/^1\.\d+\.\d+/);
    expect(body.detail.system.home_dir).toBe(body.home_dir);
    expect(body.data).toBeNull();
  });

  it("S3: shell exec of echo hi completes with output hi and exit_code 0", async () => {
    const r = await post("/v1/shell/exec", { command: "echo hi", no_change_timeout: 600 });
    expect(r.status).toBe(200);
    const body = r.json<Envelope<{ session_id: string; command: string; status: string; output: string; exit_code: number }>>();
    expect(body.success).toBe(true);
    expect(body.data).toMatchObject({ command: "echo hi", status: "completed", output: "hi", exit_code: 0 });
    expect(body.data.session_id).toMatch(/.+/);
  });

  it("S4: shell exec of false is still completed, with exit_code 1", async () => {
    const body = (await post("/v1/shell/exec", { command: "false" })).json<Envelope<{ status: string; exit_code: number }>>();
    expect(body.success).toBe(true);
    expect(body.data).toMatchObject({ status: "completed", exit_code: 1 });
  });

  it("shell exec merges stderr into output, as a PTY would", async () => {
    const body = (await post("/v1/shell/exec", { command: "echo out; echo err >&2" })).json<Envelope<{ output: string }>>();
    expect(body.data.output.split("\n").sort()).toEqual(["err", "out"]);
  });

  it("S5: shell exec with an unknown session id is 404", async () => {
    const r = await post("/v1/shell/exec", { id: "no-such", command: "ls" });
    expect(r.status).toBe(404);
    expect(r.json<Envelope>().success).toBe(false);
  });

  it("S6: a created session runs commands in its exec_dir, and DELETE removes it", async () => {
    await post("/v1/file/write", { file: "sub/marker.txt", content: "m" });
    const created = await post("/v1/shell/sessions/create", { id: "sess-u", exec_dir: `${home}/sub` });
    expect(created.status).toBe(200);
    expect(created.json<Envelope>().data).toEqual({ session_id: "sess-u", working_dir: `${home}/sub` });
    const again = await post("/v1/shell/sessions/create", { id: "sess-u" });
    expect(again.json<Envelope>().data).toEqual({ session_id: "sess-u", working_dir: `${home}/sub` });
    const ran = (await post("/v1/shell/exec", { id: "sess-u", command: "ls" })).json<Envelope<{ session_id: string; output: string }>>();
    expect(ran.data).toMatchObject({ session_id: "sess-u", output: "marker.txt" });
    const deleted = await h.raw("DELETE", `${url}/v1/shell/sessions/sess-u`);
    expect(deleted.status).toBe(200);
    expect(deleted.json<Envelope>()).toMatchObject({ success: true, data: null });
    expect((await post("/v1/shell/exec", { id: "sess-u", command: "ls" })).status).toBe(404);
  });

  it("S7: shell exec without command is 422 with loc [body, command]", async () => {
    const r = await post("/v1/shell/exec", {});
    expect(r.status).toBe(422);
    expect(r.json<{ detail: { loc: unknown[] }[] }>().detail[0]?.loc).toEqual(["body", "command"]);
  });

  it("S8: bash exec keeps stdout and stderr apart and applies env", async () => {
    const r = await post("/v1/bash/exec", { command: "echo $T; echo e >&2", env: { T: "v" }, hard_timeout: 600 });
    expect(r.status).toBe(200);
    const body = r.json<Envelope<Record<string, unknown>>>();
    expect(body.success).toBe(true);
    expect(body.data).toMatchObject({ command: "echo $T; echo e >&2", status: "completed", stdout: "v\n", stderr: "e\n", exit_code: 0, offset: 2, stderr_offset: 2 });
    expect(typeof body.data.session_id).toBe("string");
    expect(typeof body.data.command_id).toBe("string");
  });

  it("bash sessions: exec registers its session, close forgets it (404 after), create sets a starting directory", async () => {
    const ran = (await post("/v1/bash/exec", { command: "true" })).json<Envelope<{ session_id: string }>>();
    const close = await h.raw("POST", `${url}/v1/bash/sessions/${encodeURIComponent(ran.data.session_id)}/close`, { json: {} });
    expect(close.status).toBe(200);
    expect(close.json<Envelope>()).toMatchObject({ success: true, data: null });
    expect((await h.raw("POST", `${url}/v1/bash/sessions/${encodeURIComponent(ran.data.session_id)}/close`, { json: {} })).status).toBe(404);
    const created = (await post("/v1/bash/sessions/create", { session_id: "b-1", exec_dir: `${home}/sub` })).json<Envelope>();
    expect(created.data).toEqual({ session_id: "b-1", working_dir: `${home}/sub` });
    const inSession = (await post("/v1/bash/exec", { command: "ls", session_id: "b-1" })).json<Envelope<{ stdout: string; session_id: string }>>();
    expect(inSession.data).toMatchObject({ session_id: "b-1", stdout: "marker.txt\n" });
  });

  it("bash exec honours exec_dir and reports a non-zero exit as completed", async () => {
    const body = (await post("/v1/bash/exec", { command: "pwd; exit 3", exec_dir: `${home}/sub` })).json<Envelope<{ status: string; exit_code: number; stdout: string }>>();
    expect(body.data.status).toBe("completed");
    expect(body.data.exit_code).toBe(3);
    expect(body.data.stdout.trim().endsWith("/sub")).toBe(true);
  });

  it("hard_timeout kills the command: bash timed_out, shell hard_timeout, exit_code null", async () => {
    const started = Date.now();
    const bash = (await post("/v1/bash/exec", { command: "echo before; sleep 30", hard_timeout: 0.5 })).json<Envelope<{ status: string; exit_code: number | null; stdout: string }>>();
    expect(bash.data).toMatchObject({ status: "timed_out", exit_code: null, stdout: "before\n" });
    const shell = (await post("/v1/shell/exec", { command: "sleep 30", hard_timeout: 0.5 })).json<Envelope<{ status: string; exit_code: number | null }>>();
    expect(shell.data).toMatchObject({ status: "hard_timeout", exit_code: null });
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it("bash max_output_length cuts the middle", async () => {
    const body = (await post("/v1/bash/exec", { command: "head -c 1000 /dev/zero | tr '\\0' a", max_output_length: 100 })).json<Envelope<{ stdout: string; offset: number }>>();
    expect(body.data.stdout.length).toBeLessThan(200);
    expect(body.data.stdout).toContain("truncated");
    expect(body.data.offset).toBe(1000);
  });

  it("S10: write then read a text file under /mnt/user-data", async () => {
    const w = await post("/v1/file/write", { file: "/mnt/user-data/workspace/a.txt", content: "x" });
    expect(w.status).toBe(200);
    expect(w.json<Envelope>()).toMatchObject({ success: true, data: { file: "/mnt/user-data/workspace/a.txt", bytes_written: 1 } });
    const r = await post("/v1/file/read", { file: "/mnt/user-data/workspace/a.txt" });
    expect(r.json<Envelope>()).toMatchObject({ success: true, data: { content: "x", file: "/mnt/user-data/workspace/a.txt" } });
  });

  it("S11: read with start_line 1 and end_line 3 gives lines 2-3", async () => {
    await post("/v1/file/write", { file: "/x", content: "l1\nl2\nl3\nl4\nl5\n" });
    const r = await post("/v1/file/read", { file: "/x", start_line: 1, end_line: 3 });
    expect(r.json<Envelope<{ content: string }>>().data.content).toBe("l2\nl3\n");
  });

  it("S12: reading a missing file is 200 success:false with a not_found FileOperationError", async () => {
    const r = await post("/v1/file/read", { file: "/tmp/missing" });
    expect(r.status).toBe(200);
    const body = r.json<Envelope>();
    expect(body.success).toBe(false);
    expect(body.data).toMatchObject({ path: "/tmp/missing", operation: "read", error_type: "not_found", retryable: false, errno: 2, errno_name: "ENOENT" });
  });

  it("paths with .. are invalid_path; non-UTF-8 content is decode_error; bad base64 is decode_error", async () => {
    const dots = (await post("/v1/file/read", { file: "/a/../../etc/passwd" })).json<Envelope>();
    expect(dots).toMatchObject({ success: false, data: { error_type: "invalid_path" } });
    await post("/v1/file/write", { file: "/bin.dat", content: "/w==", encoding: "base64" });
    expect((await post("/v1/file/read", { file: "/bin.dat" })).json<Envelope>()).toMatchObject({ success: false, data: { error_type: "decode_error" } });
    expect((await post("/v1/file/write", { file: "/b", content: "not base64!", encoding: "base64" })).json<Envelope>()).toMatchObject({ success: false, data: { error_type: "decode_error" } });
  });

  it("write with append, leading and trailing newline", async () => {
    await post("/v1/file/write", { file: "/ap.txt", content: "a" });
    const w = await post("/v1/file/write", { file: "/ap.txt", content: "b", append: true, leading_newline: true, trailing_newline: true });
    expect(w.json<Envelope>()).toMatchObject({ success: true, data: { bytes_written: 3 } });
    expect((await post("/v1/file/read", { file: "/ap.txt" })).json<Envelope<{ content: string }>>().data.content).toBe("a\nb\n");
  });

  it("S13: a base64 write downloads as the same bytes", async () => {
    const w = await post("/v1/file/write", { file: "/mnt/user-data/outputs/b.bin", content: "AAEC", encoding: "base64" });
    expect(w.json<Envelope>()).toMatchObject({ success: true, data: { bytes_written: 3 } });
    const d = await h.raw("GET", `${url}/v1/file/download?path=${encodeURIComponent("/mnt/user-data/outputs/b.bin")}`);
    expect(d.status).toBe(200);
    expect(d.headers["content-type"]).toBe("application/octet-stream");
    expect([...d.body]).toEqual([0, 1, 2]);
  });

  it("S14: downloading a missing file is 404", async () => {
    const d = await h.raw("GET", `${url}/v1/file/download?path=/tmp/missing`);
    expect(d.status).toBe(404);
  });

  it("S15: find returns the files matching a glob, as absolute AIO paths", async () => {
    await post("/v1/file/write", { file: "/w/a.py", content: "" });
    await post("/v1/file/write", { file: "/w/b.txt", content: "" });
    await post("/v1/file/write", { file: "/w/deep/c.py", content: "" });
    const top = (await post("/v1/file/find", { path: "/w", glob: "*.py" })).json<Envelope<{ path: string; files: string[] }>>();
    expect(top.data).toEqual({ path: "/w", files: ["/w/a.py"] });
    const all = (await post("/v1/file/find", { path: "/w", glob: "**/*.py" })).json<Envelope<{ files: string[] }>>();
    expect(all.data.files.sort()).toEqual(["/w/a.py", "/w/deep/c.py"]);
  });

  it("S16: list recursive without hidden files gives entries and counts", async () => {
    await post("/v1/file/write", { file: "/w/.hidden", content: "" });
    const r = (await post("/v1/file/list", { path: "/w", recursive: true, show_hidden: false })).json<
      Envelope<{ path: string; files: { name: string; path: string; is_directory: boolean; size: number | null }[]; total_count: number; directory_count: number; file_count: number }>
    >();
    expect(r.success).toBe(true);
    expect(r.data.path).toBe("/w");
    expect(r.data.files.map((f) => f.path).sort()).toEqual(["/w/a.py", "/w/b.txt", "/w/deep", "/w/deep/c.py"]);
    expect(r.data).toMatchObject({ total_count: 4, directory_count: 1, file_count: 3 });
    expect(r.data.files.find((f) => f.path === "/w/deep")?.is_directory).toBe(true);
    const flat = (await post("/v1/file/list", { path: "/w" })).json<Envelope<{ files: { name: string }[] }>>();
    expect(flat.data.files.map((f) => f.name).sort()).toEqual([".hidden", "a.py", "b.txt", "deep"]);
    const missing = (await post("/v1/file/list", { path: "/nope" })).json<Envelope>();
    expect(missing).toMatchObject({ success: false, data: { error_type: "not_found" } });
  });

  it("S17: grep finds matches with AIO paths and 1-based line numbers, case-insensitively and literally", async () => {
    await post("/v1/file/write", { file: "/g/one.py", content: "x = 1\n# todo: fix\n" });
    await post("/v1/file/write", { file: "/g/sub/two.txt", content: "TODO later\nnothing\n" });
    await post("/v1/file/write", { file: "/g/re.txt", content: "a.c\nabc\n" });
    const r = await post("/v1/file/grep", { path: "/g", pattern: "TODO", case_insensitive: true, fixed_strings: false, max_results: 400, max_file_size: "1M", recursive: true });
    const body = r.json<Envelope<{ path: string; pattern: string; matches: { file: string; line_number: number; line_content: string }[]; match_count: number; truncated: boolean }>>();
    expect(body.success).toBe(true);
    expect(body.data.path).toBe("/g");
    const found = body.data.matches.map((m) => `${m.file}:${m.line_number}:${m.line_content}`).sort();
    expect(found).toEqual(["/g/one.py:2:# todo: fix", "/g/sub/two.txt:1:TODO later"]);
    expect(body.data).toMatchObject({ match_count: 2, truncated: false });
    const literal = (await post("/v1/file/grep", { path: "/g", pattern: "a.c", fixed_strings: true })).json<Envelope<{ matches: { line_content: string }[] }>>();
    expect(literal.data.matches.map((m) => m.line_content)).toEqual(["a.c"]);
    const capped = (await post("/v1/file/grep", { path: "/g", pattern: ".", max_results: 1 })).json<Envelope<{ matches: unknown[]; truncated: boolean }>>();
    expect(capped.data.matches.length).toBe(1);
    expect(capped.data.truncated).toBe(true);
    const shallow = (await post("/v1/file/grep", { path: "/g", pattern: "TODO", recursive: false })).json<Envelope<{ matches: unknown[] }>>();
    expect(shallow.data.matches).toEqual([]);
    expect((await post("/v1/file/grep", { path: "/nope", pattern: "x" })).json<Envelope>()).toMatchObject({ success: false, data: { error_type: "not_found" } });
  });

  it("files written through the API are seen by commands (paths inside home_dir are kept)", async () => {
    await post("/v1/file/write", { file: `${home}/seen.txt`, content: "seen" });
    const body = (await post("/v1/bash/exec", { command: "cat seen.txt" })).json<Envelope<{ stdout: string }>>();
    expect(body.data.stdout).toBe("seen");
  });

  it("unknown routes are 404, wrong methods 405", async () => {
    expect((await h.raw("GET", `${url}/v1/nope`)).status).toBe(404);
    expect((await h.raw("GET", `${url}/v1/shell/exec`)).status).toBe(405);
  });
});

describe("readiness delay (S1)", () => {
  it("the data plane refuses connections and the status is Pending until readyDelayMs, then Running and 200", async () => {
    await using h = await startHarness({ readyDelayMs: 400 });
    const created = await h.api("POST", "/api/sandboxes", { json: { sandbox_id: "slow" } });
    const body = created.json<{ sandbox_url: string; status: string }>();
    expect(body.status).toBe("Pending");
    await expect(h.raw("GET", `${body.sandbox_url}/v1/sandbox`)).rejects.toMatchObject({ code: "ECONNREFUSED" });
    expect((await h.api("GET", "/api/sandboxes/slow")).json<{ status: string }>().status).toBe("Pending");
    let polls = 0;
    const deadline = Date.now() + 10_000;
    for (;;) {
      polls += 1;
      const answer = await h.raw("GET", `${body.sandbox_url}/v1/sandbox`).catch(() => undefined);
      if (answer?.status === 200) break;
      if (Date.now() > deadline) throw new Error("never ready");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(polls).toBeGreaterThan(1);
    expect((await h.api("GET", "/api/sandboxes/slow")).json<{ status: string }>().status).toBe("Running");
  });
});

/** Whether a process with `pid` exists and is not a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

describe("close()", () => {
  it("destroys every sandbox, closes every data plane and is idempotent", async () => {
    // `await using` removes the temp dir even when an assertion fails; the server's own close is what is tested.
    await using h = await startHarness({ readyDelayMs: 0 });
    const url = await h.ready("c1");
    await h.api("POST", "/api/sandboxes", { json: { sandbox_id: "c2" } });
    expect((await h.sandboxDirs()).length).toBe(2);
    const started = await h.raw("POST", `${url}/v1/bash/exec`, { json: { command: "sleep 30 >/dev/null 2>&1 & echo $!" } });
    const background = Number(started.json<{ data: { stdout: string } }>().data.stdout.trim());
    expect(Number.isSafeInteger(background) && background > 0).toBe(true);
    const running = h.raw("POST", `${url}/v1/bash/exec`, { json: { command: "sleep 30" } }).then(
      (r) => r.status,
      () => "gone",
    );
    await h.server.close();
    await h.server.close();
    expect(await h.sandboxDirs()).toEqual([]);
    await expect(h.raw("GET", `${url}/v1/sandbox`)).rejects.toMatchObject({ code: "ECONNREFUSED" });
    await expect(h.api("GET", "/health")).rejects.toMatchObject({ code: "ECONNREFUSED" });
    expect(await running).not.toBe(200);
    expect(alive(background)).toBe(false);
  });

  it("a close during the ready delay never starts the data plane", async () => {
    await using h = await startHarness({ readyDelayMs: 300 });
    const created = (await h.api("POST", "/api/sandboxes", { json: { sandbox_id: "early" } })).json<{ sandbox_url: string }>();
    await h.server.close();
    // Proving an absence: wait past the delay, then the port must still refuse.
    await new Promise((resolve) => setTimeout(resolve, 400));
    await expect(h.raw("GET", `${created.sandbox_url}/v1/sandbox`)).rejects.toThrow();
  });
});

describe("a data plane whose port was taken during the ready delay", () => {
  it("reports the pod Failed instead of Pending forever", async () => {
    const { createServer } = await import("node:net");
    await using h = await startHarness({ readyDelayMs: 200 });
    const created = (await h.api("POST", "/api/sandboxes", { json: { sandbox_id: "taken" } })).json<{ sandbox_url: string }>();
    const port = Number(new URL(created.sandbox_url).port);
    const squatter = createServer();
    await new Promise<void>((resolve, reject) => {
      squatter.once("error", reject);
      squatter.listen(port, "127.0.0.1", () => resolve());
    });
    try {
      let status = "";
      const deadline = Date.now() + 5_000;
      while (status !== "Failed" && Date.now() < deadline) {
        status = (await h.api("GET", "/api/sandboxes/taken")).json<{ status: string }>().status;
        if (status !== "Failed") await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(status).toBe("Failed");
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
  });
});
