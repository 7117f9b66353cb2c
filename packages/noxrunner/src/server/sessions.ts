import { createCallContext, type CreateRequestV1, type SandboxBackendV1, type SandboxConnectionV1 } from "@sandkit/core";
import type { NoxRunnerServerLogger } from "./options.js";
import { podNameOf } from "./wire-format.js";

/** Longest delay `setTimeout` takes; longer TTLs are re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** How long destroying one sandbox may take before the server gives up on it. */
const DESTROY_TIMEOUT_MS = 60_000;

/** One NoxRunner session: the backend sandbox it maps to, and its TTL. */
export class Session {
  readonly id: string;
  readonly podName: string;
  readonly ttlMs: number;
  readonly connection: SandboxConnectionV1;
  /** Epoch milliseconds; moved by touch, exec and download. */
  expiresAt: number;
  /** Requests using the sandbox right now; it does not expire while one runs. */
  busy = 0;
  timer: NodeJS.Timeout | undefined;
  /** Set while the sandbox is being destroyed; the session is then gone for every request. */
  removal: Promise<void> | undefined;

  constructor(id: string, ttlMs: number, connection: SandboxConnectionV1, now: number) {
    this.id = id;
    this.podName = podNameOf(id);
    this.ttlMs = ttlMs;
    this.connection = connection;
    this.expiresAt = now + ttlMs;
  }

  /** The backend's id of the sandbox. */
  get backendId(): string {
    return this.connection.info.id;
  }

  /** The backend's workspace directory, where NoxRunner's `/workspace` is mapped. */
  get workdir(): string {
    return this.connection.info.workdir;
  }
}

/** Thrown by {@link SessionRegistry.use} when the session went away before the request could use it. */
export class SessionGoneError extends Error {
  constructor(readonly sessionId: string) {
    super(`session ${JSON.stringify(sessionId)} is gone`);
    this.name = "SessionGoneError";
  }
}

/**
 * The sessions of one server: session id to backend sandbox, creation that happens once per id
 * however many requests race for it, TTL timers that destroy idle sandboxes through the backend,
 * and destruction of everything on close.
 */
export class SessionRegistry {
  readonly #backend: SandboxBackendV1;
  readonly #logger: NoxRunnerServerLogger;
  readonly #sessions = new Map<string, Session>();
  readonly #creating = new Map<string, Promise<Session>>();
  readonly #lifetime = new AbortController();
  #closed = false;

  constructor(backend: SandboxBackendV1, logger: NoxRunnerServerLogger) {
    this.#backend = backend;
    this.#logger = logger;
  }

  /** Aborts when the registry closes: backend calls made for requests listen to it. */
  get signal(): AbortSignal {
    return this.#lifetime.signal;
  }

  /** How many sessions exist (being destroyed included). */
  get size(): number {
    return this.#sessions.size;
  }

  /** The live session of `id`, if any (one being destroyed counts as gone). */
  find(id: string): Session | undefined {
    const session = this.#sessions.get(id);
    return session === undefined || session.removal !== undefined ? undefined : session;
  }

  /**
   * The session of `id`, created with `request` and `ttlMs` when it does not exist. An existing
   * session is returned unchanged: its TTL and expiry are not touched (the reference server's
   * ensure semantics). Concurrent calls for one id create one sandbox.
   */
  async ensure(id: string, request: CreateRequestV1, ttlMs: number): Promise<{ readonly session: Session; readonly created: boolean }> {
    for (;;) {
      if (this.#closed) throw new RegistryClosedError();
      const existing = this.#sessions.get(id);
      if (existing !== undefined) {
        if (existing.removal === undefined) return { session: existing, created: false };
        await existing.removal.catch(() => undefined);
        // A failed destroy leaves the session in place with `removal` cleared: loop to see which.
        continue;
      }
      const pending = this.#creating.get(id);
      if (pending !== undefined) {
        const session = await pending;
        return { session, created: false };
      }
      const creation = this.#create(id, request, ttlMs);
      this.#creating.set(id, creation);
      try {
        return { session: await creation, created: true };
      } finally {
        this.#creating.delete(id);
      }
    }
  }

  /** Moves the expiry to now + the session's TTL (touch, exec, download). */
  refresh(session: Session): void {
    if (session.removal !== undefined) return;
    session.expiresAt = Date.now() + session.ttlMs;
    this.#schedule(session);
  }

  /**
   * Runs `work` while marking the session busy, so that it does not expire meanwhile; a session
   * that passed its expiry while busy expires when the last request using it ends.
   */
  async use<T>(session: Session, work: () => Promise<T>): Promise<T> {
    if (session.removal !== undefined || this.#closed) throw new SessionGoneError(session.id);
    session.busy += 1;
    try {
      return await work();
    } finally {
      session.busy -= 1;
      if (session.busy === 0 && session.removal === undefined && session.expiresAt <= Date.now()) this.#expire(session);
    }
  }

  /**
   * Destroys the sandbox of `id` through the backend (waiting for a creation in flight first).
   * An unknown id is success. A failed destroy keeps the session, so it can be retried.
   */
  async remove(id: string): Promise<void> {
    await this.#creating.get(id)?.catch(() => undefined);
    const session = this.#sessions.get(id);
    if (session !== undefined) await this.#destroy(session);
  }

  /** Drops a session whose sandbox the backend no longer has (it answered "not found"). */
  forget(session: Session): void {
    if (this.#sessions.get(session.id) !== session) return;
    if (session.timer !== undefined) clearTimeout(session.timer);
    session.removal ??= Promise.resolve();
    this.#sessions.delete(session.id);
    void session.connection.release?.().catch(() => undefined);
  }

  /**
   * Stops creating, aborts backend calls in flight, and destroys every sandbox this registry
   * made. Failures are logged, not thrown. Idempotent.
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#lifetime.abort(new RegistryClosedError());
    }
    await Promise.allSettled([...this.#creating.values()]);
    await Promise.allSettled([...this.#sessions.values()].map((session) => this.#destroy(session)));
  }

  async #create(id: string, request: CreateRequestV1, ttlMs: number): Promise<Session> {
    const call = createCallContext({ owner: this.#lifetime.signal });
    let connection: SandboxConnectionV1;
    try {
      connection = await this.#backend.create(request, call);
    } finally {
      call.dispose();
    }
    const session = new Session(id, ttlMs, connection, Date.now());
    if (this.#closed) {
      // Closed while the backend was creating: do not leak the sandbox.
      await this.#destroyOnBackend(session).catch(() => undefined);
      await connection.release?.().catch(() => undefined);
      throw new RegistryClosedError();
    }
    this.#sessions.set(id, session);
    this.#schedule(session);
    return session;
  }

  #schedule(session: Session): void {
    if (session.timer !== undefined) clearTimeout(session.timer);
    session.timer = undefined;
    if (session.removal !== undefined || this.#closed) return;
    const delay = Math.min(Math.max(0, session.expiresAt - Date.now()), MAX_TIMER_MS);
    session.timer = setTimeout(() => this.#onTimer(session), delay);
    session.timer.unref();
  }

  #onTimer(session: Session): void {
    session.timer = undefined;
    if (session.removal !== undefined || this.#closed) return;
    if (session.expiresAt > Date.now()) {
      this.#schedule(session);
      return;
    }
    // A busy session expires when its last request ends (see `use`).
    if (session.busy === 0) this.#expire(session);
  }

  #expire(session: Session): void {
    this.#logger.info?.("sandbox expired", { sessionId: session.id, podName: session.podName });
    this.#destroy(session).catch((error: unknown) => {
      this.#logger.error?.("destroying an expired sandbox failed", { sessionId: session.id, error: describe(error) });
    });
  }

  #destroy(session: Session): Promise<void> {
    if (session.removal !== undefined) return session.removal;
    if (session.timer !== undefined) clearTimeout(session.timer);
    session.timer = undefined;
    const removal = (async () => {
      try {
        await this.#destroyOnBackend(session);
      } catch (error) {
        // Keep the session so that a later DELETE (or close) tries again.
        session.removal = undefined;
        if (!this.#closed) this.#schedule(session);
        throw error;
      }
      if (this.#sessions.get(session.id) === session) this.#sessions.delete(session.id);
      await session.connection.release?.().catch(() => undefined);
    })();
    session.removal = removal;
    return removal;
  }

  async #destroyOnBackend(session: Session): Promise<void> {
    // Not tied to the lifetime signal: close() destroys after aborting everything else.
    const call = createCallContext({ timeoutMs: DESTROY_TIMEOUT_MS });
    try {
      await this.#backend.destroy(session.backendId, call);
    } finally {
      call.dispose();
    }
  }
}

/** The registry was closed (the server is shutting down). */
export class RegistryClosedError extends Error {
  constructor() {
    super("the server is shutting down");
    this.name = "RegistryClosedError";
  }
}

/** A short, safe description of an error for logs. */
export function describe(error: unknown): Record<string, unknown> | string {
  if (typeof error === "object" && error !== null && typeof (error as { toJSON?: unknown }).toJSON === "function") {
    return (error as { toJSON(): Record<string, unknown> }).toJSON();
  }
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
