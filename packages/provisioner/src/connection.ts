import {
  type CallContextV1,
  CapabilityUnsupportedError,
  ConnectionError,
  type ExecRequestV1,
  type ExecResultV1,
  ProtocolError,
  type SandboxConnectionV1,
  type SandboxFilesV1,
  type SandboxInfoV1,
  ServerError,
  ValidationError,
} from "@sandkit/core";
import { BACKEND_NAME } from "./constants.js";
import { capText, checkEnv, commandLine, shellCommandLine } from "./exec-command.js";
import { createSandboxFiles } from "./files.js";
import type { ResolvedProvisionerOptions } from "./options.js";
import type { BashResult, SandboxApi, ShellResult } from "./sandbox-client.js";
import { UNSUPPORTED_ROUTE } from "./wire-errors.js";

/** What a connection is built from. */
export interface ConnectionParts {
  readonly api: SandboxApi;
  readonly options: ResolvedProvisionerOptions;
  readonly info: SandboxInfoV1;
  /** Variables every command of this sandbox gets (from `createSandbox({ env })`); per-command env wins. */
  readonly env: Readonly<Record<string, string>>;
  /** Turns a data-plane failure into the error to throw: a lost pod becomes `SandboxNotFoundError`. */
  readonly explain: (error: unknown, call: CallContextV1) => Promise<unknown>;
}

/** The largest exec answer read (JSON-escaped output of both streams), in bytes. */
const MAX_EXEC_RESPONSE_BYTES = 512 * 1024 * 1024;

/**
 * The `hard_timeout` of an exec in seconds: the caller's `timeoutMs` (fractions kept, the wire
 * takes a number), or the configured default. Exported for tests.
 */
export function hardTimeoutSeconds(timeoutMs: number | undefined, fallbackSeconds: number, sandboxId: string): number {
  if (timeoutMs === undefined) return fallbackSeconds;
  if (typeof timeoutMs !== "number" || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new ValidationError(`timeoutMs must be a positive number of milliseconds, got ${String(timeoutMs)}`, { field: "timeoutMs", backend: BACKEND_NAME, operation: "exec", sandboxId });
  }
  return Math.max(0.001, timeoutMs / 1000);
}

/**
 * The data plane of one sandbox, at its AIO sandbox URL: `exec` through `POST /v1/bash/exec`
 * (separate stdout and stderr, per-command `env`, `exec_dir`), falling back to the PTY shell
 * `POST /v1/shell/exec` on images without `/v1/bash/*` (stdout and stderr then arrive merged in
 * stdout), and the file operations of `files.ts`. Output is buffered (the JSON API returns it at
 * the end). Holds no resources of its own: the backend's client carries the connections.
 */
export class ProvisionerConnection implements SandboxConnectionV1 {
  readonly info: SandboxInfoV1;
  readonly files: SandboxFilesV1;
  readonly #api: SandboxApi;
  readonly #options: ResolvedProvisionerOptions;
  readonly #env: Readonly<Record<string, string>>;
  readonly #explain: (error: unknown, call: CallContextV1) => Promise<unknown>;
  /** Whether this image lacks `/v1/bash/*` (learnt from a 404; then the shell endpoint is used). */
  #bashMissing = false;
  /** Whether this image lacks session close (learnt from a 404; then it is no longer sent). */
  #closeMissing = false;

  constructor(parts: ConnectionParts) {
    this.info = parts.info;
    this.#api = parts.api;
    this.#options = parts.options;
    this.#env = parts.env;
    this.#explain = parts.explain;
    this.files = createSandboxFiles({
      api: parts.api,
      sandboxId: parts.info.id,
      transferTimeoutMs: parts.options.transferTimeoutMs,
      runScript: (script, args, call) => this.#runScript(script, args, call),
      explain: parts.explain,
    });
  }

  /** The sandbox's AIO API base URL. */
  get sandboxUrl(): string {
    return this.#api.baseUrl;
  }

  /**
   * Runs a command, sent once (never repeated once it may have reached the sandbox). A result is
   * returned only for `status: "completed"` (any exit code); `timed_out` (past `hard_timeout`) is
   * `timedOut: true` with `exitCode: null`; `killed` has `exitCode: null` and `signal: "SIGKILL"`;
   * `running`/`pending` (the sandbox gave up waiting) and `success: false` are errors.
   */
  async exec(request: ExecRequestV1, call: CallContextV1): Promise<ExecResultV1> {
    const id = this.info.id;
    if (request.stdin !== undefined) {
      throw new CapabilityUnsupportedError("the AIO sandbox API has no standard input for commands", { capability: "exec.stdin", backend: BACKEND_NAME, operation: "exec", sandboxId: id });
    }
    const perCall = checkEnv(request.env, id, "exec");
    const env = Object.keys(perCall).length === 0 ? this.#env : { ...this.#env, ...perCall };
    const hard = hardTimeoutSeconds(request.timeoutMs, this.#options.execTimeoutSeconds, id);
    const limitMs = hard * 1000 + this.#options.execMarginMs;
    const control = {
      signal: call.signal,
      timeoutMs: call.deadline === undefined ? limitMs : Math.max(1, Math.min(limitMs, call.deadline - Date.now())),
      maxResponseBytes: Math.min(MAX_EXEC_RESPONSE_BYTES, 1024 * 1024 + 12 * Math.max(0, request.maxOutputBytes)),
    };
    const cwd = request.cwd ?? this.info.workdir;
    const started = performance.now();
    if (!this.#bashMissing) {
      let answer: BashResult;
      try {
        const body = {
          command: commandLine(request.argv, id),
          exec_dir: cwd,
          ...(Object.keys(env).length === 0 ? {} : { env }),
          hard_timeout: hard,
          timeout: hard + this.#options.execMarginMs / 1000,
          max_output_length: 0,
        };
        answer = await this.#api.bashExec(body, control);
      } catch (error) {
        if (!(ProtocolError.isInstance(error) && error.protocolCode === UNSUPPORTED_ROUTE)) throw await this.#explain(error, call);
        // An image older than 1.9.3 has no /v1/bash/*: remember it for this sandbox.
        this.#bashMissing = true;
        return this.#shellExec(request, env, hard, cwd, control, call);
      }
      if (answer.session_id !== undefined) this.#closeSession(answer.session_id);
      return this.#bashOutcome(answer, request, performance.now() - started);
    }
    return this.#shellExec(request, env, hard, cwd, control, call);
  }

  async #shellExec(
    request: ExecRequestV1,
    env: Readonly<Record<string, string>>,
    hard: number,
    cwd: string,
    control: { readonly signal: AbortSignal; readonly timeoutMs: number; readonly maxResponseBytes: number },
    call: CallContextV1,
  ): Promise<ExecResultV1> {
    const started = performance.now();
    let answer: ShellResult;
    try {
      answer = await this.#api.shellExec({ command: shellCommandLine(request.argv, env, this.info.id), exec_dir: cwd, hard_timeout: hard, no_change_timeout: Math.ceil(hard) }, control);
    } catch (error) {
      throw await this.#explain(error, call);
    }
    const durationMs = performance.now() - started;
    switch (answer.status) {
      case "completed":
        return this.#result(answer.exit_code, answer.output ?? "", "", false, request, durationMs);
      case "hard_timeout":
      case "no_change_timeout":
        return this.#result(null, answer.output ?? "", "", true, request, durationMs);
      case "terminated":
        return this.#result(null, answer.output ?? "", "", false, request, durationMs, "SIGKILL");
      default:
        throw this.#unfinished(answer.status);
    }
  }

  #bashOutcome(answer: BashResult, request: ExecRequestV1, durationMs: number): ExecResultV1 {
    const stdout = answer.stdout ?? "";
    const stderr = answer.stderr ?? "";
    switch (answer.status) {
      case "completed":
        return this.#result(answer.exit_code, stdout, stderr, false, request, durationMs);
      case "timed_out":
        return this.#result(null, stdout, stderr, true, request, durationMs);
      case "killed":
        return this.#result(null, stdout, stderr, false, request, durationMs, "SIGKILL");
      default:
        throw this.#unfinished(answer.status);
    }
  }

  #unfinished(status: string): ServerError | ProtocolError {
    const where = { backend: BACKEND_NAME, operation: "exec", sandboxId: this.info.id };
    const shown = /^[a-z_]{1,32}$/.test(status) ? status : "an unknown status";
    if (status === "running" || status === "pending") {
      return new ServerError(`${BACKEND_NAME} exec: the sandbox answered status ${shown}: the command had not finished when the sandbox stopped waiting`, { ...where, protocolCode: status });
    }
    return new ProtocolError(`${BACKEND_NAME} exec: the sandbox answered ${shown}, which is not a finished command`, { ...where, protocolCode: shown });
  }

  #result(exitCode: number | undefined | null, stdout: string, stderr: string, timedOut: boolean, request: ExecRequestV1, durationMs: number, signal?: string): ExecResultV1 {
    const out = capText(stdout, request.maxOutputBytes);
    const err = capText(stderr, request.maxOutputBytes);
    if (request.onOutput !== undefined) {
      if (out.text !== "") request.onOutput({ stream: "stdout", data: Buffer.from(out.text, "utf8") });
      if (err.text !== "") request.onOutput({ stream: "stderr", data: Buffer.from(err.text, "utf8") });
    }
    return {
      // A finished command without an exit code (a signal ended it) is not a success: null.
      exitCode: exitCode ?? null,
      ...(signal === undefined ? {} : { signal }),
      stdout: out.text,
      stderr: err.text,
      stdoutTruncated: out.truncated,
      stderrTruncated: err.truncated,
      durationMs,
      timedOut,
    };
  }

  /** Closes the bash session an exec created (upstream leaks them), in the background; failures are ignored. */
  #closeSession(sessionId: string): void {
    if (this.#closeMissing) return;
    this.#api.closeBashSession(sessionId, { timeoutMs: 5000 }).catch((error: unknown) => {
      if (ProtocolError.isInstance(error) && error.protocolCode === UNSUPPORTED_ROUTE) this.#closeMissing = true;
    });
  }

  /** Runs a file script as `/bin/sh -c <script> sh <args...>` within the call's deadline. */
  #runScript(script: string, args: readonly string[], call: CallContextV1): Promise<ExecResultV1> {
    const maxMs = 120_000;
    const timeoutMs = call.deadline === undefined ? maxMs : Math.min(maxMs, Math.max(1000, call.deadline - Date.now()));
    return this.exec({ argv: ["/bin/sh", "-c", script, "sh", ...args], cwd: this.info.workdir, timeoutMs, maxOutputBytes: 64 * 1024 }, call);
  }
}

/** Whether a data-plane failure could mean the pod is gone (worth asking the provisioner). */
export function mayBeLostPod(error: unknown): boolean {
  if (ConnectionError.isInstance(error)) return true;
  return ServerError.isInstance(error) && (error.status === 502 || error.status === 503 || error.status === 504);
}
