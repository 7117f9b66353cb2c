// Runs the built `sandkit` bin as a child process, as users run it, against the local backend
// (isolation none, and bubblewrap where it works), and checks output, exit status and cleanup.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const VERSION = (JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** Whether `node_modules/<name>` exists in `from` or a parent (the lookup Node does, without NODE_PATH). */
function installedFrom(from: string, name: string): boolean {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "node_modules", name, "package.json"))) return true;
    if (dirname(dir) === dir) return false;
  }
}

/** A backend whose adapter package the CLI cannot see (none may be left once the CLI ships them all). */
// Core looks for adapters from itself too (they are its optional peers), so absent means absent from both.
const CORE_DIR = join(dirname(BIN), "..", "..", "core");
const absentBackend = ["noxrunner", "provisioner", "sandbox-api", "microsandbox"].find(
  (name) => !installedFrom(dirname(BIN), `@sandkit/${name}`) && !installedFrom(CORE_DIR, `@sandkit/${name}`),
);

const bubblewrapWorks =
  spawnSync("bwrap", ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-all", "true"], { stdio: "ignore" }).status === 0;

interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

let scratch: string;
let root: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "sandkit-cli-test-"));
  root = join(scratch, "root");
  await mkdir(root, { mode: 0o700 });
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** A clean environment: the local backend, workspaces under our own root, nothing from the host's SANDKIT_*. */
function cliEnv(isolation: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: "C.UTF-8",
    SANDKIT_LOCAL_ROOT: root,
    SANDKIT_LOCAL_ISOLATION: isolation,
    ...extra,
  };
}

function start(args: readonly string[], env: NodeJS.ProcessEnv, cwd = scratch): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
}

function finished(child: ChildProcess, began = Date.now()): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (text: string) => (stdout += text));
  child.stderr?.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr, ms: Date.now() - began }));
  });
}

function cli(args: readonly string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<CliRun> {
  return finished(start(args, env, cwd));
}

/** Resolves with everything printed so far once `pattern` appears on the child's stdout. */
function waitForOutput(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const onData = (chunk: Buffer | string): void => {
      seen += String(chunk);
      if (pattern.test(seen)) {
        child.stdout?.off("data", onData);
        resolve(seen);
      }
    };
    child.stdout?.on("data", onData);
    child.once("close", () => reject(new Error(`exited before printing ${pattern}; stdout: ${seen}`)));
  });
}

async function expectNoWorkspaceLeft(): Promise<void> {
  expect(await readdir(root)).toEqual([]);
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("sandkit, without a sandbox", () => {
  it("prints help and version and exits 0", async () => {
    const help = await cli(["--help"], cliEnv("none"));
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/Usage:\n {2}sandkit \[options\] exec/);
    expect(help.stdout).toContain("--isolation");
    const version = await cli(["--version"], cliEnv("none"));
    expect(version).toMatchObject({ status: 0, stdout: `${VERSION}\n`, stderr: "" });
  });

  it("exits 2 with a message on a usage error, and creates no sandbox", async () => {
    const unknown = await cli(["--frobnicate", "exec", "ls"], cliEnv("none"));
    expect(unknown.status).toBe(2);
    expect(unknown.stdout).toBe("");
    expect(unknown.stderr).toMatch(/^sandkit: .*frobnicate.*\nRun "sandkit --help" for usage\.\n$/);
    const noProgram = await cli(["exec", "--"], cliEnv("none"));
    expect(noProgram.status).toBe(2);
    const badExtension = await cli(["run", "notes.txt"], cliEnv("none"));
    expect(badExtension.status).toBe(2);
    expect(badExtension.stderr).toContain('cannot tell how to run "notes.txt"');
    const missingFile = await cli(["run", "nowhere.py"], cliEnv("none"));
    expect(missingFile.status).toBe(2);
    expect(missingFile.stderr).toContain(`no such file: ${join(scratch, "nowhere.py")}`);
    await expectNoWorkspaceLeft();
  });

  it.skipIf(absentBackend === undefined)("exits 1 naming the error code when a backend's package is not installed", async () => {
    const missing = await cli(["--backend", absentBackend!, "--url", "http://127.0.0.1:9", "exec", "--", "true"], cliEnv("none"));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("sandkit: BACKEND_NOT_INSTALLED:");
    expect(missing.stderr).toContain(`npm install @sandkit/${absentBackend!}`);
  });

  it("exits 1 naming the error code when the backend name is unknown", async () => {
    const fromEnv = await cli(["sh", "true"], cliEnv("none", { SANDKIT_BACKEND: "warp-drive" }));
    expect(fromEnv.status).toBe(1);
    expect(fromEnv.stderr).toMatch(/^sandkit: UNKNOWN_BACKEND: .*warp-drive.*local/);
  });

  it("never prints the API key", async () => {
    const key = "sk-cli-secret-0123456789";
    // Whether the adapter is installed or not, the run fails (nothing listens on port 9) without showing the key.
    const run = await cli(["--backend", "noxrunner", "--url", "http://127.0.0.1:9", "--api-key", key, "exec", "--", "true"], cliEnv("none", { SANDKIT_DEBUG: "1" }));
    expect(run.status).toBe(1);
    expect(run.stdout + run.stderr).not.toContain(key);
  });
});

const MODES = [
  { isolation: "none", available: true },
  { isolation: "bubblewrap", available: bubblewrapWorks },
] as const;

for (const { isolation, available } of MODES) {
  describe.skipIf(!available)(`sandkit on the local backend, isolation ${isolation}`, () => {
    const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => cliEnv(isolation, extra);

    it("exec prints the program's output and exits 0, leaving no workspace behind", async () => {
      const run = await cli(["exec", "--", "python3", "-c", "print(6*7)"], env());
      expect(run).toMatchObject({ status: 0, stdout: "42\n", stderr: "" });
      await expectNoWorkspaceLeft();
    });

    it("passes the exit code through and keeps stdout and stderr apart", async () => {
      expect((await cli(["sh", "exit 3"], env())).status).toBe(3);
      expect((await cli(["--", "sh", "exit 4"], env())).status).toBe(4);
      const run = await cli(["sh", "echo out; echo err >&2; exit 5"], env());
      expect(run).toMatchObject({ status: 5, stdout: "out\n", stderr: "err\n" });
    });

    it("sets --env variables and refuses a --cwd outside the workspace", async () => {
      const run = await cli(["-e", "GREETING=hello world", "--env", "N=7", "exec", "--", "sh", "-c", 'echo "$GREETING $N"'], env());
      expect(run).toMatchObject({ status: 0, stdout: "hello world 7\n" });
      const escape = await cli(["--cwd", "../elsewhere", "exec", "--", "pwd"], env());
      expect(escape.status).toBe(1);
      expect(escape.stderr).toMatch(/^sandkit: VALIDATION_FAILED: /);
      await expectNoWorkspaceLeft();
    });

    it("exits 124 soon after --timeout", async () => {
      const run = await cli(["--timeout", "300", "exec", "--", "sleep", "20"], env());
      expect(run.status).toBe(124);
      expect(run.stderr).toContain("timed out");
      expect(run.ms).toBeLessThan(5_000);
      await expectNoWorkspaceLeft();
    });

    it("streams all output live past --max-output, without a warning (local streams live)", async () => {
      const run = await cli(["--max-output", "64k", "sh", "head -c 200000 /dev/zero | tr '\\0' a; echo tail >&2"], env());
      expect(run.status).toBe(0);
      expect(run.stdout).toBe("a".repeat(200000));
      expect(run.stderr).toBe("tail\n");
    });

    it("exits 128 + n when signal n kills the command", async () => {
      const run = await cli(["sh", "kill -9 $$"], env());
      expect(run.status).toBe(137);
      // Under bubblewrap the killed shell is bwrap's child, and bwrap itself exits 137.
      if (isolation === "none") expect(run.stderr).toContain("was killed by SIGKILL");
    });

    it("run copies a local script in and runs it with the interpreter its extension names", async () => {
      await writeFile(join(scratch, "args.py"), "import sys\nprint('py', sys.argv[1:])\n");
      await writeFile(join(scratch, "hello.mjs"), "console.log('js', process.argv.slice(2).join(','))\n");
      await writeFile(join(scratch, "status.sh"), 'echo "sh $1"; exit 6\n');
      expect(await cli(["run", "args.py", "--", "a", "--b"], env())).toMatchObject({ status: 0, stdout: "py ['a', '--b']\n" });
      expect(await cli(["run", join(scratch, "hello.mjs"), "x", "y"], env(), tmpdir())).toMatchObject({ status: 0, stdout: "js x,y\n" });
      expect(await cli(["run", "status.sh", "z"], env())).toMatchObject({ status: 6, stdout: "sh z\n" });
      await mkdir(join(scratch, "sub"), { recursive: true });
      await writeFile(join(scratch, "sub", "-dash.sh"), 'echo "$0"\n');
      // The script lands in the workdir by its base name, passed as ./name so it cannot read as a flag.
      expect(await cli(["run", "sub/-dash.sh"], env())).toMatchObject({ status: 0, stdout: "./-dash.sh\n", stderr: "" });
      await expectNoWorkspaceLeft();
    });

    it("streams output as it arrives, before the command ends", async () => {
      const child = start(["sh", "echo first; sleep 30; echo never"], env());
      const done = finished(child);
      // The command is still sleeping: "first" can only be seen if it was streamed.
      await waitForOutput(child, /first\n/);
      child.kill("SIGINT");
      const run = await done;
      expect(run.status).toBe(130);
      expect(run.stdout).toBe("first\n");
    });

    it("on Ctrl-C stops the command, removes the sandbox and exits 130", async () => {
      const child = start(["sh", "echo $$; exec sleep 30"], env());
      const done = finished(child);
      const pid = Number((await waitForOutput(child, /^\d+\n/)).trim());
      child.kill("SIGINT");
      const run = await done;
      expect(run.status).toBe(130);
      expect(run.stderr).toContain("stopped by SIGINT");
      expect(run.ms).toBeLessThan(10_000);
      await expectNoWorkspaceLeft();
      // Inside bubblewrap the pid is the namespace's own; outside it is the host's.
      if (isolation === "none") expect(processExists(pid)).toBe(false);
    });

    it("stops the command when the reader of its output goes away", async () => {
      const child = start(["exec", "--", "sh", "-c", "while :; do echo y; done"], env());
      const done = finished(child);
      await waitForOutput(child, /y\n/);
      child.stdout?.destroy();
      const run = await done;
      expect(run.status).toBe(141);
      await expectNoWorkspaceLeft();
    });
  });
}
