import {
  type CallContextV1,
  CapabilityUnsupportedError,
  type ExecRequestV1,
  type ExecResultV1,
  type SandboxConnectionV1,
  type SandboxFilesV1,
  type SandboxInfoV1,
  SandboxNotFoundError,
  ServerError,
  ValidationError,
} from "@sandkit/core";
import type { ExecBody, NoxRunnerClient, RequestControl } from "./client.js";
import { BACKEND_NAME } from "./constants.js";
import { TIMEOUT_TOLERANCE_MS, timedOutResult, toExecResult } from "./exec-outcome.js";
import { SHELL } from "./file-scripts.js";
import { createNoxRunnerFiles } from "./files.js";
import type { ResolvedNoxRunnerOptions } from "./options.js";

/** What a connection is built from. */
export interface ConnectionParts {
  readonly client: NoxRunnerClient;
  readonly options: ResolvedNoxRunnerOptions;
  readonly info: SandboxInfoV1;
  /** Variables every command of this sandbox gets (from `createSandbox({ env })`); per-command env wins. */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * Works out the `timeoutSeconds` of an exec: the caller's `timeoutMs` rounded **up** to whole
 * seconds (the protocol's unit), or the configured default. Above the server's maximum it is a
 * `ValidationError` before anything is sent.
 */
export function execTimeoutSeconds(timeoutMs: number | undefined, options: Pick<ResolvedNoxRunnerOptions, "execTimeoutSeconds" | "maxExecTimeoutSeconds">, sandboxId: string): number {
  if (timeoutMs === undefined) return options.execTimeoutSeconds;
  if (typeof timeoutMs !== "number" || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new ValidationError(`timeoutMs must be a positive number of milliseconds, got ${String(timeoutMs)}`, {
      field: "timeoutMs",
      backend: BACKEND_NAME,
      operation: "exec",
      sandboxId,
    });
  }
  const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
  if (seconds > options.maxExecTimeoutSeconds) {
    throw new ValidationError(`timeoutMs ${timeoutMs} is above this server's longest command time limit of ${options.maxExecTimeoutSeconds} s`, {
      field: "timeoutMs",
      backend: BACKEND_NAME,
      operation: "exec",
      sandboxId,
      suggestion: "Split the work into shorter commands, or raise maxExecTimeoutSeconds if your server allows more.",
    });
  }
  return seconds;
}

/**
 * The data plane of one NoxRunner sandbox: `exec` (buffered, no stdin) and the file operations of
 * `files.ts`. Holds no resources of its own; the backend's client carries the connections.
 */
export class NoxRunnerConnection implements SandboxConnectionV1 {
  readonly info: SandboxInfoV1;
  readonly files: SandboxFilesV1;
  readonly #client: NoxRunnerClient;
  readonly #options: ResolvedNoxRunnerOptions;
  readonly #env: Readonly<Record<string, string>>;

  constructor(parts: ConnectionParts) {
    this.info = parts.info;
    this.#client = parts.client;
    this.#options = parts.options;
    this.#env = parts.env;
    this.files = createNoxRunnerFiles({
      client: parts.client,
      sandboxId: parts.info.id,
      workdir: parts.info.workdir,
      transferTimeoutMs: parts.options.transferTimeoutMs,
      runScript: (script, args, maxOutputBytes, call) => this.#runScript(script, args, maxOutputBytes, call),
      explain: (error, call) => explainFailure(this.#client, this.info.id, error, call, this.#options.requestTimeoutMs),
    });
  }

  /**
   * Runs a command. The whole result comes back at the end (`onOutput` is called once per stream).
   * A command stopped at its time limit (`504 EXEC_TIMEOUT`, or exit 124 at the limit) comes back
   * `timedOut` with `exitCode: null`. Sent once: never repeated unless the request provably never
   * reached the server.
   */
  async exec(request: ExecRequestV1, call: CallContextV1): Promise<ExecResultV1> {
    const id = this.info.id;
    if (request.stdin !== undefined) {
      throw new CapabilityUnsupportedError("the NoxRunner protocol has no standard input for commands", {
        capability: "exec.stdin",
        backend: BACKEND_NAME,
        operation: "exec",
        sandboxId: id,
      });
    }
    const timeoutSeconds = execTimeoutSeconds(request.timeoutMs, this.#options, id);
    const env = request.env === undefined || Object.keys(request.env).length === 0 ? this.#env : { ...this.#env, ...request.env };
    const body: ExecBody =
      Object.keys(env).length === 0
        ? { cmd: [...request.argv], workdir: request.cwd ?? this.info.workdir, timeoutSeconds }
        : { cmd: [...request.argv], workdir: request.cwd ?? this.info.workdir, timeoutSeconds, env };
    const limitMs = timeoutSeconds * 1000;
    const control: RequestControl = { signal: call.signal, timeoutMs: limitMs + this.#options.execMarginMs };
    const started = performance.now();
    let answer;
    try {
      answer = await this.#client.exec(id, body, control);
    } catch (error) {
      const elapsedMs = performance.now() - started;
      if (ServerError.isInstance(error) && error.protocolCode === "EXEC_TIMEOUT") {
        // The reference server answers 504 EXEC_TIMEOUT both for a command it stopped at its
        // limit and, at once, for a limit above its maximum: the time it took tells them apart.
        if (elapsedMs >= limitMs - TIMEOUT_TOLERANCE_MS) return timedOutResult(elapsedMs);
        throw new ValidationError(`the server refused timeoutSeconds ${timeoutSeconds} as above its maximum`, {
          field: "timeoutMs",
          backend: BACKEND_NAME,
          operation: "exec",
          sandboxId: id,
          cause: error,
          suggestion: "Lower timeoutMs, and set maxExecTimeoutSeconds to this server's limit so that sandkit refuses such values before sending.",
        });
      }
      throw await explainFailure(this.#client, id, error, call, this.#options.requestTimeoutMs);
    }
    return toExecResult(answer, {
      timeoutSeconds,
      elapsedMs: performance.now() - started,
      maxOutputBytes: request.maxOutputBytes,
      onOutput: request.onOutput,
    });
  }

  /** Runs a file script as `/bin/sh -c <script> sh <args...>` within the call's deadline. */
  #runScript(script: string, args: readonly string[], maxOutputBytes: number, call: CallContextV1): Promise<ExecResultV1> {
    const maxMs = this.#options.maxExecTimeoutSeconds * 1000;
    const timeoutMs = call.deadline === undefined ? maxMs : Math.min(maxMs, Math.max(1000, call.deadline - Date.now()));
    return this.exec({ argv: [SHELL, "-c", script, "sh", ...args], cwd: this.info.workdir, timeoutMs, maxOutputBytes }, call);
  }
}

/**
 * Turns a data-plane failure into the error to throw. Later NoxRunner servers answer exec and
 * upload on an unknown sandbox with `503 POD_NOT_READY` (not 404), the same answer as for one that
 * is still starting; `touch` answers 404 for an unknown one. So on `POD_NOT_READY` a touch tells
 * them apart, and a gone sandbox becomes `SandboxNotFoundError`. Anything else is returned as is.
 */
export async function explainFailure(client: NoxRunnerClient, id: string, error: unknown, call: CallContextV1, requestTimeoutMs: number): Promise<unknown> {
  if (!ServerError.isInstance(error) || error.protocolCode !== "POD_NOT_READY" || call.signal.aborted) return error;
  const remaining = call.deadline === undefined ? requestTimeoutMs : Math.min(requestTimeoutMs, call.deadline - Date.now());
  if (remaining <= 0) return error;
  try {
    await client.touch(id, { signal: call.signal, timeoutMs: remaining });
  } catch (probe) {
    if (SandboxNotFoundError.isInstance(probe)) {
      return new SandboxNotFoundError(`sandbox ${id} does not exist (the server answered ${error.operation ?? "the call"} with 503 POD_NOT_READY, and touch with 404)`, {
        backend: BACKEND_NAME,
        operation: error.operation,
        sandboxId: id,
        cause: error,
      });
    }
  }
  return error;
}
