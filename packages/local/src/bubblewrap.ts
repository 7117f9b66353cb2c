import { spawn, spawnSync } from "node:child_process";
import { accessSync, constants, lstatSync, readdirSync, readlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { WORKSPACE_MOUNT } from "./workspace-paths.js";

/** Where bubblewrap is looked for, in order, when no path is configured. */
export const BUBBLEWRAP_CANDIDATES: readonly string[] = ["/usr/bin/bwrap", "/usr/local/bin/bwrap", "/bin/bwrap"];

/** Top-level directories that are not bound from the host: the sandbox gets its own. `run` holds sockets (docker, dbus) and is replaced by an empty tmpfs. */
const NOT_BOUND = new Set(["proc", "dev", "tmp", "sys", "run", WORKSPACE_MOUNT.slice(1)]);

const PROBE_TIMEOUT_MS = 10_000;

/** The bubblewrap binary to use: `configured`, or the first candidate that is executable. */
export function findBubblewrap(configured: string | undefined): string | undefined {
  if (configured !== undefined) return configured;
  return BUBBLEWRAP_CANDIDATES.find((candidate) => {
    try {
      accessSync(candidate, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** One entry of the host's `/`, as the sandbox should see it. */
type RootEntry = { readonly name: string; readonly link?: string | undefined };

let rootEntries: readonly RootEntry[] | undefined;

/** The host's top-level entries (read once per process). */
function hostRootEntries(): readonly RootEntry[] {
  rootEntries ??= readdirSync("/")
    .filter((name) => !NOT_BOUND.has(name))
    .sort()
    .flatMap((name): RootEntry[] => {
      try {
        const stats = lstatSync(`/${name}`);
        if (stats.isSymbolicLink()) return [{ name, link: readlinkSync(`/${name}`) }];
        return stats.isDirectory() || stats.isFile() ? [{ name }] : [];
      } catch {
        return [];
      }
    });
  return rootEntries;
}

/** What a bubblewrap invocation is made of. */
export interface BubblewrapCommand {
  /** Host directory to mount read-write at `/workspace`. */
  readonly workspaceDir: string;
  /** Host directories to hide behind an empty tmpfs (the workspace root, so sandboxes cannot see each other). */
  readonly hide: readonly string[];
  /** Working directory inside the sandbox (under `/workspace`). */
  readonly cwd: string;
  /** The complete environment inside. */
  readonly env: Readonly<Record<string, string>>;
  readonly argv: readonly string[];
}

/**
 * The arguments of `bwrap` for one command: a read-only view of the host's `/`, fresh `/dev`,
 * `/proc` (with `/proc/sys` read-only), `/tmp` and `/run`, the workspace read-write at
 * `/workspace`, every namespace unshared (so no network), a new session (no terminal injection),
 * no capabilities, death with this process, and only the given environment.
 */
export function bubblewrapArgs(command: BubblewrapCommand): string[] {
  const args = ["--tmpfs", "/"];
  for (const entry of hostRootEntries()) {
    if (entry.link !== undefined) args.push("--symlink", entry.link, `/${entry.name}`);
    else args.push("--ro-bind", `/${entry.name}`, `/${entry.name}`);
  }
  // bwrap leaves /proc/sys writable for a real root (it only covers what `access()` says is
  // writable, and the directory is not): global sysctls must not be writable from a sandbox.
  args.push("--dev", "/dev", "--proc", "/proc", "--ro-bind", "/proc/sys", "/proc/sys", "--ro-bind-try", "/proc/sysrq-trigger", "/proc/sysrq-trigger");
  args.push("--tmpfs", "/tmp", "--tmpfs", "/run");
  for (const dir of command.hide) {
    if (isUnder(dir, "/tmp") || isUnder(dir, "/run") || dir === "/") continue;
    args.push("--tmpfs", dir);
  }
  args.push("--bind", command.workspaceDir, WORKSPACE_MOUNT, "--chdir", command.cwd);
  // Run by root, bwrap keeps every capability: with CAP_SYS_ADMIN a command could remount the
  // read-only host root read-write. Drop them all (a no-op for an unprivileged user).
  args.push("--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--clearenv");
  for (const [name, value] of Object.entries(command.env)) args.push("--setenv", name, value);
  // `exec "$@"` replaces the shell with the program, so that a program that cannot be started is
  // reported as a shell reports it (127 not found, 126 not executable), as in `none` mode,
  // rather than as bwrap's own exit status 1. The argv is passed as arguments, never parsed.
  args.push("--", "/bin/sh", "-c", 'exec "$@"', "sandkit", ...command.argv);
  return args;
}

/** Whether bubblewrap works here, and why not when it does not. */
export interface BubblewrapProbe {
  readonly ok: boolean;
  /** The binary probed, when one was found. */
  readonly path: string | undefined;
  readonly detail: string;
}

const probes = new Map<string, BubblewrapProbe>();
const pendingProbes = new Map<string, Promise<BubblewrapProbe>>();

function probeArgs(): string[] {
  return bubblewrapArgs({ workspaceDir: tmpdir(), hide: [], cwd: WORKSPACE_MOUNT, env: { PATH: "/usr/bin:/bin" }, argv: ["true"] });
}

function notFound(configured: string | undefined): BubblewrapProbe {
  return {
    ok: false,
    path: configured,
    detail:
      configured === undefined
        ? `bubblewrap is not installed (looked for ${BUBBLEWRAP_CANDIDATES.join(", ")}; Debian/Ubuntu: apt-get install bubblewrap)`
        : `bubblewrap was not found at ${configured}`,
  };
}

function verdict(path: string, status: number | null, error: unknown, stderr: string): BubblewrapProbe {
  if (status === 0) return { ok: true, path, detail: `bubblewrap works (${path})` };
  const why = error instanceof Error ? error.message : stderr.trim().split("\n")[0] || `exit status ${String(status)}`;
  return { ok: false, path, detail: `bubblewrap at ${path} does not work here: ${why.slice(0, 200)}` };
}

/**
 * Runs `bwrap ... true` once per binary and process, with the same mounts and namespaces a command
 * gets, and caches the answer.
 */
export function probeBubblewrap(configured: string | undefined): Promise<BubblewrapProbe> {
  const path = findBubblewrap(configured);
  if (path === undefined) return Promise.resolve(notFound(configured));
  const known = probes.get(path);
  if (known !== undefined) return Promise.resolve(known);
  let pending = pendingProbes.get(path);
  if (pending === undefined) {
    pending = new Promise<BubblewrapProbe>((resolve) => {
      let stderr = "";
      const child = spawn(path, probeArgs(), { stdio: ["ignore", "ignore", "pipe"], timeout: PROBE_TIMEOUT_MS, env: {} });
      child.stderr.setEncoding("utf8").on("data", (text: string) => {
        if (stderr.length < 4096) stderr += text;
      });
      child.on("error", (error) => resolve(errnoCode(error) === "ENOENT" ? notFound(configured) : verdict(path, null, error, stderr)));
      child.on("close", (status) => resolve(verdict(path, status, undefined, stderr)));
    }).then((probe) => {
      probes.set(path, probe);
      pendingProbes.delete(path);
      return probe;
    });
    pendingProbes.set(path, pending);
  }
  return pending;
}

/** The synchronous form of {@link probeBubblewrap}, for the first read of `capabilities` before any sandbox was created. */
export function probeBubblewrapSync(configured: string | undefined): BubblewrapProbe {
  const path = findBubblewrap(configured);
  if (path === undefined) return notFound(configured);
  const known = probes.get(path);
  if (known !== undefined) return known;
  const run = spawnSync(path, probeArgs(), { stdio: ["ignore", "ignore", "pipe"], timeout: PROBE_TIMEOUT_MS, env: {}, encoding: "utf8" });
  const probe = errnoCode(run.error) === "ENOENT" ? notFound(configured) : verdict(path, run.status, run.error, run.stderr ?? "");
  probes.set(path, probe);
  return probe;
}

/** A probe already made for this binary, if any. */
export function cachedProbe(configured: string | undefined): BubblewrapProbe | undefined {
  const path = findBubblewrap(configured);
  return path === undefined ? notFound(configured) : probes.get(path);
}

function errnoCode(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && typeof (error as { code?: unknown }).code === "string"
    ? (error as { code: string }).code
    : undefined;
}

function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}
