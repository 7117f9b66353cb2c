import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import {
  AbortedError,
  type BackendCapabilitiesV1,
  type CallContextV1,
  type CreateRequestV1,
  type HealthV1,
  redactUrl,
  RequestTimeoutError,
  type SandboxBackendV1,
  SandboxError,
  SandboxNotFoundError,
  ValidationError,
} from "@sandkit/core";
import { MicrosandboxClient, type RequestControl, type SandboxStatus, type StartConfig } from "./client.js";
import { BACKEND_NAME } from "./constants.js";
import { isInternal, MicrosandboxConnection } from "./connection.js";
import { checkCpus, checkName, type MicrosandboxLanguage, type MicrosandboxOptions, type ResolvedMicrosandboxOptions, resolveOptions } from "./options.js";

const inspectSymbol = Symbol.for("nodejs.util.inspect.custom");

/** What a microsandbox server can do, as sandkit sees it, for sandboxes of the given REPL language. */
export function microsandboxCapabilities(language: MicrosandboxLanguage): BackendCapabilitiesV1 {
  return Object.freeze({
    exec: Object.freeze({ stream: "buffered", stdin: false, env: false, cwd: false }),
    files: "emulated",
    ttl: "none",
    metrics: true,
    codeLanguages: Object.freeze([language]) as readonly string[],
    attach: true,
    isolation: "microvm",
  } as const);
}

/** How `sandbox.start` answered, from its result string (a clean success, or one of two warnings). */
export type StartOutcome = "started" | "unverified" | "timed-out-waiting";

/** Reads `sandbox.start`'s result string. Anything unrecognised counts as `unverified`. */
export function startOutcome(result: string): StartOutcome {
  if (/ started successfully$/.test(result)) return "started";
  if (result.includes("timed out waiting")) return "timed-out-waiting";
  return "unverified";
}

/** Makes a sandbox name the server accepts: `sandkit-` and 12 hex digits. */
export function generateSandboxName(): string {
  return `sandkit-${randomBytes(6).toString("hex")}`;
}

/**
 * The `microsandbox` backend: sandboxes (microVMs) on a legacy microsandbox server 0.2.x, or on
 * `@sandkit/microsandbox/server`.
 *
 * - `create`: `sandbox.start` with `config: { image, memory, cpus[, envs] }`, sent once; when the
 *   server cannot confirm the sandbox runs, `metrics.get` is polled until it does, within the
 *   start budget, the call's deadline and signal. A name this instance started (or saw running)
 *   is never started again: a second start breaks the server's routing (§14 row 26).
 * - `attach`: `sandbox.metrics.get` by name; no start is sent.
 * - `destroy`: `sandbox.stop` (returns before the VM has exited); a sandbox already gone is success.
 * - `health`: `GET /api/v1/health`.
 */
export class MicrosandboxBackend implements SandboxBackendV1 {
  readonly specificationVersion = "v1" as const;
  readonly name = BACKEND_NAME;
  readonly capabilities: BackendCapabilitiesV1;
  readonly #options: ResolvedMicrosandboxOptions;
  readonly #client: MicrosandboxClient;
  /** Names this instance has sent `sandbox.start` for and not stopped since. */
  readonly #started = new Set<string>();

  /** Validates the options (a `ValidationError` names the field). `env` fills in what is absent (see `MICROSANDBOX_ENV`). */
  constructor(options: MicrosandboxOptions = {}, env: Readonly<Record<string, string | undefined>> = {}) {
    this.#options = resolveOptions(options, env);
    this.capabilities = microsandboxCapabilities(this.#options.language);
    this.#client = new MicrosandboxClient(this.#options);
  }

  /** The server's base URL, without credentials. */
  get url(): string {
    return redactUrl(this.#options.url);
  }

  /** The namespace this backend's sandboxes live in. */
  get namespace(): string {
    return this.#options.namespace;
  }

  async create(request: CreateRequestV1, call: CallContextV1): Promise<MicrosandboxConnection> {
    const generated = request.id === undefined;
    const id = generated ? generateSandboxName() : checkName(request.id, "id", "create");
    const config = startConfig(request, this.#options, id);
    const deadline = Math.min(call.deadline ?? Number.POSITIVE_INFINITY, Date.now() + this.#options.startTimeoutMs);
    if (this.#started.has(id)) {
      throw new ValidationError(`sandbox ${id} was already started by this backend; attach to it instead (a second start breaks the server's routing)`, {
        field: "id",
        backend: BACKEND_NAME,
        operation: "create",
        sandboxId: id,
      });
    }
    if (!generated && (await this.#isRunning(id, this.#control(call, Math.min(this.#options.requestTimeoutMs, deadline - Date.now()))))) {
      throw new ValidationError(`sandbox ${id} is already running in namespace ${this.#options.namespace}; attach to it instead (a second start breaks the server's routing)`, {
        field: "id",
        backend: BACKEND_NAME,
        operation: "create",
        sandboxId: id,
      });
    }
    this.#started.add(id);
    let outcome: StartOutcome;
    try {
      outcome = startOutcome(await this.#client.start(id, config, { ...this.#control(call, deadline - Date.now()), sandboxId: id }));
      if (outcome !== "started") await this.#waitRunning(id, deadline, call.signal);
    } catch (error) {
      // The start may have reached the server: stop what this call named itself, so nothing is
      // left behind (a caller-named sandbox did not run before, as checked above).
      await this.#discard(id, call);
      throw error;
    }
    return new MicrosandboxConnection({
      client: this.#client,
      options: this.#options,
      info: {
        id,
        backend: BACKEND_NAME,
        workdir: this.#options.workdir,
        createdAt: new Date(),
        details: { namespace: this.#options.namespace, image: config.image.slice(0, 200), start: outcome },
      },
    });
  }

  async attach(id: string, call: CallContextV1): Promise<MicrosandboxConnection> {
    checkName(id, "id", "attach");
    const running = await this.#isRunning(id, this.#control(call));
    if (!running) {
      throw new SandboxNotFoundError(`sandbox ${id} is not running in namespace ${this.#options.namespace}`, { backend: BACKEND_NAME, operation: "attach", sandboxId: id });
    }
    return new MicrosandboxConnection({
      client: this.#client,
      options: this.#options,
      info: { id, backend: BACKEND_NAME, workdir: this.#options.workdir, details: { namespace: this.#options.namespace } },
    });
  }

  /**
   * `sandbox.stop`. The server answers 400 for an unknown namespace and 500 for a name it does not
   * define; both mean "already gone" when `metrics.get` does not show the sandbox running.
   */
  async destroy(id: string, call: CallContextV1): Promise<void> {
    checkName(id, "id", "destroy");
    const control = this.#control(call);
    try {
      await this.#client.stop(id, { ...control, sandboxId: id });
    } catch (error) {
      if (!(ValidationError.isInstance(error) || isInternal(error)) || call.signal.aborted) throw error;
      if (await this.#isRunning(id, this.#control(call)).catch(() => true)) throw error;
    }
    this.#started.delete(id);
  }

  async health(call: CallContextV1): Promise<HealthV1> {
    try {
      await this.#client.health(this.#control(call));
      return { ok: true };
    } catch (error) {
      if (call.signal.aborted) throw error;
      return { ok: false, detail: SandboxError.isInstance(error) ? `${error.code}: ${error.message}`.slice(0, 300) : "the health check failed" };
    }
  }

  close(): Promise<void> {
    return this.#client.close();
  }

  [inspectSymbol](): string {
    return `MicrosandboxBackend { url: ${JSON.stringify(this.url)}, namespace: ${JSON.stringify(this.#options.namespace)}, apiKey: ${this.#options.apiKey === undefined ? "none" : "[redacted]"}${this.#client.closed ? ", closed: true" : ""} }`;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, url: this.url, namespace: this.#options.namespace, apiKey: this.#options.apiKey === undefined ? undefined : "[redacted]" };
  }

  /**
   * Whether `metrics.get` shows the sandbox running. A 400 (namespace never used) or a 500 (name
   * not defined) is "not running"; other failures propagate.
   */
  async #isRunning(id: string, control: RequestControl): Promise<boolean> {
    let list: readonly SandboxStatus[];
    try {
      list = await this.#client.metrics(id, { ...control, sandboxId: id });
    } catch (error) {
      if (ValidationError.isInstance(error) || isInternal(error)) return false;
      throw error;
    }
    return list.some((entry) => entry.name === id && entry.running === true);
  }

  /** Polls `metrics.get` (backing off 100 ms → 1 s) until the sandbox runs, within the deadline and signal. */
  async #waitRunning(id: string, deadline: number, signal: AbortSignal): Promise<void> {
    let delay = 100;
    for (;;) {
      if (await this.#isRunning(id, { signal, timeoutMs: Math.max(1, Math.min(this.#options.requestTimeoutMs, deadline - Date.now())) })) return;
      const left = deadline - Date.now();
      if (left <= delay) {
        throw new RequestTimeoutError(`sandbox ${id} did not report running before the start deadline`, {
          backend: BACKEND_NAME,
          operation: "create",
          sandboxId: id,
        });
      }
      try {
        await sleep(delay, undefined, { signal });
      } catch {
        throw new AbortedError(`creating sandbox ${id} was aborted`, { backend: BACKEND_NAME, operation: "create", sandboxId: id, cause: signal.reason });
      }
      delay = Math.min(1000, delay * 2);
    }
  }

  /** Stops a sandbox after a failed create; waited for unless the call was aborted. Never throws. */
  async #discard(id: string, call: CallContextV1): Promise<void> {
    const cleanup = this.#client.stop(id, { signal: AbortSignal.timeout(10_000), timeoutMs: 10_000, sandboxId: id }).then(
      () => this.#started.delete(id),
      () => undefined,
    );
    if (!call.signal.aborted) await cleanup;
  }

  /** A control with the call's signal and a deadline: `limitMs` (default: the control-request limit) within the call's deadline. */
  #control(call: CallContextV1, limitMs: number = this.#options.requestTimeoutMs): RequestControl {
    const timeoutMs = call.deadline === undefined ? limitMs : Math.min(limitMs, call.deadline - Date.now());
    return { signal: call.signal, timeoutMs: Math.max(1, timeoutMs) };
  }
}

/** The `config` of `sandbox.start` for a create: the request's image and resources, else the backend's. Exported for tests. */
export function startConfig(request: CreateRequestV1, options: ResolvedMicrosandboxOptions, id: string): StartConfig {
  const where = { backend: BACKEND_NAME, operation: "create", sandboxId: id };
  if (request.ttlMs !== undefined) throw new ValidationError("microsandbox sandboxes have no TTL (ttl: none); stop them with close()", { field: "ttlMs", ...where });
  const image = request.image ?? options.image;
  if (typeof image !== "string" || image === "" || /[\0\r\n]/.test(image)) throw new ValidationError("image must be a non-empty single-line string", { field: "image", ...where });
  const resources = request.resources;
  if (resources?.diskMiB !== undefined) throw new ValidationError("microsandbox has no disk limit", { field: "resources.diskMiB", ...where });
  const cpus = resources?.cpus === undefined ? options.cpus : checkCpus(resources.cpus, "resources.cpus", "create");
  const memory = resources?.memoryMiB ?? options.memoryMiB;
  if (!Number.isInteger(memory) || memory < 1 || memory > 0xffff_ffff) {
    throw new ValidationError("resources.memoryMiB must be a whole number of MiB", { field: "resources.memoryMiB", ...where });
  }
  const env = request.env ?? {};
  const envs: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (name === "" || name.includes("=") || /[\0]/.test(name) || typeof value !== "string" || value.includes("\0")) {
      throw new ValidationError(`env ${JSON.stringify(name)} is not a valid variable (a name without = or NUL, a string value without NUL)`, { field: "env", ...where });
    }
    envs.push(`${name}=${value}`);
  }
  return envs.length === 0 ? { image, memory, cpus } : { image, memory, cpus, envs };
}
