import {
  type BackendCapabilitiesV1,
  type CallContextV1,
  type CreateRequestV1,
  type HealthV1,
  redactUrl,
  type SandboxBackendV1,
  SandboxError,
  CapabilityUnsupportedError,
  ValidationError,
} from "@sandkit/core";
import { SandboxApiClient } from "./client.js";
import { BACKEND_NAME } from "./constants.js";
import { SandboxApiSession } from "./connection.js";
import { resolveOptions, type ResolvedSandboxApiOptions, type SandboxApiOptions } from "./options.js";

const inspectSymbol = Symbol.for("nodejs.util.inspect.custom");

/**
 * What a sandbox-api session can do, as sandkit sees it: buffered exec with env and cwd but no
 * stdin; files through archives; saved environments that expire (about 24 h) and cannot be
 * extended or deleted. No reattach: a saved environment is an immutable snapshot, so a session
 * named by one could not be found again in its latest state (start a session from any saved
 * environment with the `baseEnvironment` option instead).
 */
export const SANDBOX_API_CAPABILITIES: BackendCapabilitiesV1 = Object.freeze({
  exec: Object.freeze({ stream: "buffered", stdin: false, env: true, cwd: true }),
  files: "native-archive",
  ttl: "fixed",
  metrics: false,
  codeLanguages: Object.freeze([]) as readonly string[],
  attach: false,
  isolation: "container",
} as const);

/**
 * The `sandbox-api` backend: sessions on a PremierLangage sandbox server (3.x), or on
 * `@sandkit/sandbox-api/server`.
 *
 * - `create`: one execute of `true` with `save`; the saved environment's UUID is the sandbox id.
 * - `create` with the `baseEnvironment` option: the same, starting from that saved environment.
 * - `attach`: `CapabilityUnsupportedError` (see {@link SANDBOX_API_CAPABILITIES}).
 * - `destroy`: nothing to do: the protocol cannot delete saved environments; they expire.
 * - `health`: `GET /specifications/`.
 */
export class SandboxApiBackend implements SandboxBackendV1 {
  readonly specificationVersion = "v1" as const;
  readonly name = BACKEND_NAME;
  readonly capabilities: BackendCapabilitiesV1 = SANDBOX_API_CAPABILITIES;
  readonly #options: ResolvedSandboxApiOptions;
  readonly #client: SandboxApiClient;

  /** Validates the options (a `ValidationError` names the field). `env` fills in the URL when absent (see `SANDBOX_API_ENV`). */
  constructor(options: SandboxApiOptions, env: Readonly<Record<string, string | undefined>> = {}) {
    this.#options = resolveOptions(options, env);
    this.#client = new SandboxApiClient(this.#options);
  }

  /** The typed protocol client this backend talks through (execute, downloads, describe routes). */
  get client(): SandboxApiClient {
    return this.#client;
  }

  /** The server's base URL, without credentials. */
  get url(): string {
    return redactUrl(this.#options.url);
  }

  async create(request: CreateRequestV1, call: CallContextV1): Promise<SandboxApiSession> {
    const where = { backend: BACKEND_NAME, operation: "create" };
    if (request.id !== undefined) {
      throw new ValidationError("sandbox-api sessions are named by the server (a saved environment's UUID): create takes no id; use attach to start from a saved environment", { field: "id", ...where });
    }
    // What the server decides alone is refused rather than ignored: one image, fixed limits, a
    // fixed expiry (about 24 h). Labels have nowhere to go either.
    if (request.image !== undefined) throw new ValidationError("the sandbox-api server runs one fixed image (see client.libraries()); image cannot be chosen", { field: "image", ...where });
    if (request.resources !== undefined) throw new ValidationError("the sandbox-api server's container limits are fixed (see client.specifications()); resources cannot be requested", { field: "resources", ...where });
    if (request.ttlMs !== undefined) throw new ValidationError("saved environments expire after the server's fixed 24 h; ttlMs cannot be set", { field: "ttlMs", ...where });
    if (request.labels !== undefined && Object.keys(request.labels).length > 0) throw new ValidationError("the sandbox-api protocol has nowhere to store labels", { field: "labels", ...where });
    const env = checkEnv(request.env);
    const base = this.#options.baseEnvironment;
    const answer = await this.#client.execute({ commands: ["true"], save: true, ...(base === undefined ? {} : { baseEnvironment: base }) }, { signal: call.signal, timeoutMs: this.#timeout(call) });
    if (answer.savedEnvironment === undefined) throw new SandboxError("the server saved no environment for a create", where);
    return this.#session(answer.savedEnvironment, env, new Date(), answer.expiresAt);
  }

  /** Always `CapabilityUnsupportedError`: the protocol keeps no session to return to (see {@link SANDBOX_API_CAPABILITIES}). */
  async attach(id: string, _call: CallContextV1): Promise<SandboxApiSession> {
    throw new CapabilityUnsupportedError(
      "sandbox-api sessions cannot be reattached: the server keeps only immutable saved environments, so the session's latest state has no stable name",
      { capability: "attach", backend: BACKEND_NAME, operation: "attach", sandboxId: typeof id === "string" ? id.slice(0, 64) : undefined, suggestion: "Start a new session from a saved environment with sandboxApi({ baseEnvironment: uuid }); a session's latest one is session.environment." },
    );
  }

  /** Succeeds without a request: the protocol cannot delete saved environments (they expire after about 24 h). */
  async destroy(_id: string, _call: CallContextV1): Promise<void> {}

  async health(call: CallContextV1): Promise<HealthV1> {
    try {
      const specs = await this.#client.specifications({ signal: call.signal, timeoutMs: this.#timeout(call) });
      const version = (specs as { host?: { sandbox_version?: unknown } }).host?.sandbox_version;
      return { ok: true, detail: typeof version === "string" ? `sandbox ${version.slice(0, 40)}` : undefined };
    } catch (error) {
      if (call.signal.aborted) throw error;
      return { ok: false, detail: SandboxError.isInstance(error) ? `${error.code}: ${error.message}`.slice(0, 300) : "the health check failed" };
    }
  }

  close(): Promise<void> {
    return this.#client.close();
  }

  /** {@link close} for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  [inspectSymbol](): string {
    return `SandboxApiBackend { url: ${JSON.stringify(this.url)}${this.#client.closed ? ", closed: true" : ""} }`;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, url: this.url };
  }

  #session(environment: string, env: Readonly<Record<string, string>>, createdAt: Date | undefined, expiresAt: Date | undefined): SandboxApiSession {
    return new SandboxApiSession({
      client: this.#client,
      environment,
      env,
      info: { id: environment, backend: BACKEND_NAME, workdir: this.#options.workdir, createdAt, expiresAt },
    });
  }

  #timeout(call: CallContextV1): number {
    const limit = this.#options.budgetMs + this.#options.executeMarginMs;
    return call.deadline === undefined ? limit : Math.max(1, Math.min(limit, call.deadline - Date.now()));
  }
}

/** Checks the sandbox-wide env of a create (sent as `environ` with every command). */
function checkEnv(env: Readonly<Record<string, string>> | undefined): Readonly<Record<string, string>> {
  if (env === undefined) return {};
  const where = { field: "env", backend: BACKEND_NAME, operation: "create" };
  if (typeof env !== "object" || env === null || Array.isArray(env)) throw new ValidationError("env must be an object of strings", where);
  for (const [name, value] of Object.entries(env)) {
    if (name === "" || name.includes("=") || name.includes("\0") || typeof value !== "string" || value.includes("\0")) {
      throw new ValidationError(`env ${JSON.stringify(name)} is not a valid variable (a name without = or NUL, a string value without NUL)`, where);
    }
  }
  return Object.freeze({ ...env });
}
