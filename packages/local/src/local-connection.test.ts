import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AbortedError,
  type CallContextV1,
  type ExecRequestV1,
  FileNotFoundError,
  RequestTimeoutError,
  type SandboxConnectionV1,
  ValidationError,
} from "@sandkit/core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { LocalBackend } from "./local-backend.js";

const call: CallContextV1 = { signal: new AbortController().signal };
let base: string;
let backend: LocalBackend;
let connection: SandboxConnectionV1;
let workspace: string;

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), "sandkit-exec-test-"));
  backend = new LocalBackend({ root: join(base, "root"), isolation: "none" });
});

afterAll(async () => {
  await backend.close();
  rmSync(base, { recursive: true, force: true });
});

beforeEach(async () => {
  connection = await backend.create({ env: { FROM_SANDBOX: "sandbox" } }, call);
  workspace = String(connection.info.details?.workspace);
});

afterEach(async () => {
  await backend.destroy(connection.info.id, call);
});

function exec(argv: string[], options: Partial<ExecRequestV1> = {}, context: CallContextV1 = call) {
  return connection.exec({ argv, maxOutputBytes: 1024 * 1024, ...options }, context);
}

/** Live (non-zombie) processes whose command line contains `marker`, allowing half a second for killed ones to finish exiting. */
async function remaining(marker: string): Promise<number[]> {
  const scan = (): number[] =>
    readdirSync("/proc")
      .filter((entry) => /^\d+$/.test(entry))
      .filter((entry) => {
        try {
          const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ");
          return cmdline.includes(marker) && !/^State:\s+Z/m.test(readFileSync(`/proc/${entry}/status`, "utf8"));
        } catch {
          return false;
        }
      })
      .map(Number);
  const until = Date.now() + 500;
  let found = scan();
  while (found.length > 0 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    found = scan();
  }
  return found;
}

/** Whether `kill(-pgid, 0)` still finds the group after up to five seconds (zombies linger until init reaps them). */
async function groupExists(pgid: number): Promise<boolean> {
  const until = Date.now() + 5000;
  for (;;) {
    try {
      process.kill(-pgid, 0);
    } catch (error) {
      return (error as NodeJS.ErrnoException).code !== "ESRCH";
    }
    if (Date.now() > until) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("exec (isolation none)", () => {
  it("returns exit codes and keeps stdout and stderr apart; a non-zero exit is not thrown", async () => {
    const ok = await exec(["sh", "-c", "echo out; echo err >&2"]);
    expect(ok).toMatchObject({ exitCode: 0, stdout: "out\n", stderr: "err\n", timedOut: false, stdoutTruncated: false, stderrTruncated: false });
    const failed = await exec(["sh", "-c", "echo bad >&2; exit 42"]);
    expect(failed).toMatchObject({ exitCode: 42, stdout: "", stderr: "bad\n", timedOut: false });
    expect(failed.durationMs).toBeGreaterThan(0);
  });

  it("runs argv without a shell", async () => {
    const result = await exec(["echo", "$HOME", "a;b", "`id`"]);
    expect(result.stdout).toBe("$HOME a;b `id`\n");
  });

  it("gives a clean environment: no host variables unless inheritEnv", async () => {
    process.env.SANDKIT_TEST_HOST_SECRET = "must-not-leak";
    try {
      const result = await exec(["env"], { env: { FROM_CALL: "call" } });
      const env = Object.fromEntries(result.stdout.trim().split("\n").map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]));
      expect(env).not.toHaveProperty("SANDKIT_TEST_HOST_SECRET");
      expect(env).toMatchObject({ HOME: workspace, LANG: "C.UTF-8", FROM_SANDBOX: "sandbox", FROM_CALL: "call" });
      expect(env.PATH).toBe(process.env.PATH);
      expect(Object.keys(env).sort()).toEqual(["FROM_CALL", "FROM_SANDBOX", "HOME", "LANG", "PATH"]);

      const inheriting = new LocalBackend({ root: join(base, "root"), isolation: "none", inheritEnv: true });
      try {
        const sandbox = await inheriting.create({}, call);
        const inherited = await sandbox.exec({ argv: ["sh", "-c", 'echo "$SANDKIT_TEST_HOST_SECRET $HOME"'], maxOutputBytes: 1000 }, call);
        expect(inherited.stdout).toBe(`must-not-leak ${String(sandbox.info.details?.workspace)}\n`);
        await inheriting.destroy(sandbox.info.id, call);
      } finally {
        await inheriting.close();
      }
    } finally {
      delete process.env.SANDKIT_TEST_HOST_SECRET;
    }
  });

  it("runs in /workspace by default, or in the cwd given (relative or absolute)", async () => {
    mkdirSync(join(workspace, "sub/deeper"), { recursive: true });
    expect((await exec(["pwd"])).stdout).toBe(`${workspace}\n`);
    expect((await exec(["pwd"], { cwd: "/workspace/sub" })).stdout).toBe(`${workspace}/sub\n`);
    expect((await exec(["pwd"], { cwd: "sub/deeper" })).stdout).toBe(`${workspace}/sub/deeper\n`);
  });

  it("refuses a missing cwd with FileNotFoundError and a file with ValidationError", async () => {
    writeFileSync(join(workspace, "file"), "");
    await expect(exec(["pwd"], { cwd: "/workspace/missing" })).rejects.toBeInstanceOf(FileNotFoundError);
    await expect(exec(["pwd"], { cwd: "/workspace/file" })).rejects.toMatchObject({ field: "cwd" });
  });

  it("writes stdin and closes it", async () => {
    const result = await exec(["sh", "-c", "cat; echo end"], { stdin: new TextEncoder().encode("in\n") });
    expect(result.stdout).toBe("in\nend\n");
  });

  it("caps output per stream and says which was truncated", async () => {
    const result = await exec(["sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x; echo short >&2"], { maxOutputBytes: 1000 });
    expect(result.stdout).toHaveLength(1000);
    expect(result).toMatchObject({ stdoutTruncated: true, stderrTruncated: false, stderr: "short\n", exitCode: 0 });
  });

  it("forwards output while the command runs", async () => {
    const seen: string[] = [];
    const result = await exec(["sh", "-c", "echo first; while [ ! -e go ]; do sleep 0.01; done; echo second >&2"], {
      timeoutMs: 10_000,
      onOutput: (chunk) => {
        seen.push(`${chunk.stream}:${new TextDecoder().decode(chunk.data)}`);
        // The command waits for this file, so it can only finish if output arrived live.
        if (chunk.stream === "stdout") writeFileSync(join(workspace, "go"), "");
      },
    });
    expect(result.timedOut).toBe(false);
    expect(seen).toEqual(["stdout:first\n", "stderr:second\n"]);
  });

  it("times out: timedOut within a second of the deadline, and nothing of the command is left", async () => {
    const marker = `sleep 1000.${process.pid}11`;
    const before = Date.now();
    const result = await exec(["sh", "-c", `echo $$; ${marker} & ${marker}`], { timeoutMs: 400 });
    const elapsed = Date.now() - before;
    expect(result).toMatchObject({ timedOut: true, exitCode: null });
    expect(result.signal).toMatch(/^SIG(TERM|KILL)$/);
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(1400);
    expect(await remaining(marker)).toEqual([]);
    expect(await groupExists(Number(result.stdout.trim()))).toBe(false);
  });

  it("a background child does not outlive its command", async () => {
    const marker = `sleep 1000.${process.pid}12`;
    const result = await exec(["sh", "-c", `${marker} & echo started`], { timeoutMs: 10_000 });
    expect(result).toMatchObject({ exitCode: 0, stdout: "started\n", timedOut: false });
    expect(result.durationMs).toBeLessThan(5000);
    expect(await remaining(marker)).toEqual([]);
  });

  it("aborts: kills the command and rejects with AbortedError (or the signal's SandboxError reason)", async () => {
    const marker = `sleep 1000.${process.pid}13`;
    const controller = new AbortController();
    const aborted = exec(["sh", "-c", `echo up; ${marker}`], { onOutput: () => controller.abort(new Error("user gave up")) }, { signal: controller.signal });
    const error = await aborted.catch((e: unknown) => e);
    expect(AbortedError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ backend: "local", operation: "exec" });
    expect(await remaining(marker)).toEqual([]);

    const deadline = new AbortController();
    const reason = new RequestTimeoutError("deadline passed", { timeoutMs: 1 });
    const timedOut = exec(["sh", "-c", `echo up; ${marker}`], { onOutput: () => deadline.abort(reason) }, { signal: deadline.signal });
    expect(await timedOut.catch((e: unknown) => e)).toBe(reason);
    expect(await remaining(marker)).toEqual([]);

    const before = new AbortController();
    before.abort();
    await expect(exec(["touch", "never"], {}, { signal: before.signal })).rejects.toBeInstanceOf(AbortedError);
    expect(existsSync(join(workspace, "never"))).toBe(false);
  });

  it("reports a missing program as exit 127", async () => {
    const result = await exec(["sandkit-no-such-program", "x"]);
    expect(result.exitCode).toBe(127);
    expect(result.stderr).toContain("command not found");
  });

  it.each([
    [{ argv: [] }, "argv"],
    [{ argv: ["a\0b"] }, "argv"],
    [{ argv: [""] }, "argv"],
    [{ argv: ["true"], maxOutputBytes: 0 }, "maxOutputBytes"],
    [{ argv: ["true"], timeoutMs: -1 }, "timeoutMs"],
    [{ argv: ["true"], env: { "BAD NAME": "x" } }, "env"],
  ])("refuses %j", async (request, field) => {
    const error = await connection.exec({ maxOutputBytes: 100, ...request } as ExecRequestV1, call).catch((e: unknown) => e);
    expect(ValidationError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ field });
  });
});

describe("exec: hostile cwd", () => {
  let outside: string;
  let fingerprint: string;

  const print = (dir: string): string =>
    createHash("sha256")
      .update(
        readdirSync(dir, { recursive: true })
          .map(String)
          .sort()
          .map((name) => `${name}:${lstatSync(join(dir, name)).mtimeMs}`)
          .join("\n"),
      )
      .digest("hex");

  beforeEach(() => {
    outside = join(base, `outside-${Math.random().toString(36).slice(2)}`);
    mkdirSync(join(outside, "sub"), { recursive: true });
    symlinkSync("/", join(workspace, "to-root"));
    symlinkSync(outside, join(workspace, "to-outside"));
    symlinkSync("../..", join(workspace, "climb"));
    fingerprint = print(outside);
  });

  afterEach(() => {
    expect(print(outside)).toBe(fingerprint);
    expect(existsSync("/pwned-by-sandkit-test")).toBe(false);
    rmSync(outside, { recursive: true, force: true });
  });

  it.each(["../x", "/workspace/..", "/etc", "/", "/tmp", "to-root", "to-root/tmp", "to-outside", "to-outside/sub", "climb"])(
    "refuses cwd %j and runs nothing",
    async (cwd) => {
      const error = await exec(["sh", "-c", "touch pwned; touch /pwned-by-sandkit-test"], { cwd }).catch((e: unknown) => e);
      expect(ValidationError.isInstance(error), String(error)).toBe(true);
      expect(error).toMatchObject({ field: "cwd" });
    },
  );
});

describe("runCode", () => {
  it("runs python and javascript in a fresh process each time", async () => {
    const py = await connection.runCode!({ language: "python", code: "import os; print(6 * 7, os.getcwd())", maxOutputBytes: 1000 }, call);
    expect(py).toMatchObject({ exitCode: 0, stdout: `42 ${workspace}\n` });
    const js = await connection.runCode!({ language: "javascript", code: "globalThis.x = 1; console.log(typeof process.version)", maxOutputBytes: 1000 }, call);
    expect(js.stdout).toBe("string\n");
    const again = await connection.runCode!({ language: "javascript", code: "console.log(typeof globalThis.x)", maxOutputBytes: 1000 }, call);
    expect(again.stdout).toBe("undefined\n");
  });

  it("passes large code on stdin", async () => {
    const code = `x = ${JSON.stringify("a".repeat(200_000))}\nprint(len(x))`;
    const result = await connection.runCode!({ language: "python", code, maxOutputBytes: 1000 }, call);
    expect(result).toMatchObject({ exitCode: 0, stdout: "200000\n" });
  });

  it("returns errors of the code as results, honours timeouts, refuses unknown languages", async () => {
    const failed = await connection.runCode!({ language: "python", code: "raise SystemExit(3)", maxOutputBytes: 1000 }, call);
    expect(failed.exitCode).toBe(3);
    const slow = await connection.runCode!({ language: "javascript", code: "setTimeout(() => {}, 60000)", timeoutMs: 200, maxOutputBytes: 1000 }, call);
    expect(slow.timedOut).toBe(true);
    await expect(connection.runCode!({ language: "ruby", code: "1", maxOutputBytes: 1000 }, call)).rejects.toMatchObject({ field: "language" });
    await expect(connection.runCode!({ language: "toString", code: "1", maxOutputBytes: 1000 }, call)).rejects.toMatchObject({ field: "language" });
  });
});
