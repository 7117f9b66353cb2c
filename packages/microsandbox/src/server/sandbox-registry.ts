import type { CallContextV1, CreateRequestV1, SandboxBackendV1, SandboxConnectionV1 } from "@sandkit/core";
import { splitLines, type OutputLine } from "./output-lines.js";
import { checkName, checkNamespace, optionalString, paramsObject, parseStartConfig, requiredString, type StartConfig, timeoutSeconds } from "./params.js";
import { type ReplLanguage, ReplSession, ReplUnavailableError } from "./repl-session.js";
import type { CreateRequestMapper } from "./server-options.js";
import { internal, validation } from "./wire-errors.js";

/** Bytes of each stream `command.run` keeps. */
const COMMAND_OUTPUT_BYTES = 16 * 1024 * 1024;

interface Running {
  readonly connection: SandboxConnectionV1;
  readonly repls: Map<ReplLanguage, ReplSession>;
}

interface Entry {
  config: StartConfig;
  running: Running | undefined;
  /** A start or stop in progress; the next one waits for it. */
  busy: Promise<unknown>;
}

/** The JSON value a method answers with. */
export type MethodResult = string | Record<string, unknown>;

/**
 * The server's state: namespaces (upstream's namespace directories), the sandbox definitions in
 * each (upstream's Sandboxfile) and the backend sandbox of each running one, with its REPLs.
 */
export class SandboxRegistry {
  readonly #backend: SandboxBackendV1;
  readonly #mapCreate: CreateRequestMapper;
  readonly #onError: (error: unknown) => void;
  readonly #signal: AbortSignal;
  readonly #namespaces = new Map<string, Map<string, Entry>>();

  constructor(options: {
    backend: SandboxBackendV1;
    createRequest: CreateRequestMapper | undefined;
    namespaces: readonly string[];
    onError: (error: unknown) => void;
    signal: AbortSignal;
  }) {
    this.#backend = options.backend;
    this.#mapCreate = options.createRequest ?? defaultCreateRequest;
    this.#onError = options.onError;
    this.#signal = options.signal;
    for (const namespace of options.namespaces) {
      checkNamespace(namespace);
      this.#namespaces.set(namespace, new Map());
    }
  }

  /** Dispatches one method; `undefined` when the method does not exist. */
  call(method: string, params: unknown): Promise<MethodResult> | undefined {
    switch (method) {
      case "sandbox.start":
        return this.#start(params);
      case "sandbox.stop":
        return this.#stop(params);
      case "sandbox.metrics.get":
        return this.#metrics(params);
      case "sandbox.repl.run":
        return this.#repl(params);
      case "sandbox.command.run":
        return this.#command(params);
      default:
        return undefined;
    }
  }

  /** Stops every running sandbox (REPLs first, then the backend sandbox). */
  async stopAll(): Promise<void> {
    const stops: Promise<void>[] = [];
    for (const sandboxes of this.#namespaces.values()) {
      for (const entry of sandboxes.values()) {
        stops.push(
          entry.busy.then(() => {
            const running = entry.running;
            entry.running = undefined;
            return running === undefined ? undefined : this.#teardown(running);
          }),
        );
      }
    }
    await Promise.allSettled(stops);
  }

  get #call(): CallContextV1 {
    return { signal: this.#signal };
  }

  async #start(raw: unknown): Promise<MethodResult> {
    const method = "sandbox.start";
    const params = paramsObject(method, raw);
    const name = requiredString(method, params, "sandbox");
    const namespace = requiredString(method, params, "namespace");
    const config = parseStartConfig(params["config"]);
    checkName("Sandbox", name);
    checkNamespace(namespace);
    let sandboxes = this.#namespaces.get(namespace);
    if (sandboxes === undefined) {
      // As upstream, the namespace comes into being even when the start then fails.
      sandboxes = new Map();
      this.#namespaces.set(namespace, sandboxes);
    }
    let entry = sandboxes.get(name);
    if (config !== undefined) {
      if (entry === undefined) {
        entry = { config, running: undefined, busy: Promise.resolve() };
        sandboxes.set(name, entry);
      } else {
        entry.config = config; // Replaced, never merged; used by the next start after a stop.
      }
    }
    if (entry === undefined) throw validation(`Sandbox '${name}' not found in existing configuration`);
    const target = entry;
    const start = target.busy.then(async () => {
      // A start of a running sandbox is a no-op that keeps its REPLs and routing (upstream
      // reassigned the portal port here and broke later calls; see docs/server.md).
      if (target.running !== undefined) return;
      let connection: SandboxConnectionV1;
      try {
        connection = await this.#backend.create(this.#mapCreate({ namespace, name, config: target.config }), this.#call);
      } catch (error) {
        throw internal(error);
      }
      target.running = { connection, repls: new Map() };
    });
    target.busy = start.catch(() => undefined);
    await start;
    return `Sandbox ${name} started successfully`;
  }

  async #stop(raw: unknown): Promise<MethodResult> {
    const method = "sandbox.stop";
    const params = paramsObject(method, raw);
    const name = requiredString(method, params, "sandbox");
    const namespace = requiredString(method, params, "namespace");
    checkName("Sandbox", name);
    checkNamespace(namespace);
    const sandboxes = this.#namespaces.get(namespace);
    if (sandboxes === undefined) throw validation(`Namespace directory '${namespace}' does not exist`);
    const entry = sandboxes.get(name);
    if (entry === undefined) throw internal(new Error(`sandbox '${name}' is not defined in namespace '${namespace}'`));
    const stop = entry.busy.then(async () => {
      const running = entry.running;
      entry.running = undefined;
      if (running !== undefined) await this.#teardown(running);
    });
    entry.busy = stop.catch(() => undefined);
    await stop;
    return `Sandbox ${name} stopped successfully`;
  }

  async #metrics(raw: unknown): Promise<MethodResult> {
    const method = "sandbox.metrics.get";
    const params = paramsObject(method, raw);
    const namespace = requiredString(method, params, "namespace");
    const name = optionalString(method, params, "sandbox");
    const targets: [string, string, Entry][] = [];
    if (namespace === "*") {
      for (const [ns, sandboxes] of this.#namespaces) {
        for (const [sandbox, entry] of sandboxes) if (name === undefined || sandbox === name) targets.push([ns, sandbox, entry]);
      }
    } else {
      const sandboxes = this.#namespaces.get(namespace);
      if (sandboxes === undefined) throw validation(`Namespace directory '${namespace}' does not exist`);
      if (name !== undefined) {
        const entry = sandboxes.get(name);
        if (entry === undefined) throw internal(new Error(`sandbox '${name}' is not defined in namespace '${namespace}'`));
        targets.push([namespace, name, entry]);
      } else {
        for (const [sandbox, entry] of sandboxes) targets.push([namespace, sandbox, entry]);
      }
    }
    const statuses = await Promise.all(targets.map(([ns, sandbox, entry]) => this.#status(ns, sandbox, entry.running)));
    return { sandboxes: statuses };
  }

  async #status(namespace: string, name: string, running: Running | undefined): Promise<Record<string, unknown>> {
    const status = { namespace, name, running: running !== undefined, cpu_usage: null as number | null, memory_usage: null as number | null, disk_usage: null as number | null };
    if (running?.connection.metrics === undefined) return status;
    try {
      const metrics = await running.connection.metrics(this.#call);
      if (isNumber(metrics.cpuPercent)) status.cpu_usage = metrics.cpuPercent;
      if (isNumber(metrics.memoryBytes)) status.memory_usage = Math.floor(metrics.memoryBytes / (1024 * 1024));
      if (isNumber(metrics.diskBytes)) status.disk_usage = Math.floor(metrics.diskBytes);
    } catch (error) {
      this.#onError(error);
    }
    return status;
  }

  /** The server-side checks of a forwarded method (§5.4 step 1–2), then the running sandbox. */
  #portalTarget(raw: unknown): { params: Record<string, unknown>; running: Running } {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      throw validation("Request parameters must be an object containing 'sandbox' and 'namespace'");
    }
    const params = raw as Record<string, unknown>;
    const name = params["sandbox"];
    if (typeof name !== "string") throw validation("Missing required 'sandbox' parameter for portal request");
    const namespace = params["namespace"];
    if (typeof namespace !== "string") throw validation("Missing required 'namespace' parameter for portal request");
    const running = this.#namespaces.get(namespace)?.get(name)?.running;
    if (running === undefined) throw internal(new Error(`no running sandbox '${namespace}/${name}'`));
    return { params, running };
  }

  async #repl(raw: unknown): Promise<MethodResult> {
    const { params, running } = this.#portalTarget(raw);
    const language = params["language"];
    const code = params["code"];
    const timeout = timeoutSeconds(params["timeout"]);
    if (typeof language !== "string" || typeof code !== "string" || Number.isNaN(timeout)) {
      throw internal(new Error("invalid parameters for sandbox.repl.run"));
    }
    const kind = replLanguage(language);
    if (kind === undefined) throw internal(new Error(`unsupported language: ${language}`));
    let session = running.repls.get(kind);
    if (session === undefined) {
      session = new ReplSession(running.connection, kind, this.#onError);
      running.repls.set(kind, session);
    }
    let output: OutputLine[];
    try {
      output = await session.run(code, timeout);
    } catch (error) {
      if (!(error instanceof ReplUnavailableError)) throw internal(error);
      this.#onError(error);
      output = [{ stream: "stderr", text: `Error: ${error.message}` }];
    }
    return { status: "success", language, output };
  }

  async #command(raw: unknown): Promise<MethodResult> {
    const { params, running } = this.#portalTarget(raw);
    const command = params["command"];
    const args = params["args"] ?? [];
    const timeout = timeoutSeconds(params["timeout"]);
    if (typeof command !== "string" || !Array.isArray(args) || !args.every((arg) => typeof arg === "string") || Number.isNaN(timeout)) {
      throw internal(new Error("invalid parameters for sandbox.command.run"));
    }
    const argv = [command, ...(args as string[])];
    const connection = running.connection;
    let result;
    try {
      result = await connection.exec({ argv, timeoutMs: timeout === undefined ? undefined : timeout * 1000, maxOutputBytes: COMMAND_OUTPUT_BYTES }, this.#call);
    } catch (error) {
      throw internal(error);
    }
    // Upstream answers 500 for a timeout and for a program that cannot be started.
    if (result.timedOut) throw internal(new Error(`command timed out after ${String(timeout)} seconds`));
    if ((result.exitCode === 127 || result.exitCode === 126) && !(await this.#programRuns(connection, command))) {
      throw internal(new Error("the command could not be started"));
    }
    const exitCode = result.exitCode ?? 1; // Killed by a signal: 1, as upstream.
    return {
      command,
      args,
      exit_code: exitCode,
      success: exitCode === 0,
      output: [...splitLines("stdout", result.stdout), ...splitLines("stderr", result.stderr)],
    };
  }

  /** Whether `command` names an executable program in the sandbox (`command -v`). */
  async #programRuns(connection: SandboxConnectionV1, command: string): Promise<boolean> {
    try {
      const probe = await connection.exec(
        { argv: ["sh", "-c", 'case "$1" in */*) [ -f "$1" ] && [ -x "$1" ] ;; *) command -v -- "$1" >/dev/null 2>&1 ;; esac', "sh", command], timeoutMs: 10_000, maxOutputBytes: 4096 },
        this.#call,
      );
      return probe.exitCode === 0;
    } catch {
      return false;
    }
  }

  async #teardown(running: Running): Promise<void> {
    await Promise.allSettled([...running.repls.values()].map((repl) => repl.close()));
    try {
      await this.#backend.destroy(running.connection.info.id, this.#call);
    } catch (error) {
      this.#onError(error);
    }
    try {
      await running.connection.release?.();
    } catch (error) {
      this.#onError(error);
    }
  }
}

/** Labels naming the sandbox, and `config.envs` (`KEY=VALUE`) as the sandbox's environment. */
function defaultCreateRequest(context: { namespace: string; name: string; config: StartConfig }): CreateRequestV1 {
  const env: Record<string, string> = {};
  for (const pair of context.config.envs ?? []) {
    const eq = pair.indexOf("=");
    if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return {
    labels: { "microsandbox.namespace": context.namespace, "microsandbox.name": context.name },
    ...(Object.keys(env).length > 0 ? { env } : {}),
  };
}

function replLanguage(language: string): ReplLanguage | undefined {
  const lower = language.toLowerCase();
  if (lower === "python") return "python";
  if (lower === "node" || lower === "nodejs" || lower === "javascript") return "node";
  return undefined;
}

function isNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}
