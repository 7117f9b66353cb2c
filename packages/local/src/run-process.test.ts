import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type ProcessRequest, type RunningProcess, startProcess } from "./run-process.js";
import { trackedGroups } from "./process-groups.js";

const started: RunningProcess[] = [];

afterEach(async () => {
  for (const command of started.splice(0)) {
    command.kill(new Error("test cleanup"));
    await command.result.catch(() => undefined);
  }
});

function run(argv: string[], overrides: Partial<ProcessRequest> = {}): RunningProcess {
  const command = startProcess({
    file: argv[0]!,
    args: argv.slice(1),
    displayName: argv[0]!,
    cwd: process.cwd(),
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    killGraceMs: 200,
    maxOutputBytes: 1024 * 1024,
    signal: new AbortController().signal,
    abortError: (reason) => reason,
    ...overrides,
  });
  started.push(command);
  return command;
}

/** Pids of live (non-zombie) processes whose command line contains `marker`. */
function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ");
      const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${entry}/status`, "utf8"))?.[1];
      if (cmdline.includes(marker) && state !== "Z") found.push(Number(entry));
    } catch {
      // Gone while scanning.
    }
  }
  return found;
}

/** Processes with `marker` still running, allowing half a second for killed ones to finish exiting. */
async function remaining(marker: string): Promise<number[]> {
  const until = Date.now() + 500;
  let found = processesWith(marker);
  while (found.length > 0 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    found = processesWith(marker);
  }
  return found;
}

/** Pids of the group's members that are not zombies. */
function liveMembers(pgid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === pgid && fields[0] !== "Z") found.push(Number(entry));
    } catch {
      // Gone while scanning.
    }
  }
  return found;
}

/**
 * Whether the process group still exists: no member may be running now, and `kill(-pgid, 0)` must
 * say ESRCH within five seconds (killed members linger as zombies until init reaps them, and
 * `kill` still finds zombies; this machine's init reaps every second or so).
 */
async function groupAlive(pgid: number): Promise<boolean> {
  // A killed process leaves the running states within microseconds (it is then a zombie).
  const settle = Date.now() + 500;
  while (liveMembers(pgid).length > 0) {
    if (Date.now() > settle) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const until = Date.now() + 5000;
  for (;;) {
    try {
      process.kill(-pgid, 0);
    } catch (error) {
      expect((error as NodeJS.ErrnoException).code).toBe("ESRCH");
      return false;
    }
    if (Date.now() > until) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.skipIf(process.platform === "win32")("startProcess", () => {
  it("returns the exit code and keeps stdout and stderr apart", async () => {
    const result = await run(["sh", "-c", "echo out; echo err >&2; exit 3"]).result;
    expect(result).toMatchObject({ exitCode: 3, signal: null, stdout: "out\n", stderr: "err\n", timedOut: false });
    expect(result.stdoutTruncated).toBe(false);
    expect(result.durationMs).toBeGreaterThan(0);
  });

  it("passes exactly the given environment", async () => {
    const result = await run(["sh", "-c", "env | sort"], { env: { PATH: "/usr/bin:/bin", ONLY: "this" } }).result;
    const names = result.stdout.trim().split("\n").map((line) => line.split("=")[0]);
    expect(names).toContain("ONLY");
    expect(names).not.toContain("HOME");
  });

  it("writes stdin and closes it; without stdin the command reads end of file at once", async () => {
    const withInput = await run(["cat"], { stdin: new TextEncoder().encode("hello\n") }).result;
    expect(withInput.stdout).toBe("hello\n");
    const without = await run(["cat"], { timeoutMs: 5000 }).result;
    expect(without).toMatchObject({ exitCode: 0, stdout: "", timedOut: false });
  });

  it("does not fail when the command exits without reading its input", async () => {
    const result = await run(["true"], { stdin: new Uint8Array(4 * 1024 * 1024) }).result;
    expect(result.exitCode).toBe(0);
  });

  it("caps what the result keeps, streams every byte live, and says it truncated", async () => {
    const chunks: number[] = [];
    const result = await run(["sh", "-c", "head -c 300000 /dev/zero | tr '\\0' a; echo done >&2"], {
      maxOutputBytes: 1000,
      onOutput: (chunk) => chunks.push(chunk.data.length),
    }).result;
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe("a".repeat(1000));
    expect(result.stdoutTruncated).toBe(true);
    expect(result.stderr).toBe("done\n");
    expect(result.stderrTruncated).toBe(false);
    // Live output is not capped: the cap bounds the result, not what the caller chose to stream.
    expect(chunks.reduce((sum, n) => sum + n, 0)).toBe(300000 + "done\n".length);
  });

  it("does not split a UTF-8 character at the cap", async () => {
    const result = await run(["printf", "aé"], { maxOutputBytes: 2 }).result;
    expect(result.stdout).toBe("a");
    expect(result.stdoutTruncated).toBe(true);
  });

  it("forwards output while the command runs", async () => {
    let resolveFirst!: (text: string) => void;
    const first = new Promise<string>((resolve) => (resolveFirst = resolve));
    const command = run(["sh", "-c", "echo first; read line; echo second"], {
      stdin: undefined,
      onOutput: (chunk) => resolveFirst(new TextDecoder().decode(chunk.data)),
      timeoutMs: 10_000,
    });
    // The command blocks on `read` (stdin is /dev/null, so it returns at once); what matters is
    // that the first chunk arrives before the result.
    expect(await first).toContain("first");
    const result = await command.result;
    expect(result.stdout).toContain("first\n");
  });

  it("kills the whole group at the timeout and returns within a second of the deadline", async () => {
    const marker = `sleep 1000.${process.pid}1`;
    const before = Date.now();
    const command = run(["sh", "-c", `${marker} & ${marker}; echo never`], { timeoutMs: 300 });
    const result = await command.result;
    const elapsed = Date.now() - before;
    expect(result).toMatchObject({ timedOut: true, exitCode: null, stdout: "" });
    expect(result.signal).toMatch(/^SIG(TERM|KILL)$/);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1300);
    expect(await remaining(marker)).toEqual([]);
  });

  it("escalates to SIGKILL when the command ignores SIGTERM", async () => {
    const before = Date.now();
    const result = await run(["sh", "-c", "trap '' TERM; echo $$; while :; do sleep 0.05; done"], { timeoutMs: 200, killGraceMs: 100 }).result;
    expect(result.timedOut).toBe(true);
    expect(result.signal).toBe("SIGKILL");
    expect(Date.now() - before).toBeLessThan(1200);
    expect(await groupAlive(Number(result.stdout.trim()))).toBe(false);
  });

  it("kills background children when the main process exits", async () => {
    const marker = `sleep 1000.${process.pid}2`;
    const result = await run(["sh", "-c", `${marker} & echo $$; echo started`], { timeoutMs: 10_000 }).result;
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^\d+\nstarted\n$/);
    const pgid = Number(result.stdout.split("\n")[0]);
    expect(await groupAlive(pgid)).toBe(false);
    expect(await remaining(marker)).toEqual([]);
    expect(trackedGroups()).not.toContain(pgid);
  });

  it("stops on abort and rejects with the abort error", async () => {
    const controller = new AbortController();
    const marker = `sleep 1000.${process.pid}3`;
    const command = run(["sh", "-c", `echo ready; ${marker}`], {
      signal: controller.signal,
      abortError: (reason) => new Error(`aborted: ${String(reason)}`),
      onOutput: () => controller.abort("stop"),
    });
    await expect(command.result).rejects.toThrow("aborted: stop");
    expect(await remaining(marker)).toEqual([]);
  });

  it("kill() stops the group at once and rejects with the given error", async () => {
    const marker = `sleep 1000.${process.pid}4`;
    let ready!: () => void;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    const command = run(["sh", "-c", `echo ready; ${marker}`], { onOutput: () => ready() });
    await isReady;
    command.kill(new Error("destroyed"));
    await expect(command.result).rejects.toThrow("destroyed");
    expect(await remaining(marker)).toEqual([]);
  });

  it("reports a missing program as exit 127 and a non-executable one as 126", async () => {
    const missing = await run(["sandkit-no-such-program"]).result;
    expect(missing.exitCode).toBe(127);
    expect(missing.stderr).toContain("sandkit-no-such-program: command not found");
    const dir = mkdtempSync(join(tmpdir(), "sandkit-run-"));
    try {
      writeFileSync(join(dir, "data.txt"), "not a program", { mode: 0o644 });
      const notExecutable = await run([join(dir, "data.txt")]).result;
      expect(notExecutable.exitCode).toBe(126);
      expect(notExecutable.stderr).toContain("permission denied");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("rejects with the callback's error when onOutput throws, and still stops the command", async () => {
    const command = run(["sh", "-c", "echo x"], {
      onOutput: () => {
        throw new Error("sink failed");
      },
    });
    await expect(command.result).rejects.toThrow("sink failed");
  });
});
