import { stat } from "node:fs/promises";
import {
  AbortedError,
  type CallContextV1,
  type ExecRequestV1,
  type ExecResultV1,
  type MetricsV1,
  type RunCodeRequestV1,
  SandboxError,
  type SandboxConnectionV1,
  type SandboxInfoV1,
  throwIfAborted,
} from "@sandkit/core";
import { bubblewrapArgs } from "./bubblewrap.js";
import { buildEnvironment, checkEnvironment } from "./command-env.js";
import { diskUsage } from "./disk-usage.js";
import { LocalFiles } from "./local-files.js";
import { BACKEND_NAME, type ErrorSite, fileSystemError, invalid, notFound } from "./local-errors.js";
import { type RunningProcess, startProcess } from "./run-process.js";
import { resolveWorkspacePath, WORKSPACE_MOUNT } from "./workspace-paths.js";

/** The languages `runCode` accepts, and how each runs (a fresh process each time). */
export const CODE_RUNNERS: Readonly<Record<string, { readonly program: string; readonly inline: string }>> = {
  python: { program: "python3", inline: "-c" },
  javascript: { program: "node", inline: "-e" },
};

/** Code longer than this goes to the interpreter on standard input (`python3 -`, `node -`) instead of argv. */
const INLINE_CODE_LIMIT = 64 * 1024;

/** What a connection needs from its backend about one sandbox. */
export interface SandboxRuntime {
  readonly id: string;
  /** The host directory mounted at `/workspace` (a real path). */
  readonly workspaceDir: string;
  /** The isolation commands run under. */
  readonly isolation: "none" | "bubblewrap";
  /** The bubblewrap binary, in `bubblewrap` mode. */
  readonly bubblewrapPath: string | undefined;
  /** Host directories to hide from commands (the root of all workspaces). */
  readonly hide: readonly string[];
  readonly inheritEnv: boolean;
  readonly killGraceMs: number;
  /** The sandbox's variables from create. */
  readonly env: Readonly<Record<string, string>>;
  /** The sandbox's current facts (expiry moves with keep-alive). */
  info(): SandboxInfoV1;
  /** Throws `SandboxNotFoundError` when the sandbox is gone, `SandboxClosedError` when the backend is closed. */
  ensureLive(operation: string): Promise<void>;
  /** The synchronous part of {@link SandboxRuntime.ensureLive}: no destroy or close has begun. */
  assertLive(operation: string): void;
  /** Registers a running command (for kill on destroy/close) and counts it as activity. Returns the unregister function. */
  track(command: RunningProcess): () => void;
}

/** The data plane of one local sandbox: exec, runCode, files and metrics. */
export class LocalConnection implements SandboxConnectionV1 {
  /** Native file operations on the workspace. */
  readonly files: LocalFiles;
  readonly #runtime: SandboxRuntime;

  constructor(runtime: SandboxRuntime) {
    this.#runtime = runtime;
    this.files = new LocalFiles({
      id: runtime.id,
      dir: runtime.workspaceDir,
      ensureLive: (operation) => runtime.ensureLive(operation),
    });
  }

  /** The sandbox's facts: id, `workdir` `/workspace`, expiry, and `details.isolation`. */
  get info(): SandboxInfoV1 {
    return this.#runtime.info();
  }

  /**
   * Runs `argv` without a shell in its own process group, with a clean environment. In `none`
   * mode it runs **on this host, as this user**; in `bubblewrap` mode inside a namespace.
   * Never throws for a non-zero exit or a timeout.
   */
  async exec(request: ExecRequestV1, call: CallContextV1): Promise<ExecResultV1> {
    const runtime = this.#runtime;
    const site: ErrorSite = { operation: "exec", sandboxId: runtime.id };
    throwIfAborted(call.signal, { backend: BACKEND_NAME, ...site });
    await runtime.ensureLive("exec");
    const argv = checkArgv(request.argv, site);
    const maxOutputBytes = request.maxOutputBytes;
    if (!Number.isSafeInteger(maxOutputBytes) || maxOutputBytes <= 0) {
      throw invalid("maxOutputBytes must be a positive whole number of bytes", "maxOutputBytes", site);
    }
    const timeoutMs = request.timeoutMs;
    if (timeoutMs !== undefined && (typeof timeoutMs !== "number" || !Number.isFinite(timeoutMs) || timeoutMs <= 0)) {
      throw invalid("timeoutMs must be a positive number of milliseconds", "timeoutMs", site);
    }
    if (request.stdin !== undefined && !(request.stdin instanceof Uint8Array)) throw invalid("stdin must be a Uint8Array", "stdin", site);
    if (request.onOutput !== undefined && typeof request.onOutput !== "function") throw invalid("onOutput must be a function", "onOutput", site);
    const callEnv = checkEnvironment(request.env, "env", site);
    const cwd = await this.#cwd(request.cwd, site);
    const bubblewrap = runtime.isolation === "bubblewrap";
    const env = buildEnvironment({
      home: bubblewrap ? WORKSPACE_MOUNT : runtime.workspaceDir,
      inheritHost: runtime.inheritEnv,
      hostEnv: process.env,
      sandboxEnv: runtime.env,
      callEnv,
    });
    throwIfAborted(call.signal, { backend: BACKEND_NAME, ...site });
    // From here to `track` nothing awaits, so a destroy or close that began meanwhile is seen
    // here, and one that begins later finds the command registered and kills it.
    runtime.assertLive("exec");
    const command = startProcess({
      file: bubblewrap ? runtime.bubblewrapPath! : argv[0]!,
      args: bubblewrap
        ? bubblewrapArgs({ workspaceDir: runtime.workspaceDir, hide: runtime.hide, cwd: cwd.sandboxPath, env, argv })
        : argv.slice(1),
      displayName: argv[0]!,
      cwd: bubblewrap ? runtime.workspaceDir : cwd.hostPath,
      env: bubblewrap ? {} : env,
      stdin: request.stdin,
      timeoutMs,
      killGraceMs: runtime.killGraceMs,
      maxOutputBytes,
      onOutput: request.onOutput,
      signal: call.signal,
      abortError: (reason) =>
        SandboxError.isInstance(reason) ? reason : new AbortedError("exec was aborted", { backend: BACKEND_NAME, ...site, cause: reason }),
    });
    const untrack = runtime.track(command);
    try {
      return await command.result;
    } finally {
      untrack();
    }
  }

  /**
   * Runs code with `python3 -c` or `node -e` (the program found on PATH), in a fresh process each
   * time: nothing is kept between calls. Code over 64 KiB is passed on standard input instead.
   */
  async runCode(request: RunCodeRequestV1, call: CallContextV1): Promise<ExecResultV1> {
    const site: ErrorSite = { operation: "runCode", sandboxId: this.#runtime.id };
    const runner = typeof request.language === "string" ? CODE_RUNNERS[request.language] : undefined;
    if (runner === undefined || !Object.hasOwn(CODE_RUNNERS, request.language)) {
      throw invalid(`language must be one of ${Object.keys(CODE_RUNNERS).join(", ")}`, "language", site);
    }
    if (typeof request.code !== "string" || request.code.includes("\0")) throw invalid("code must be a string without NUL bytes", "code", site);
    const inline = Buffer.byteLength(request.code) <= INLINE_CODE_LIMIT;
    return this.exec(
      {
        argv: inline ? [runner.program, runner.inline, request.code] : [runner.program, "-"],
        stdin: inline ? undefined : new TextEncoder().encode(request.code),
        timeoutMs: request.timeoutMs,
        maxOutputBytes: request.maxOutputBytes,
        onOutput: request.onOutput,
      },
      call,
    );
  }

  /** Disk used by the workspace (allocated bytes) and `running: true` while the sandbox exists. */
  async metrics(call: CallContextV1): Promise<MetricsV1> {
    const site = { backend: BACKEND_NAME, operation: "metrics", sandboxId: this.#runtime.id };
    throwIfAborted(call.signal, site);
    await this.#runtime.ensureLive("metrics");
    const diskBytes = await diskUsage(this.#runtime.workspaceDir, () => throwIfAborted(call.signal, site));
    return { diskBytes, running: true, takenAt: new Date() };
  }

  /** Nothing to free: a local connection holds no sockets. */
  async release(): Promise<void> {}

  async #cwd(path: string | undefined, site: ErrorSite): Promise<{ hostPath: string; sandboxPath: string }> {
    let resolved;
    try {
      resolved = await resolveWorkspacePath(this.#runtime.workspaceDir, path ?? WORKSPACE_MOUNT, { field: "cwd", followFinal: true, site });
    } catch (error) {
      throw fileSystemError(error, typeof path === "string" ? path : "", "cwd", site);
    }
    if (!resolved.exists) throw notFound(resolved.sandboxPath, site);
    const hostPath = resolved.segments.length === 0 ? this.#runtime.workspaceDir : `${this.#runtime.workspaceDir}/${resolved.segments.join("/")}`;
    try {
      if (!(await stat(hostPath)).isDirectory()) throw invalid(`cwd ${resolved.sandboxPath} is not a directory`, "cwd", site);
    } catch (error) {
      throw fileSystemError(error, resolved.sandboxPath, "cwd", site);
    }
    return { hostPath, sandboxPath: resolved.sandboxPath };
  }
}

function checkArgv(argv: unknown, site: ErrorSite): string[] {
  if (!Array.isArray(argv) || argv.length === 0 || argv.some((arg) => typeof arg !== "string")) {
    throw invalid("argv must be a non-empty array of strings", "argv", site);
  }
  if ((argv as string[]).some((arg) => arg.includes("\0"))) throw invalid("argv must not contain NUL bytes", "argv", site);
  if ((argv as string[])[0]!.length === 0) throw invalid("argv[0] must not be empty", "argv", site);
  return [...(argv as string[])];
}
