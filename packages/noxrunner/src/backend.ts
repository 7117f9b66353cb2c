import {
  type BackendCapabilitiesV1,
  type CallContextV1,
  type CreateRequestV1,
  type HealthV1,
  type KeepAliveResultV1,
  redactUrl,
  type SandboxBackendV1,
  SandboxError,
  ValidationError,
} from "@sandkit/core";
import { type EnsureBody, NoxRunnerClient, type RequestControl } from "./client.js";
import { BACKEND_NAME } from "./constants.js";
import { NoxRunnerConnection } from "./connection.js";
import { type NoxRunnerOptions, type ResolvedNoxRunnerOptions, resolveOptions } from "./options.js";
import { checkQuantity, cpuQuantity, mebibyteQuantity } from "./quantity.js";
import { waitUntilReady } from "./ready-wait.js";
import { checkSessionId, generateSessionId } from "./session-id.js";

const inspectSymbol = Symbol.for("nodejs.util.inspect.custom");

/** What a NoxRunner server can do, as sandkit sees it. */
export const NOXRUNNER_CAPABILITIES: BackendCapabilitiesV1 = Object.freeze({
  exec: Object.freeze({ stream: "buffered", stdin: false, env: true, cwd: true }),
  files: "native-archive",
  ttl: "keep-alive",
  metrics: false,
  codeLanguages: Object.freeze([]) as readonly string[],
  attach: true,
  isolation: "container",
} as const);

/** How long cleaning up after a failed create may take, in milliseconds. */
const CLEANUP_TIMEOUT_MS = 10_000;

/**
 * The `noxrunner` backend: sandboxes on a NoxRunner server (the reference Kubernetes "sandbox
 * manager", `sandkit serve noxrunner`, or anything speaking the same REST protocol).
 *
 * - `create`: `PUT /v1/sandboxes/{id}` (create-or-ensure, retried), then a readiness wait.
 * - `attach`: `POST .../touch` (404 → `SandboxNotFoundError` on servers that know unknown ids).
 * - `destroy`: `DELETE /v1/sandboxes/{id}`; gone already is success.
 * - `keepAlive`: `POST .../touch`.
 * - `health`: `GET /healthz`; any 2xx is healthy.
 */
export class NoxRunnerBackend implements SandboxBackendV1 {
  readonly specificationVersion = "v1" as const;
  readonly name = BACKEND_NAME;
  readonly capabilities: BackendCapabilitiesV1 = NOXRUNNER_CAPABILITIES;
  readonly #options: ResolvedNoxRunnerOptions;
  readonly #client: NoxRunnerClient;

  /** Validates the options (a `ValidationError` names the field). `env` fills in what is absent (see `NOXRUNNER_ENV`). */
  constructor(options: NoxRunnerOptions, env: Readonly<Record<string, string | undefined>> = {}) {
    this.#options = resolveOptions(options, env);
    this.#client = new NoxRunnerClient(this.#options);
  }

  /** The server's base URL, without credentials. */
  get url(): string {
    return redactUrl(this.#options.url);
  }

  async create(request: CreateRequestV1, call: CallContextV1): Promise<NoxRunnerConnection> {
    const generated = request.id === undefined;
    const id = generated ? generateSessionId() : checkSessionId(request.id, "create");
    const env = checkEnv(request.env, id);
    const body = ensureBody(request, this.#options, id);
    const deadline = Math.min(call.deadline ?? Number.POSITIVE_INFINITY, Date.now() + this.#options.readyTimeoutMs);
    try {
      const answer = await this.#client.ensure(id, body, { signal: call.signal, timeoutMs: Math.max(1, deadline - Date.now()) });
      if (this.#options.waitForReady) {
        await waitUntilReady((remaining) => this.#probe(id, remaining, call.signal), { deadline, signal: call.signal, sandboxId: id });
      }
      return new NoxRunnerConnection({
        client: this.#client,
        options: this.#options,
        env,
        info: {
          id,
          backend: BACKEND_NAME,
          workdir: this.#options.workdir,
          createdAt: new Date(),
          expiresAt: answer.expiresAt,
          details: answer.podName === undefined ? undefined : { podName: answer.podName.slice(0, 253) },
        },
      });
    } catch (error) {
      // A sandbox this call named itself is ours: do not leave it behind. One the caller named
      // may have existed before (PUT is create-or-ensure), so it is left to its TTL.
      if (generated) await this.#discard(id, call);
      throw error;
    }
  }

  async attach(id: string, call: CallContextV1): Promise<NoxRunnerConnection> {
    checkSessionId(id, "attach");
    await this.#client.touch(id, this.#control(call));
    return new NoxRunnerConnection({
      client: this.#client,
      options: this.#options,
      env: {},
      info: { id, backend: BACKEND_NAME, workdir: this.#options.workdir },
    });
  }

  async destroy(id: string, call: CallContextV1): Promise<void> {
    await this.#client.remove(id, this.#control(call));
  }

  async health(call: CallContextV1): Promise<HealthV1> {
    try {
      const answer = await this.#client.health(this.#control(call));
      return { ok: answer.ok, detail: answer.detail };
    } catch (error) {
      if (call.signal.aborted) throw error;
      return { ok: false, detail: SandboxError.isInstance(error) ? `${error.code}: ${error.message}`.slice(0, 300) : "the health check failed" };
    }
  }

  /**
   * `touch`: moves the expiry to now plus the TTL the sandbox was created with. The protocol has
   * no per-call TTL, so `ttlMs` is not sent, and the server does not say the new expiry.
   */
  async keepAlive(id: string, _options: { readonly ttlMs?: number | undefined }, call: CallContextV1): Promise<KeepAliveResultV1> {
    await this.#client.touch(id, this.#control(call));
    return {};
  }

  close(): Promise<void> {
    return this.#client.close();
  }

  [inspectSymbol](): string {
    return `NoxRunnerBackend { url: ${JSON.stringify(this.url)}, serviceKey: ${this.#options.serviceKey === undefined ? "none" : "[redacted]"}${this.#client.closed ? ", closed: true" : ""} }`;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, url: this.url, serviceKey: this.#options.serviceKey === undefined ? undefined : "[redacted]" };
  }

  /** The readiness probe: a harmless `true`. A 200 (any exit code: v0 always says -1) means ready. */
  async #probe(id: string, remainingMs: number, signal: AbortSignal): Promise<void> {
    const timeoutSeconds = 10;
    await this.#client.exec(id, { cmd: ["true"], workdir: this.#options.workdir, timeoutSeconds }, { signal, timeoutMs: Math.max(1, Math.min(remainingMs, timeoutSeconds * 1000 + this.#options.execMarginMs)) });
  }

  /** Deletes a sandbox after a failed create; waited for unless the call was aborted. Never throws. */
  async #discard(id: string, call: CallContextV1): Promise<void> {
    const cleanup = this.#client.remove(id, { signal: AbortSignal.timeout(CLEANUP_TIMEOUT_MS), timeoutMs: CLEANUP_TIMEOUT_MS }).then(
      () => undefined,
      () => undefined,
    );
    if (!call.signal.aborted) await cleanup;
  }

  #control(call: CallContextV1): RequestControl {
    const limit = this.#options.requestTimeoutMs;
    return { signal: call.signal, timeoutMs: call.deadline === undefined ? limit : Math.max(1, Math.min(limit, call.deadline - Date.now())) };
  }
}

/** The PUT body of a create, in the key order of the upstream Python client. Exported for tests. */
export function ensureBody(request: CreateRequestV1, options: ResolvedNoxRunnerOptions, id: string): EnsureBody {
  const where = { backend: BACKEND_NAME, operation: "create", sandboxId: id };
  let ttlSeconds = options.ttlSeconds;
  if (request.ttlMs !== undefined) {
    if (typeof request.ttlMs !== "number" || !Number.isFinite(request.ttlMs) || request.ttlMs <= 0) {
      throw new ValidationError("ttlMs must be a positive number of milliseconds", { field: "ttlMs", ...where });
    }
    ttlSeconds = Math.ceil(request.ttlMs / 1000);
  }
  const image = request.image ?? options.image;
  if (image !== undefined && (typeof image !== "string" || image === "" || /[\0\r\n]/.test(image))) {
    throw new ValidationError("image must be a non-empty single-line string", { field: "image", ...where });
  }
  const resources = request.resources;
  const amount = (value: number | undefined, field: string): number | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      throw new ValidationError(`resources.${field} must be a positive number`, { field: `resources.${field}`, ...where });
    }
    return value;
  };
  const cpus = amount(resources?.cpus, "cpus");
  const memoryMiB = amount(resources?.memoryMiB, "memoryMiB");
  const diskMiB = amount(resources?.diskMiB, "diskMiB");
  const cpuLimit = cpus === undefined ? options.cpuLimit : checkQuantity(cpuQuantity(cpus), "resources.cpus", "create");
  const memoryLimit = memoryMiB === undefined ? options.memoryLimit : mebibyteQuantity(memoryMiB);
  const ephemeralStorageLimit = diskMiB === undefined ? options.ephemeralStorageLimit : mebibyteQuantity(diskMiB);
  const body: { -readonly [K in keyof EnsureBody]: EnsureBody[K] } = { ttlSeconds };
  if (image !== undefined) body.image = image;
  if (cpuLimit !== undefined) body.cpuLimit = cpuLimit;
  if (memoryLimit !== undefined) body.memoryLimit = memoryLimit;
  if (ephemeralStorageLimit !== undefined) body.ephemeralStorageLimit = ephemeralStorageLimit;
  return body;
}

/** Checks the sandbox-wide env of a create (names and values travel in every exec). */
function checkEnv(env: Readonly<Record<string, string>> | undefined, id: string): Readonly<Record<string, string>> {
  if (env === undefined) return {};
  if (typeof env !== "object" || env === null || Array.isArray(env)) {
    throw new ValidationError("env must be an object of strings", { field: "env", backend: BACKEND_NAME, operation: "create", sandboxId: id });
  }
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (name === "" || name.includes("=") || name.includes("\0") || typeof value !== "string" || value.includes("\0")) {
      throw new ValidationError(`env ${JSON.stringify(name)} is not a valid variable (a name without = or NUL, a string value without NUL)`, {
        field: "env",
        backend: BACKEND_NAME,
        operation: "create",
        sandboxId: id,
      });
    }
    out[name] = value;
  }
  return Object.freeze(out);
}
