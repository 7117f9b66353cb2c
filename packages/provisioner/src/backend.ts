import { setTimeout as sleep } from "node:timers/promises";
import {
  AbortedError,
  type BackendCapabilitiesV1,
  type CallContextV1,
  type CreateRequestV1,
  createHttpClient,
  type HealthV1,
  type HttpClient,
  redactUrl,
  RequestTimeoutError,
  type SandboxBackendV1,
  SandboxError,
  SandboxNotFoundError,
  Secret,
  ValidationError,
} from "@sandkit/core";
import { type CreateBody, ProvisionerApi, type RequestControl, type SandboxRecord, wireMounts } from "./control-client.js";
import { BACKEND_NAME, DEAD_STATUSES } from "./constants.js";
import { mayBeLostPod, ProvisionerConnection } from "./connection.js";
import { checkEnv } from "./exec-command.js";
import { parseBaseUrl, type ProvisionerOptions, type ResolvedProvisionerOptions, resolveOptions } from "./options.js";
import { waitUntilReady } from "./ready-wait.js";
import { SandboxApi, type SandboxFacts } from "./sandbox-client.js";
import { checkSandboxId, generateSandboxId } from "./sandbox-id.js";

const inspectSymbol = Symbol.for("nodejs.util.inspect.custom");

/** What the provisioner backend can do, as sandkit sees it. */
export const PROVISIONER_CAPABILITIES: BackendCapabilitiesV1 = Object.freeze({
  exec: Object.freeze({ stream: "buffered", stdin: false, env: true, cwd: true }),
  files: "per-file",
  ttl: "none",
  metrics: false,
  codeLanguages: Object.freeze([]) as readonly string[],
  attach: true,
  isolation: "container",
} as const);

/** How long cleaning up after a failed create may take, in milliseconds. */
const CLEANUP_TIMEOUT_MS = 15_000;

/**
 * The `provisioner` backend: sandboxes as Kubernetes pods handed out by a DeerFlow provisioner
 * (the control plane), driven through each pod's AIO sandbox HTTP API (the data plane).
 *
 * - `create`: `POST /api/sandboxes` (create-or-return-existing; retried like a GET). A sandbox
 *   whose pod is gone (`NotFound`, `Failed`, `Succeeded`: sticky on the provisioner) is confirmed
 *   with a GET, deleted, awaited until the provisioner forgets it, and created once more. Then
 *   `GET {sandbox_url}/v1/sandbox` is polled with backoff until it answers 200 (a refused
 *   connection means "not yet"), within `readyTimeoutMs`, the call's deadline and signal; a pod
 *   that fails or disappears meanwhile ends the wait at once. A create that fails after the pod
 *   may exist deletes it (unless the caller named a sandbox that existed before).
 * - `attach`: `GET /api/sandboxes/{id}` (404 or a dead pod → `SandboxNotFoundError`), then the
 *   readiness wait on the data plane.
 * - `destroy`: `DELETE /api/sandboxes/{id}` (200 whether or not it existed; retried). A partial
 *   cleanup (500) is a `ServerError`, never swallowed.
 * - `health`: `GET /health`, then `GET /api/capabilities` to prove the key is accepted.
 */
export class ProvisionerBackend implements SandboxBackendV1 {
  readonly specificationVersion = "v1" as const;
  readonly name = BACKEND_NAME;
  readonly capabilities: BackendCapabilitiesV1 = PROVISIONER_CAPABILITIES;
  readonly #options: ResolvedProvisionerOptions;
  readonly #http: HttpClient;
  /** The readiness probe's client: one attempt per probe (the wait paces the probes). */
  readonly #probeHttp: HttpClient;
  readonly #control: ProvisionerApi;
  readonly #sandboxHeaders: Readonly<Record<string, string | Secret>>;

  /** Validates the options (a `ValidationError` names the field). `env` fills in what is absent (see `PROVISIONER_ENV`). */
  constructor(options: ProvisionerOptions = {}, env: Readonly<Record<string, string | undefined>> = {}) {
    this.#options = resolveOptions(options, env);
    this.#http = createHttpClient({
      backend: BACKEND_NAME,
      dispatcher: this.#options.dispatcher,
      timeoutMs: this.#options.requestTimeoutMs,
      retry: this.#options.retry,
      connections: this.#options.connections,
    });
    this.#probeHttp = createHttpClient({
      backend: BACKEND_NAME,
      dispatcher: this.#options.dispatcher,
      timeoutMs: this.#options.requestTimeoutMs,
      retry: { maxAttempts: 1 },
      connections: 4,
    });
    this.#control = new ProvisionerApi(this.#http, this.#options.url, this.#options.apiKey, this.#options.headers);
    const token = this.#options.sandboxToken;
    this.#sandboxHeaders = token === undefined ? { ...this.#options.sandboxHeaders } : { ...this.#options.sandboxHeaders, Authorization: new Secret(`Bearer ${token.reveal()}`) };
  }

  /** The provisioner's base URL, without credentials. */
  get url(): string {
    return redactUrl(this.#options.url);
  }

  async create(request: CreateRequestV1, call: CallContextV1): Promise<ProvisionerConnection> {
    const generated = request.id === undefined;
    const id = generated ? generateSandboxId() : checkSandboxId(request.id, "create");
    refuseUnsupported(request, id);
    const env = checkEnv(request.env, id, "create");
    const deadline = Math.min(call.deadline ?? Number.POSITIVE_INFINITY, Date.now() + this.#options.readyTimeoutMs);
    const body: CreateBody = {
      sandbox_id: id,
      thread_id: this.#options.threadId ?? null,
      user_id: this.#options.userId,
      ...(this.#options.extraMounts.length === 0 ? {} : { extra_mounts: wireMounts(this.#options.extraMounts) }),
    };
    // A caller-named sandbox may exist already (POST returns it): then it is not ours to delete on failure.
    let existed = false;
    if (!generated) existed = (await this.#lookup(id, "create", this.#limit(call, deadline, this.#options.requestTimeoutMs))) !== undefined;
    try {
      let record = await this.#control.create(body, this.#limit(call, deadline, this.#options.createTimeoutMs));
      if (DEAD_STATUSES.has(record.status)) record = await this.#recreate(record, body, call, deadline);
      return await this.#connect(record, env, "create", call, deadline, new Date());
    } catch (error) {
      if (!existed) await this.#discard(id, call);
      throw error;
    }
  }

  async attach(id: string, call: CallContextV1): Promise<ProvisionerConnection> {
    checkSandboxId(id, "attach");
    const deadline = Math.min(call.deadline ?? Number.POSITIVE_INFINITY, Date.now() + this.#options.readyTimeoutMs);
    const record = await this.#control.get(id, "attach", this.#limit(call, deadline, this.#options.requestTimeoutMs));
    if (DEAD_STATUSES.has(record.status)) throw gone(id, record.status, "attach");
    return this.#connect(record, {}, "attach", call, deadline, undefined);
  }

  async destroy(id: string, call: CallContextV1): Promise<void> {
    checkSandboxId(id, "destroy");
    await this.#control.remove(id, this.#limit(call, Number.POSITIVE_INFINITY, this.#options.requestTimeoutMs));
  }

  /**
   * Every sandbox the provisioner knows, with its pod status and URL (`GET /api/sandboxes`): for
   * finding sandboxes left behind by a crashed process (DeerFlow adopts and reaps such orphans).
   * Not part of the backend contract; errors are typed, never an empty list.
   */
  async list(call: CallContextV1): Promise<{ readonly id: string; readonly status: string; readonly sandboxUrl: string }[]> {
    const records = await this.#control.list(this.#limit(call, Number.POSITIVE_INFINITY, this.#options.requestTimeoutMs));
    return records.map((record) => ({ id: record.sandboxId, status: record.status, sandboxUrl: record.sandboxUrl }));
  }

  async health(call: CallContextV1): Promise<HealthV1> {
    try {
      const status = await this.#control.health(this.#limit(call, Number.POSITIVE_INFINITY, this.#options.requestTimeoutMs));
      await this.#control.capabilities(this.#limit(call, Number.POSITIVE_INFINITY, this.#options.requestTimeoutMs));
      return { ok: true, detail: `provisioner status ${JSON.stringify(status)}; API key accepted` };
    } catch (error) {
      if (call.signal.aborted) throw error;
      return { ok: false, detail: SandboxError.isInstance(error) ? `${error.code}: ${error.message}`.slice(0, 300) : "the health check failed" };
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.#http.close(), this.#probeHttp.close()]);
  }

  [inspectSymbol](): string {
    return `ProvisionerBackend { url: ${JSON.stringify(this.url)}, apiKey: [redacted]${this.#http.closed ? ", closed: true" : ""} }`;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, url: this.url, apiKey: "[redacted]" };
  }

  /** `GET` one sandbox: its record, or `undefined` on 404. */
  async #lookup(id: string, operation: string, control: RequestControl): Promise<SandboxRecord | undefined> {
    try {
      return await this.#control.get(id, operation, control);
    } catch (error) {
      if (SandboxNotFoundError.isInstance(error)) return undefined;
      throw error;
    }
  }

  /**
   * The provisioner returned a sandbox whose pod is gone. `NotFound` also covers any error reading
   * the pod, so it is confirmed with a GET first; then DELETE, wait until GET says 404 (a pod
   * still terminating would otherwise be reused), and POST once more.
   */
  async #recreate(first: SandboxRecord, body: CreateBody, call: CallContextV1, deadline: number): Promise<SandboxRecord> {
    const id = body.sandbox_id;
    const confirm = await this.#lookup(id, "create", this.#limit(call, deadline, this.#options.requestTimeoutMs));
    if (confirm !== undefined && !DEAD_STATUSES.has(confirm.status)) return confirm;
    await this.#control.remove(id, this.#limit(call, deadline, this.#options.requestTimeoutMs));
    let delay = 100;
    while ((await this.#lookup(id, "create", this.#limit(call, deadline, this.#options.requestTimeoutMs))) !== undefined) {
      if (Date.now() + delay >= deadline) {
        throw new RequestTimeoutError(`sandbox ${id} was still known to the provisioner after it was deleted (its pod was ${first.status})`, { backend: BACKEND_NAME, operation: "create", sandboxId: id });
      }
      try {
        await sleep(delay, undefined, { signal: call.signal });
      } catch {
        throw new AbortedError(`creating sandbox ${id} was aborted`, { backend: BACKEND_NAME, operation: "create", sandboxId: id, cause: call.signal.reason });
      }
      delay = Math.min(1000, delay * 2);
    }
    const again = await this.#control.create(body, this.#limit(call, deadline, this.#options.createTimeoutMs));
    if (DEAD_STATUSES.has(again.status)) throw gone(id, again.status, "create");
    return again;
  }

  /** Builds the data plane of a sandbox and waits until it answers `GET /v1/sandbox` with 200. */
  async #connect(record: SandboxRecord, env: Readonly<Record<string, string>>, operation: string, call: CallContextV1, deadline: number, createdAt: Date | undefined): Promise<ProvisionerConnection> {
    const id = record.sandboxId;
    const api = new SandboxApi(this.#http, this.#probeHttp, this.#sandboxUrl(record, operation), id, this.#sandboxHeaders);
    const facts: SandboxFacts = await waitUntilReady((timeoutMs) => api.info(operation, { signal: call.signal, timeoutMs }), {
      deadline,
      signal: call.signal,
      sandboxId: id,
      operation,
      check: async (remainingMs) => {
        const now = await this.#lookup(id, operation, { signal: call.signal, timeoutMs: Math.min(remainingMs, this.#options.requestTimeoutMs) });
        if (now === undefined) throw gone(id, "deleted", operation);
        if (DEAD_STATUSES.has(now.status)) throw gone(id, now.status, operation);
      },
    });
    const workdir = this.#options.workdir ?? facts.workspace ?? facts.homeDir ?? "/";
    const details: Record<string, string> = { status: record.status.slice(0, 32) };
    if (facts.version !== undefined) details.version = facts.version;
    return new ProvisionerConnection({
      api,
      options: this.#options,
      env,
      info: { id, backend: BACKEND_NAME, workdir, ...(createdAt === undefined ? {} : { createdAt }), details },
      explain: (error, failedCall) => this.#explain(id, error, failedCall),
    });
  }

  /** The URL the data plane is reached at: `sandbox_url`, through the `sandboxUrl` rewrite when given. */
  #sandboxUrl(record: SandboxRecord, operation: string): string {
    const rewrite = this.#options.sandboxUrl;
    if (rewrite === undefined) return record.sandboxUrl;
    const url = rewrite(record.sandboxUrl, record.sandboxId);
    if (typeof url !== "string") throw new ValidationError("sandboxUrl must return a string", { field: "sandboxUrl", backend: BACKEND_NAME, operation, sandboxId: record.sandboxId });
    return parseBaseUrl(url, "sandboxUrl");
  }

  /**
   * A data-plane failure that may mean the pod is gone (a refused or broken connection, a
   * gateway error) is checked with the provisioner: a 404 or a dead pod becomes
   * `SandboxNotFoundError` (with the failure as `cause`); otherwise the failure is returned as is.
   */
  async #explain(id: string, error: unknown, call: CallContextV1): Promise<unknown> {
    if (!mayBeLostPod(error) || call.signal.aborted) return error;
    const remaining = call.deadline === undefined ? this.#options.requestTimeoutMs : Math.min(this.#options.requestTimeoutMs, call.deadline - Date.now());
    if (remaining <= 0) return error;
    try {
      const record = await this.#lookup(id, (error as SandboxError).operation ?? "exec", { signal: call.signal, timeoutMs: remaining });
      if (record === undefined) return gone(id, "deleted", (error as SandboxError).operation ?? "exec", error);
      if (DEAD_STATUSES.has(record.status)) return gone(id, record.status, (error as SandboxError).operation ?? "exec", error);
    } catch {
      // The provisioner cannot tell: the data-plane failure stands.
    }
    return error;
  }

  /** Deletes a sandbox after a failed create; waited for unless the call was aborted. Never throws. */
  async #discard(id: string, call: CallContextV1): Promise<void> {
    const cleanup = this.#control.remove(id, { signal: AbortSignal.timeout(CLEANUP_TIMEOUT_MS), timeoutMs: CLEANUP_TIMEOUT_MS }).then(
      () => undefined,
      () => undefined,
    );
    if (!call.signal.aborted) await cleanup;
  }

  /** A control with the call's signal and a deadline: `limitMs` within the call's and the operation's deadlines. */
  #limit(call: CallContextV1, deadline: number, limitMs: number): RequestControl {
    const end = Math.min(deadline, call.deadline ?? Number.POSITIVE_INFINITY);
    return { signal: call.signal, timeoutMs: Math.max(1, Math.min(limitMs, end - Date.now())) };
  }
}

/** The error for a sandbox whose pod is gone (or was deleted) on the provisioner. */
function gone(id: string, status: string, operation: string, cause?: unknown): SandboxNotFoundError {
  const shown = /^[A-Za-z]{1,32}$/.test(status) ? status : "unknown";
  return new SandboxNotFoundError(`sandbox ${id} is gone: the provisioner reports ${shown === "deleted" ? "no such sandbox" : `its pod as ${shown}`}`, {
    backend: BACKEND_NAME,
    operation,
    sandboxId: id,
    cause,
    suggestion: shown === "deleted" ? undefined : "The pod was evicted or deleted; destroy the sandbox and create it again.",
  });
}

/** Refuses what the provisioner cannot honour: it chooses the image and resources, and has no TTL. */
function refuseUnsupported(request: CreateRequestV1, id: string): void {
  const where = { backend: BACKEND_NAME, operation: "create", sandboxId: id };
  if (request.image !== undefined) throw new ValidationError("the provisioner chooses the sandbox image (its SANDBOX_IMAGE); image cannot be set per sandbox", { field: "image", ...where });
  if (request.ttlMs !== undefined) throw new ValidationError("provisioner sandboxes have no TTL (ttl: none); destroy them with close()", { field: "ttlMs", ...where });
  const resources = request.resources;
  if (resources !== undefined && (resources.cpus !== undefined || resources.memoryMiB !== undefined || resources.diskMiB !== undefined)) {
    throw new ValidationError("the provisioner sets pod resources itself; resources cannot be set per sandbox", { field: "resources", ...where });
  }
}

