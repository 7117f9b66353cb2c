import { SandboxError, type SandboxBackendV1, type SandboxConnectionV1 } from "@sandkit/core";
import { DataPlane } from "./data-plane.js";
import type { ResolvedProvisionerOptions } from "./options.js";

/** How long destroying one backend sandbox may take before the server gives up on it. */
const DESTROY_TIMEOUT_MS = 60_000;

/** A pod phase as the provisioner reports it, or its own `NotFound`. */
export type PodStatus = "Pending" | "Running" | "Failed" | "NotFound";

/**
 * One sandbox as the provisioner sees it: the "Service" (the id and its `sandbox_url`, kept until
 * `DELETE`) and the "Pod" (the backend sandbox and its data plane, which can go away by itself).
 */
export class Pod {
  readonly id: string;
  readonly url: string;
  readonly connection: SandboxConnectionV1;
  readonly dataPlane: DataPlane;
  /** Set when the pod is gone behind the Service's back (`NotFound` until `DELETE`). */
  lost = false;

  constructor(id: string, connection: SandboxConnectionV1, dataPlane: DataPlane) {
    this.id = id;
    this.url = dataPlane.url;
    this.connection = connection;
    this.dataPlane = dataPlane;
  }

  /**
   * `Pending` until the data plane listens, then `Running`; `Failed` when it could not listen
   * again on its port after the ready delay; `NotFound` once lost.
   */
  get status(): PodStatus {
    if (this.lost) return "NotFound";
    if (this.dataPlane.failed) return "Failed";
    return this.dataPlane.ready ? "Running" : "Pending";
  }
}

/** Thrown by {@link PodRegistry.ensure} once the registry is closing. */
export class RegistryClosedError extends Error {
  constructor() {
    super("the server is closing");
    this.name = "RegistryClosedError";
  }
}

/**
 * The sandboxes of one server: create-once per id however many requests race, sticky `NotFound`
 * for lost pods, and destruction of everything on close.
 */
export class PodRegistry {
  readonly #backend: SandboxBackendV1;
  readonly #options: ResolvedProvisionerOptions;
  readonly #pods = new Map<string, Pod>();
  readonly #creating = new Map<string, Promise<Pod>>();
  readonly #removing = new Map<string, Promise<void>>();
  readonly #lifetime = new AbortController();
  #closed = false;

  constructor(backend: SandboxBackendV1, options: ResolvedProvisionerOptions) {
    this.#backend = backend;
    this.#options = options;
  }

  /** The sandbox of `id` (lost ones included), if its "Service" exists. */
  find(id: string): Pod | undefined {
    return this.#pods.get(id);
  }

  /** Every sandbox whose "Service" exists, in creation order. */
  list(): Pod[] {
    return [...this.#pods.values()];
  }

  /**
   * The sandbox of `id`, created when it does not exist (create-is-ensure). An existing one,
   * lost or not, is returned as it is: a lost pod is not re-created until `DELETE` (§1.7).
   */
  async ensure(id: string): Promise<{ readonly pod: Pod; readonly created: boolean }> {
    for (;;) {
      if (this.#closed) throw new RegistryClosedError();
      const removing = this.#removing.get(id);
      if (removing !== undefined) {
        await removing;
        continue;
      }
      const existing = this.#pods.get(id);
      if (existing !== undefined) return { pod: existing, created: false };
      const pending = this.#creating.get(id);
      if (pending !== undefined) return { pod: await pending, created: false };
      const creation = this.#create(id);
      this.#creating.set(id, creation);
      try {
        return { pod: await creation, created: true };
      } finally {
        this.#creating.delete(id);
      }
    }
  }

  async #create(id: string): Promise<Pod> {
    const connection = await this.#backend.create({ labels: { "sandkit-provisioner-sandbox-id": id } }, { signal: this.#lifetime.signal });
    let dataPlane: DataPlane;
    try {
      dataPlane = await DataPlane.start(id, connection, this.#options);
    } catch (error) {
      await this.#destroyBackend(connection);
      throw error;
    }
    const pod = new Pod(id, connection, dataPlane);
    if (this.#closed) {
      await this.#teardown(pod);
      throw new RegistryClosedError();
    }
    this.#pods.set(id, pod);
    return pod;
  }

  /**
   * Deletes the "Service" and the "Pod" of `id`. Missing is success. Resolves once both are gone.
   * When the backend fails to destroy the sandbox, the entry stays (lost, data plane closed) so
   * that a repeated `DELETE` can finish the job, and this rejects with {@link PartialCleanupError}.
   */
  async remove(id: string): Promise<void> {
    const creating = this.#creating.get(id);
    if (creating !== undefined) await creating.catch(() => undefined);
    const running = this.#removing.get(id);
    if (running !== undefined) return running;
    const pod = this.#pods.get(id);
    if (pod === undefined) return;
    const removal = (async () => {
      try {
        pod.lost = true;
        await this.#teardown(pod, true);
        this.#pods.delete(id);
      } finally {
        this.#removing.delete(id);
      }
    })();
    this.#removing.set(id, removal);
    return removal;
  }

  /** Test hook: the pod of `id` goes away, its "Service" stays (`NotFound`). `false` when unknown. */
  async lose(id: string): Promise<boolean> {
    const pod = this.#pods.get(id);
    if (pod === undefined || this.#removing.has(id)) return false;
    if (pod.lost) return true;
    pod.lost = true;
    await this.#teardown(pod);
    return true;
  }

  /** Destroys every sandbox; later `ensure` calls fail. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#lifetime.abort(new RegistryClosedError());
    await Promise.allSettled([...this.#creating.values()]);
    await Promise.allSettled([...this.#pods.keys()].map((id) => this.remove(id)));
  }

  async #teardown(pod: Pod, strict = false): Promise<void> {
    await pod.dataPlane.close();
    await this.#destroyBackend(pod.connection, strict);
  }

  /** Destroys a backend sandbox; failures are logged, and with `strict` thrown as {@link PartialCleanupError}. */
  async #destroyBackend(connection: SandboxConnectionV1, strict = false): Promise<void> {
    try {
      await this.#backend.destroy(connection.info.id, { signal: AbortSignal.timeout(DESTROY_TIMEOUT_MS) });
    } catch (error) {
      const reason = SandboxError.isInstance(error) ? error.code : error instanceof Error ? error.name : "error";
      this.#options.logger.error?.("destroying a sandbox failed", { sandbox: connection.info.id, reason });
      if (strict) throw new PartialCleanupError(reason, { cause: error });
      return;
    }
    await connection.release?.().catch(() => undefined);
  }
}

/** The backend could not destroy a sandbox; `reason` is the error's code (safe to show). */
export class PartialCleanupError extends Error {
  readonly reason: string;

  constructor(reason: string, options: { readonly cause?: unknown } = {}) {
    super(`destroying the sandbox failed (${reason})`, options);
    this.name = "PartialCleanupError";
    this.reason = reason;
  }
}
