import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CallContextV1, type ExecRequestV1, type SandboxConnectionV1, ValidationError } from "@sandkit/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bubblewrapArgs, findBubblewrap, probeBubblewrap } from "./bubblewrap.js";
import { LocalBackend } from "./local-backend.js";

const call: CallContextV1 = { signal: new AbortController().signal };
const bwrap = findBubblewrap(undefined);

describe("bubblewrapArgs", () => {
  const args = bubblewrapArgs({
    workspaceDir: "/var/lib/sk/sandkit-a-123456/workspace",
    hide: ["/var/lib/sk", "/tmp/under-tmp"],
    cwd: "/workspace/sub",
    env: { PATH: "/usr/bin", HOME: "/workspace" },
    argv: ["python3", "-c", "print(1)"],
  });
  const pairs = (flag: string): string[] => args.flatMap((arg, i) => (arg === flag ? [args[i + 1]!] : []));

  it("starts from an empty root, binds the host's top-level entries read-only and gives fresh /dev, /proc, /tmp, /run", () => {
    expect(args.slice(0, 2)).toEqual(["--tmpfs", "/"]);
    const bound = pairs("--ro-bind");
    for (const hidden of ["/proc", "/dev", "/tmp", "/sys", "/run", "/workspace"]) expect(bound).not.toContain(hidden);
    expect(bound).toContain("/usr");
    expect(pairs("--dev")).toEqual(["/dev"]);
    expect(pairs("--proc")).toEqual(["/proc"]);
    expect(pairs("--tmpfs")).toEqual(["/", "/tmp", "/run", "/var/lib/sk"]);
  });

  it("mounts the workspace read-write at /workspace and starts in the cwd", () => {
    expect(args.join(" ")).toContain("--bind /var/lib/sk/sandkit-a-123456/workspace /workspace --chdir /workspace/sub");
  });

  it("unshares everything, dies with this process, starts a new session and sets only the given environment", () => {
    for (const flag of ["--unshare-all", "--die-with-parent", "--new-session", "--clearenv"]) expect(args).toContain(flag);
    expect(args.join(" ")).toContain("--cap-drop ALL");
    expect(args.join(" ")).toContain("--proc /proc --ro-bind /proc/sys /proc/sys");
    expect(args.join(" ")).toContain("--setenv PATH /usr/bin --setenv HOME /workspace");
    expect(args.slice(args.indexOf("--"))).toEqual(["--", "/bin/sh", "-c", 'exec "$@"', "sandkit", "python3", "-c", "print(1)"]);
  });
});

describe("isolation choice", () => {
  let base: string;
  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), "sandkit-bwrap-choice-"));
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it("a bubblewrap that does not exist is reported by the probe", async () => {
    const probe = await probeBubblewrap("/nonexistent/bwrap");
    expect(probe.ok).toBe(false);
    expect(probe.detail).toContain("/nonexistent/bwrap");
  });

  it("asking for bubblewrap when it does not work is a ValidationError at create", async () => {
    const backend = new LocalBackend({ root: base, isolation: "bubblewrap", bubblewrapPath: "/nonexistent/bwrap" });
    try {
      const error = await backend.create({}, call).catch((e: unknown) => e);
      expect(ValidationError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ field: "isolation" });
      expect((error as Error).message).toMatch(/bubblewrap.*not found/);
      expect(readdirSync(base)).toEqual([]);
      expect((await backend.health(call)).ok).toBe(false);
    } finally {
      await backend.close();
    }
  });

  it("auto falls back to none, and says so", async () => {
    const backend = new LocalBackend({ root: base, isolation: "auto", bubblewrapPath: "/nonexistent/bwrap" });
    try {
      expect(backend.capabilities.isolation).toBe("none");
      const connection = await backend.create({}, call);
      expect(connection.info.details?.isolation).toBe("none");
      expect((await backend.health(call)).detail).toMatch(/^isolation: none/);
      await backend.destroy(connection.info.id, call);
    } finally {
      await backend.close();
    }
  });
});

/** Live processes whose command line contains `marker`, allowing half a second for killed ones to finish exiting. */
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

describe.skipIf(bwrap === undefined)("bubblewrap isolation", () => {
  let base: string;
  let backend: LocalBackend;
  let connection: SandboxConnectionV1;
  let workspace: string;
  let server: Server;
  let port: number;
  let accepted = 0;

  const exec = (argv: string[], options: Partial<ExecRequestV1> = {}, on: SandboxConnectionV1 = connection) =>
    on.exec({ argv, maxOutputBytes: 64 * 1024, timeoutMs: 20_000, ...options }, call);

  beforeAll(async () => {
    // Outside /tmp, so that hiding the root from commands is exercised too.
    base = mkdtempSync(join("/var/tmp", "sandkit-bwrap-test-"));
    backend = new LocalBackend({ root: base, isolation: "bubblewrap" });
    connection = await backend.create({ env: { FROM_SANDBOX: "yes" } }, call);
    workspace = String(connection.info.details?.workspace);
    server = createServer((socket) => {
      accepted++;
      socket.end("hello\n");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await backend.destroy(connection.info.id, call);
    await backend.close();
    rmSync(base, { recursive: true, force: true });
  });

  it("says it is namespaced", async () => {
    expect(backend.capabilities.isolation).toBe("namespace");
    expect(connection.info.details?.isolation).toBe("bubblewrap");
    expect((await backend.health(call)).detail).toMatch(/^isolation: bubblewrap/);
  });

  it("has no network: a loopback server of the host cannot be reached", async () => {
    const connect = `import socket\ntry:\n    socket.create_connection(("127.0.0.1", ${port}), timeout=2).recv(10)\n    print("connected")\nexcept OSError as e:\n    print("refused", type(e).__name__)`;
    const inside = await exec(["python3", "-c", connect]);
    expect(inside.stdout).toMatch(/^refused/);
    expect(accepted).toBe(0);
    // Control: the same program on the host does connect, so the test can tell the difference.
    const host = new LocalBackend({ root: base, isolation: "none" });
    try {
      const plain = await host.create({}, call);
      expect((await exec(["python3", "-c", connect], {}, plain)).stdout).toBe("connected\n");
      expect(accepted).toBe(1);
      await host.destroy(plain.info.id, call);
    } finally {
      await host.close();
    }
  });

  it("sees the host root read-only", async () => {
    const result = await exec(["sh", "-c", "touch /etc/sandkit-bwrap-test; echo rc=$?; test -r /etc/passwd && echo readable"]);
    expect(result.stdout).toBe("rc=1\nreadable\n");
    expect(result.stderr).toContain("Read-only file system");
    expect(existsSync("/etc/sandkit-bwrap-test")).toBe(false);
  });

  it("has no capabilities: cannot remount the host root writable nor write global sysctls, even as root", async () => {
    const script = [
      "grep CapEff /proc/self/status",
      "mount -o remount,bind,rw /etc 2>/dev/null; echo remount=$?",
      "touch /etc/sandkit-bwrap-test 2>/dev/null; echo touch=$?",
      // Writes back the current value, so that nothing changes even if the write were allowed.
      'v=$(cat /proc/sys/vm/swappiness); (printf "%s" "$v" > /proc/sys/vm/swappiness) 2>/dev/null; echo sysctl=$?',
    ].join("; ");
    const result = await exec(["sh", "-c", script]);
    expect(result.stdout).toMatch(/^CapEff:\s+0+\nremount=(?!0\n)\d+\ntouch=1\nsysctl=(?!0\n)\d+\n$/);
    expect(existsSync("/etc/sandkit-bwrap-test")).toBe(false);
  });

  it("has /workspace writable, as HOME and cwd, and the file lands in the workspace", async () => {
    const result = await exec(["sh", "-c", 'echo made > /workspace/made.txt && pwd && echo "$HOME $FROM_SANDBOX"']);
    expect(result).toMatchObject({ exitCode: 0, stdout: "/workspace\n/workspace yes\n" });
    expect(readFileSync(join(workspace, "made.txt"), "utf8")).toBe("made\n");
    expect(new TextDecoder().decode(await connection.files!.read("/workspace/made.txt", { maxBytes: 100 }, call))).toBe("made\n");
    await connection.files!.mkdir("/workspace/sub", call);
    expect((await exec(["pwd"], { cwd: "/workspace/sub" })).stdout).toBe("/workspace/sub\n");
  });

  it("has a private /tmp that does not outlive the command, and cannot see the workspace root", async () => {
    const marker = `sandkit-private-${process.pid}`;
    expect((await exec(["sh", "-c", `echo x > /tmp/${marker} && ls /tmp`])).stdout).toBe(`${marker}\n`);
    expect(existsSync(join("/tmp", marker))).toBe(false);
    expect((await exec(["ls", "-A", "/tmp"])).stdout).toBe("");
    const root = await exec(["ls", "-A", base]);
    expect(root).toMatchObject({ exitCode: 0, stdout: "" });
  });

  it("passes argv through untouched and reports a missing program as exit 127", async () => {
    const echoed = await exec(["printf", "%s|", "$HOME", "a b", "`id`", "-c"]);
    expect(echoed.stdout).toBe("$HOME|a b|`id`|-c|");
    const missing = await exec(["sandkit-no-such-program"]);
    expect(missing.exitCode).toBe(127);
    expect(missing.stderr).toContain("sandkit-no-such-program");
  });

  it("does not pass the host's environment", async () => {
    process.env.SANDKIT_TEST_HOST_SECRET = "must-not-leak";
    try {
      const result = await exec(["env"]);
      expect(result.stdout).not.toContain("SANDKIT_TEST_HOST_SECRET");
      expect(result.stdout).toContain("HOME=/workspace\n");
    } finally {
      delete process.env.SANDKIT_TEST_HOST_SECRET;
    }
  });

  it("times out within a second of the deadline and leaves nothing running, background children included", async () => {
    const marker = `sleep 1000.${process.pid}21`;
    const before = Date.now();
    const result = await exec(["sh", "-c", `${marker} & ${marker}`], { timeoutMs: 400 });
    expect(result).toMatchObject({ timedOut: true, exitCode: null });
    expect(Date.now() - before).toBeLessThan(1400);
    expect(await remaining(marker)).toEqual([]);
    const background = `sleep 1000.${process.pid}22`;
    const quick = await exec(["sh", "-c", `${background} & echo started`]);
    expect(quick).toMatchObject({ exitCode: 0, stdout: "started\n" });
    expect(await remaining(background)).toEqual([]);
  });

  it("an abort kills everything inside", async () => {
    const marker = `sleep 1000.${process.pid}23`;
    const controller = new AbortController();
    const pending = connection.exec(
      { argv: ["sh", "-c", `echo up; ${marker}`], maxOutputBytes: 100, onOutput: () => controller.abort() },
      { signal: controller.signal },
    );
    await expect(pending).rejects.toMatchObject({ code: "ABORTED" });
    expect(await remaining(marker)).toEqual([]);
  });
});
