import { realpath } from "node:fs/promises";
import {
  type BackendCapabilitiesV1,
  type CallContextV1,
  type CreateRequestV1,
  type HealthV1,
  type KeepAliveResultV1,
  SandboxClosedError,
  type SandboxBackendV1,
  type SandboxConnectionV1,
  type SandboxInfoV1,
  SandboxNotFoundError,
  throwIfAborted,
} from "@sandkit/core";
import { type BubblewrapProbe, cachedProbe, findBubblewrap, probeBubblewrap, probeBubblewrapSync } from "./bubblewrap.js";
import { checkEnvironment } from "./command-env.js";
import { CODE_RUNNERS, LocalConnection } from "./local-connection.js";
import { BACKEND_NAME, invalid } from "./local-errors.js";
import { type LocalOptions, type ResolvedLocalOptions, resolveLocalOptions } from "./local-options.js";
import type { RunningProcess } from "./run-process.js";
import { checkSandboxId, generateSandboxId } from "./sandbox-id.js";
import { type SandboxLocation, type SandboxMeta, WorkspaceStore } from "./workspace-store.js";
import { WORKSPACE_MOUNT } from "./workspace-paths.js";

/** The isolation a local sandbox actually runs under. */
export type EffectiveIsolation = "none" | "bubblewrap";

/** One sandbox known to this backend instance. */
interface SandboxRecord {
  readonly id: string;
  readonly location: SandboxLocation;
  readonly workspaceDir: string;
  readonly createdAt: Date;
  readonly env: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  ttlMs: number | undefined;
  expiresAt: Date | undefined;
  readonly commands: Set<RunningProcess>;
  timer: NodeJS.Timeout | undefined;
  /** Metadata writes, chained so that they never overlap (and destroy can wait for them). */
  persisting: Promise<void>;
  /** Set once the sandbox is being destroyed (or expired): every operation then fails. */
  removal: Promise<void> | undefined;
}

/** Longest delay `setTimeout` takes; longer TTLs are re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The embedded `local` backend: each sandbox is a private directory on this machine, mounted at
 * `/workspace`, and commands are real processes.
 *
 * With `isolation: "none"` commands run **directly on this host, as the user running Node.js**:
 * the workspace is only their working directory, not a boundary. They can read and write
 * whatever this user can and reach the network. Use it for code you trust, or inside a container
 * or VM that is itself the boundary. With `"bubblewrap"` they run in Linux namespaces (read-only
 * host root, private `/tmp`, no network). `"auto"` (the default) uses bubblewrap when it works.
 */
export class LocalBackend implements SandboxBackendV1 {
  readonly specificationVersion = "v1" as const;
  readonly name: string = BACKEND_NAME;
  readonly #options: ResolvedLocalOptions;
  readonly #store: WorkspaceStore;
  readonly #records = new Map<string, SandboxRecord>();
  #isolation: Promise<{ mode: EffectiveIsolation; probe: BubblewrapProbe | undefined }> | undefined;
  #capabilities: BackendCapabilitiesV1 | undefined;
  #closed = false;

  /** Prefer the {@link local} factory. Options are validated here (`ValidationError` naming the field). */
  constructor(options: LocalOptions = {}) {
    this.#options = resolveLocalOptions(options);
    this.#store = new WorkspaceStore(this.#options.root);
  }

  /** The directory sandboxes are made in. */
  get root(): string {
    return this.#options.root;
  }

  /**
   * What this backend does. `isolation` is `"namespace"` in bubblewrap mode and `"none"`
   * otherwise; with `isolation: "auto"` reading it before any sandbox exists probes bubblewrap
   * once (synchronously).
   */
  get capabilities(): BackendCapabilitiesV1 {
    if (this.#capabilities !== undefined) return this.#capabilities;
    let mode: EffectiveIsolation;
    if (this.#options.isolation === "none") mode = "none";
    else if (this.#options.isolation === "bubblewrap") mode = "bubblewrap";
    else {
      const probe = cachedProbe(this.#options.bubblewrapPath) ?? probeBubblewrapSync(this.#options.bubblewrapPath);
      mode = probe.ok ? "bubblewrap" : "none";
    }
    const capabilities: BackendCapabilitiesV1 = Object.freeze({
      exec: Object.freeze({ stream: "live", stdin: true, env: true, cwd: true }),
      files: "native-archive",
      ttl: "keep-alive",
      metrics: true,
      codeLanguages: Object.freeze(Object.keys(CODE_RUNNERS)),
      attach: true,
      isolation: mode === "bubblewrap" ? "namespace" : "none",
    } as const);
    this.#capabilities = capabilities;
    return capabilities;
  }

  /** Makes a sandbox: a private workspace directory, and a TTL timer when a TTL is set. */
  async create(request: CreateRequestV1, call: CallContextV1): Promise<SandboxConnectionV1> {
    this.#ensureOpen("create");
    const site = { operation: "create", sandboxId: request?.id };
    throwIfAborted(call.signal, { backend: BACKEND_NAME, ...site });
    if (typeof request !== "object" || request === null) throw invalid("the create request must be an object", "request", site);
    const id = request.id === undefined ? generateSandboxId() : checkSandboxId(request.id, "create");
    const ttlMs = request.ttlMs ?? this.#options.ttlMs;
    if (ttlMs !== undefined && (typeof ttlMs !== "number" || !Number.isFinite(ttlMs) || ttlMs <= 0)) {
      throw invalid("ttlMs must be a positive number of milliseconds", "ttlMs", site);
    }
    const env = checkEnvironment(request.env, "env", site);
    const labels = checkLabels(request.labels, site);
    if (request.image !== undefined) {
      throw invalid("the local backend has no images: commands run with the programs installed on this host", "image", site);
    }
    const resources = request.resources;
    if (resources !== undefined && Object.values(resources).some((value) => value !== undefined)) {
      throw invalid("the local backend cannot enforce cpu, memory or disk limits", "resources", site);
    }
    const { mode } = await this.#resolveIsolation();
    const now = new Date();
    const meta: SandboxMeta = {
      id,
      createdAt: now.toISOString(),
      ttlMs,
      expiresAt: ttlMs === undefined ? undefined : new Date(now.getTime() + ttlMs).toISOString(),
      env: { ...env },
      labels,
    };
    const location = await this.#store.create(meta);
    let record: SandboxRecord;
    try {
      record = this.#record(meta, location, await realpath(location.workspaceDir));
      throwIfAborted(call.signal, { backend: BACKEND_NAME, ...site, sandboxId: id });
    } catch (error) {
      await this.#store.remove(location.containerDir).catch(() => undefined);
      throw error;
    }
    this.#records.set(id, record);
    this.#schedule(record);
    return this.#connect(record, mode);
  }

  /** Reattaches to a sandbox by id: one made by this instance, or by any process using the same root. */
  async attach(id: string, call: CallContextV1): Promise<SandboxConnectionV1> {
    this.#ensureOpen("attach");
    checkSandboxId(id, "attach");
    throwIfAborted(call.signal, { backend: BACKEND_NAME, operation: "attach", sandboxId: id });
    const record = await this.#load(id, "attach");
    const { mode } = await this.#resolveIsolation();
    return this.#connect(record, mode);
  }

  /**
   * Destroys a sandbox: kills its running commands and removes its directory. Idempotent: an
   * unknown id is success. Works after `close()` too.
   */
  async destroy(id: string, call: CallContextV1): Promise<void> {
    checkSandboxId(id, "destroy");
    throwIfAborted(call.signal, { backend: BACKEND_NAME, operation: "destroy", sandboxId: id });
    const record = this.#records.get(id);
    if (record !== undefined) {
      await this.#remove(record, "destroyed");
      return;
    }
    const location = await this.#store.find(id);
    if (location !== undefined) await this.#store.remove(location.containerDir);
  }

  /** `ok` when the root is usable (and bubblewrap works, if it was required); `detail` says which isolation is in force. */
  async health(call: CallContextV1): Promise<HealthV1> {
    throwIfAborted(call.signal, { backend: BACKEND_NAME, operation: "health" });
    try {
      await this.#store.ready();
    } catch (error) {
      const code = typeof error === "object" && error !== null ? String((error as { code?: unknown }).code ?? "error") : "error";
      return { ok: false, detail: `the workspace root ${this.#options.root} is not usable (${code})` };
    }
    if (this.#options.isolation === "none") {
      return { ok: true, detail: `isolation: none (commands run on this host as this user); root: ${this.#options.root}` };
    }
    const probe = await probeBubblewrap(this.#options.bubblewrapPath);
    if (probe.ok) return { ok: true, detail: `isolation: bubblewrap (${probe.path}); root: ${this.#options.root}` };
    if (this.#options.isolation === "bubblewrap") return { ok: false, detail: `isolation bubblewrap was required but ${probe.detail}` };
    return {
      ok: true,
      detail: `isolation: none (commands run on this host as this user; ${probe.detail}); root: ${this.#options.root}`,
    };
  }

  /**
   * Extends the sandbox's idle lifetime to `ttlMs` from now (default: its own TTL) and returns
   * the new expiry. A sandbox without a TTL gets one when `ttlMs` is given; otherwise nothing changes.
   */
  async keepAlive(id: string, options: { readonly ttlMs?: number | undefined }, call: CallContextV1): Promise<KeepAliveResultV1> {
    this.#ensureOpen("keepAlive");
    const site = { operation: "keepAlive", sandboxId: id };
    checkSandboxId(id, "keepAlive");
    throwIfAborted(call.signal, { backend: BACKEND_NAME, ...site });
    const ttlMs = options?.ttlMs;
    if (ttlMs !== undefined && (typeof ttlMs !== "number" || !Number.isFinite(ttlMs) || ttlMs <= 0)) {
      throw invalid("ttlMs must be a positive number of milliseconds", "ttlMs", site);
    }
    const record = await this.#load(id, "keepAlive");
    if (ttlMs !== undefined) record.ttlMs = ttlMs;
    if (record.ttlMs === undefined) return { expiresAt: undefined };
    this.#activity(record);
    await record.persisting;
    return { expiresAt: record.expiresAt };
  }

  /**
   * Stops TTL timers and kills the commands still running. Workspaces stay: they belong to their
   * sandboxes, which `destroy` removes. Idempotent; afterwards only `destroy` and `health` work.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const pending: Promise<unknown>[] = [];
    for (const record of this.#records.values()) {
      if (record.timer !== undefined) clearTimeout(record.timer);
      record.timer = undefined;
      pending.push(...this.#killCommands(record, new SandboxClosedError("the local backend was closed while the command ran", { backend: BACKEND_NAME, sandboxId: record.id })));
      pending.push(record.persisting);
    }
    await Promise.allSettled(pending);
  }

  #ensureOpen(operation: string, sandboxId?: string): void {
    if (this.#closed) throw new SandboxClosedError(`the local backend is closed; ${operation} cannot run`, { backend: BACKEND_NAME, operation, sandboxId });
  }

  async #resolveIsolation(): Promise<{ mode: EffectiveIsolation; probe: BubblewrapProbe | undefined }> {
    this.#isolation ??= (async () => {
      const wanted = this.#options.isolation;
      if (wanted === "none") return { mode: "none" as const, probe: undefined };
      const probe = await probeBubblewrap(this.#options.bubblewrapPath);
      if (probe.ok) return { mode: "bubblewrap" as const, probe };
      if (wanted === "bubblewrap") {
        throw invalid(`isolation "bubblewrap" was requested but ${probe.detail}`, "isolation", { operation: "create" });
      }
      return { mode: "none" as const, probe };
    })();
    this.#isolation.catch(() => {
      this.#isolation = undefined;
    });
    return this.#isolation;
  }

  #record(meta: SandboxMeta, location: SandboxLocation, workspaceDir: string): SandboxRecord {
    return {
      id: meta.id,
      location,
      workspaceDir,
      createdAt: new Date(meta.createdAt),
      env: meta.env,
      labels: meta.labels,
      ttlMs: meta.ttlMs,
      expiresAt: meta.expiresAt === undefined ? undefined : new Date(meta.expiresAt),
      commands: new Set(),
      timer: undefined,
      persisting: Promise.resolve(),
      removal: undefined,
    };
  }

  /** The live record of `id`, loading it from disk when another process (or instance) made it. */
  async #load(id: string, operation: string): Promise<SandboxRecord> {
    const known = this.#records.get(id);
    if (known !== undefined && known.removal === undefined) {
      await this.#ensureLive(known, operation);
      return known;
    }
    const gone = (): SandboxNotFoundError =>
      new SandboxNotFoundError(`sandbox ${JSON.stringify(id)} does not exist under ${this.#options.root}`, { backend: BACKEND_NAME, operation, sandboxId: id });
    const location = await this.#store.find(id);
    if (location === undefined) throw gone();
    const meta = await this.#store.readMeta(location.containerDir, id);
    if (meta === undefined) throw gone();
    let workspaceDir: string;
    try {
      workspaceDir = await realpath(location.workspaceDir);
    } catch {
      throw gone();
    }
    const record = this.#record({ ...meta, env: usableEnv(meta.env) }, location, workspaceDir);
    if (record.expiresAt !== undefined && record.expiresAt.getTime() <= Date.now()) {
      await this.#expire(record);
      throw gone();
    }
    this.#records.set(id, record);
    this.#schedule(record);
    return record;
  }

  #connect(record: SandboxRecord, mode: EffectiveIsolation): LocalConnection {
    return new LocalConnection({
      id: record.id,
      workspaceDir: record.workspaceDir,
      isolation: mode,
      bubblewrapPath: mode === "bubblewrap" ? findBubblewrap(this.#options.bubblewrapPath) : undefined,
      hide: [realRootOf(record)],
      inheritEnv: this.#options.inheritEnv,
      killGraceMs: this.#options.killGraceMs,
      env: record.env,
      info: (): SandboxInfoV1 => ({
        id: record.id,
        backend: BACKEND_NAME,
        workdir: WORKSPACE_MOUNT,
        createdAt: record.createdAt,
        expiresAt: record.expiresAt,
        details: { isolation: mode, workspace: record.workspaceDir },
      }),
      ensureLive: (operation) => this.#ensureLive(record, operation),
      assertLive: (operation) => {
        this.#ensureOpen(operation, record.id);
        if (record.removal !== undefined) {
          throw new SandboxNotFoundError(`sandbox ${JSON.stringify(record.id)} was destroyed or expired`, {
            backend: BACKEND_NAME,
            operation,
            sandboxId: record.id,
          });
        }
      },
      track: (command) => {
        record.commands.add(command);
        this.#activity(record);
        return () => {
          record.commands.delete(command);
          if (record.removal === undefined) this.#activity(record);
        };
      },
    });
  }

  async #ensureLive(record: SandboxRecord, operation: string): Promise<void> {
    this.#ensureOpen(operation, record.id);
    const gone = (how: string): SandboxNotFoundError =>
      new SandboxNotFoundError(`sandbox ${JSON.stringify(record.id)} ${how}`, { backend: BACKEND_NAME, operation, sandboxId: record.id });
    if (record.removal !== undefined) throw gone("was destroyed or expired");
    // The timer may not have run yet (a busy event loop): an operation past the deadline expires it.
    if (await this.#expireIfDue(record)) throw gone("expired");
    if (!(await this.#store.exists(record.location))) {
      record.removal = Promise.resolve();
      this.#forget(record);
      throw gone("was destroyed");
    }
  }

  /** Exec (start and end) and keep-alive count as activity: the idle deadline moves to now + TTL. */
  #activity(record: SandboxRecord): void {
    if (record.ttlMs === undefined || record.removal !== undefined) return;
    record.expiresAt = new Date(Date.now() + record.ttlMs);
    this.#schedule(record);
    this.#persist(record);
  }

  #persist(record: SandboxRecord): void {
    const meta: SandboxMeta = {
      id: record.id,
      createdAt: record.createdAt.toISOString(),
      ttlMs: record.ttlMs,
      expiresAt: record.expiresAt?.toISOString(),
      env: record.env,
      labels: record.labels,
    };
    record.persisting = record.persisting
      .then(() => (record.removal === undefined ? this.#store.writeMeta(record.location.containerDir, meta) : undefined))
      .catch(() => undefined);
  }

  #schedule(record: SandboxRecord): void {
    if (record.timer !== undefined) clearTimeout(record.timer);
    record.timer = undefined;
    if (record.expiresAt === undefined || record.removal !== undefined || this.#closed) return;
    const delay = Math.min(Math.max(0, record.expiresAt.getTime() - Date.now()), MAX_TIMER_MS);
    record.timer = setTimeout(() => void this.#onTimer(record).catch(() => undefined), delay);
    record.timer.unref();
  }

  async #onTimer(record: SandboxRecord): Promise<void> {
    record.timer = undefined;
    if (record.removal !== undefined || this.#closed) return;
    if (!(await this.#expireIfDue(record))) this.#schedule(record);
  }

  /**
   * Expires the sandbox when it is idle past its deadline, and says whether it did. A running
   * command is activity (the deadline moves instead), and another process with the same root may
   * have kept the sandbox alive, so the stored deadline is read before giving up on it.
   */
  async #expireIfDue(record: SandboxRecord): Promise<boolean> {
    if (record.removal !== undefined) return true;
    if (record.expiresAt === undefined || record.expiresAt.getTime() > Date.now()) return false;
    if (record.commands.size > 0) {
      this.#activity(record);
      return false;
    }
    const meta = await this.#store.readMeta(record.location.containerDir, record.id);
    if (meta?.expiresAt !== undefined && Date.parse(meta.expiresAt) > Date.now()) {
      record.expiresAt = new Date(meta.expiresAt);
      record.ttlMs = meta.ttlMs ?? record.ttlMs;
      return false;
    }
    if (record.expiresAt.getTime() > Date.now() || record.commands.size > 0) return false; // kept alive meanwhile
    await this.#expire(record);
    return true;
  }

  async #expire(record: SandboxRecord): Promise<void> {
    const first = record.removal === undefined;
    await this.#remove(record, "expired");
    if (!first) return;
    try {
      this.#options.onExpire?.(record.id);
    } catch {
      // A hook's failure must not break the timer.
    }
  }

  #remove(record: SandboxRecord, how: "destroyed" | "expired"): Promise<void> {
    record.removal ??= (async () => {
      if (record.timer !== undefined) clearTimeout(record.timer);
      record.timer = undefined;
      const error = new SandboxNotFoundError(`sandbox ${JSON.stringify(record.id)} was ${how} while the command ran`, {
        backend: BACKEND_NAME,
        operation: "exec",
        sandboxId: record.id,
      });
      await Promise.allSettled(this.#killCommands(record, error));
      await record.persisting;
      await this.#store.remove(record.location.containerDir);
      this.#forget(record);
    })();
    return record.removal;
  }

  #killCommands(record: SandboxRecord, error: unknown): Promise<unknown>[] {
    return [...record.commands].map((command) => {
      command.kill(error);
      return command.result;
    });
  }

  #forget(record: SandboxRecord): void {
    if (this.#records.get(record.id) === record) this.#records.delete(record.id);
  }
}

/** The root directory as a real path, from a record's container directory. */
function realRootOf(record: SandboxRecord): string {
  const dir = record.location.containerDir;
  return dir.slice(0, dir.lastIndexOf("/")) || "/";
}

function checkLabels(labels: unknown, site: { operation: string; sandboxId?: string | undefined }): Record<string, string> {
  if (labels === undefined) return {};
  if (typeof labels !== "object" || labels === null || Array.isArray(labels)) throw invalid("labels must be an object of strings", "labels", site);
  for (const value of Object.values(labels)) {
    if (typeof value !== "string") throw invalid("labels must be an object of strings", "labels", site);
  }
  return { ...(labels as Record<string, string>) };
}

/** Variables from stored metadata that can be passed to a process (others are dropped). */
function usableEnv(env: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([name, value]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !value.includes("\0")));
}
