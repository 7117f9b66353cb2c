import type { BackendName, BackendOptionsByName, LocalBackendOptions, RemoteBackendOptions } from "./backends/backend-options.js";
import { loadBackendModule } from "./backends/load-backend.js";
import { ValidationError } from "./errors/validation-error.js";
import { checkMs, createCallContext, untilAborted } from "./internal/call-context.js";
import { Sandbox, type SandboxSettings } from "./sandbox.js";
import type { SandboxBackendV1, SandboxConnectionV1 } from "./spec/v1/backend.js";
import type { CreateRequestV1, ResourceRequestV1 } from "./spec/v1/types.js";
import { traced } from "./tracing.js";

/** Options of the sandbox itself, the same on every backend. */
export interface SandboxOptions extends Omit<SandboxSettings, "ownsBackend"> {
  /** A chosen sandbox id (validated by the backend); default: generated. */
  readonly id?: string | undefined;
  /** Reattach to this existing sandbox instead of creating one. `onClose` then defaults to `detach`. */
  readonly attach?: string | undefined;
  /** Idle lifetime in milliseconds, for backends with a TTL. */
  readonly ttlMs?: number | undefined;
  /** Image or template, for backends that have them. */
  readonly image?: string | undefined;
  /** Environment variables every command sees. */
  readonly env?: Readonly<Record<string, string>> | undefined;
  readonly resources?: ResourceRequestV1 | undefined;
  /** Labels stamped on the sandbox (ownership, reaping), where the backend stores them. */
  readonly labels?: Readonly<Record<string, string>> | undefined;
  /** Deadline for creating (or attaching) the sandbox, in milliseconds. Default: none. */
  readonly timeoutMs?: number | undefined;
  /** Aborts the creation; a sandbox created meanwhile is destroyed. */
  readonly signal?: AbortSignal | undefined;
}

/** A backend chosen by name, with that backend's options alongside. */
export type NamedBackendConfig = {
  [N in BackendName]: { readonly backend: N } & BackendOptionsByName[N];
}[BackendName];

/**
 * The configuration of `createSandbox`: sandbox options plus a backend, given as
 * - nothing: `SANDKIT_BACKEND` (and the other variables) decide, else `local`;
 * - a name: `{ backend: "noxrunner", url }`, loading `@sandkit/noxrunner`;
 * - an instance: `{ backend: noxrunner({ url }) }` or any `SandboxBackendV1`.
 */
export type SandboxConfig = SandboxOptions &
  (
    | ({ readonly backend?: undefined } & LocalBackendOptions & RemoteBackendOptions)
    | NamedBackendConfig
    | { readonly backend: SandboxBackendV1 }
  );

/** The keys of `SandboxConfig` that belong to the sandbox; every other key goes to the backend. */
const SANDBOX_OPTION_KEYS = new Set<string>([
  "backend",
  "id",
  "attach",
  "ttlMs",
  "image",
  "env",
  "resources",
  "labels",
  "timeoutMs",
  "signal",
  "execTimeoutMs",
  "execGraceMs",
  "maxOutputBytes",
  "disposeTimeoutMs",
  "onClose",
  "onDisposeError",
] satisfies (keyof SandboxOptions | "backend")[]);

/** The environment variables `createSandbox` reads when no backend is given. */
export const SANDKIT_ENV = {
  /** Backend name, e.g. `noxrunner`. Default `local`. */
  backend: "SANDKIT_BACKEND",
  /** Base URL of a remote backend. */
  url: "SANDKIT_URL",
  /** Credential of a remote backend. */
  apiKey: "SANDKIT_API_KEY",
} as const;

/**
 * Creates a backend from a name and its options, the way `createSandbox` does. The caller owns
 * the backend and closes it with `backend.close()`.
 */
export async function createBackend<N extends BackendName>(
  name: N,
  options: BackendOptionsByName[N] = {} as BackendOptionsByName[N],
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<SandboxBackendV1> {
  const module = await loadBackendModule(name);
  return module.createBackend({ ...options } as Record<string, unknown>, env);
}

/**
 * Creates (or attaches to) a sandbox and returns it started. Hold it in `await using` so that it
 * is destroyed whatever happens:
 *
 * ```ts
 * await using sbx = await createSandbox();                       // local, or SANDKIT_BACKEND
 * await using sbx = await createSandbox({ backend: "noxrunner", url: "http://127.0.0.1:8080" });
 * await using sbx = await createSandbox({ backend: local({ isolation: "bubblewrap" }) });
 * ```
 *
 * If creation fails part-way, or its deadline passes, whatever was created is destroyed.
 */
export async function createSandbox(config: SandboxConfig = {}, env: Readonly<Record<string, string | undefined>> = process.env): Promise<Sandbox> {
  const { sandboxOptions, backendOptions } = splitConfig(config);
  let backend: SandboxBackendV1;
  let ownsBackend: boolean;
  if (typeof config.backend === "object" && config.backend !== null) {
    backend = config.backend;
    ownsBackend = false;
    if (backend.specificationVersion !== "v1") {
      throw new ValidationError(`backend speaks specification ${String(backend.specificationVersion)}; this @sandkit/core speaks v1`, {
        field: "backend",
      });
    }
  } else {
    const name = config.backend ?? env[SANDKIT_ENV.backend] ?? "local";
    if (config.backend === undefined) {
      backendOptions.url ??= env[SANDKIT_ENV.url];
      backendOptions.apiKey ??= env[SANDKIT_ENV.apiKey];
      for (const key of ["url", "apiKey"] as const) if (backendOptions[key] === undefined) delete backendOptions[key];
      if (name === "local") {
        delete backendOptions.url;
        delete backendOptions.apiKey;
      }
    }
    const module = await loadBackendModule(name);
    backend = module.createBackend(backendOptions, env);
    ownsBackend = true;
  }
  const cleanups: Promise<void>[] = [];
  try {
    const connection = await open(backend, sandboxOptions, cleanups);
    const settings: SandboxSettings = {
      execTimeoutMs: sandboxOptions.execTimeoutMs,
      execGraceMs: sandboxOptions.execGraceMs,
      maxOutputBytes: sandboxOptions.maxOutputBytes,
      disposeTimeoutMs: sandboxOptions.disposeTimeoutMs,
      onClose: sandboxOptions.onClose ?? (sandboxOptions.attach === undefined ? "destroy" : "detach"),
      onDisposeError: sandboxOptions.onDisposeError,
      ownsBackend,
    };
    try {
      return new Sandbox(backend, connection, settings);
    } catch (error) {
      // The settings were refused after the sandbox was made: do not leak it.
      if (sandboxOptions.attach === undefined) cleanups.push(discard(backend, connection));
      else cleanups.push(connection.release?.().catch(() => undefined) ?? Promise.resolve());
      throw error;
    }
  } catch (error) {
    if (ownsBackend) {
      // Close the backend only once a sandbox still being created has been destroyed through it.
      if (cleanups.length === 0) await backend.close().catch(() => undefined);
      else void settleWithin(Promise.allSettled(cleanups), DISCARD_TIMEOUT_MS).then(() => backend.close().catch(() => undefined));
    }
    throw error;
  }
}

/** How long a sandbox created after its caller gave up may take to be destroyed. */
const DISCARD_TIMEOUT_MS = 30_000;

/** Waits for `promise`, but no longer than `ms`. */
function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref?.();
    promise.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        resolve();
      },
    );
  });
}

async function open(backend: SandboxBackendV1, options: SandboxOptions, cleanups: Promise<void>[]): Promise<SandboxConnectionV1> {
  const attaching = options.attach !== undefined;
  const operation = attaching ? "attach" : "create";
  const call = createCallContext({ signal: options.signal, timeoutMs: checkMs(options.timeoutMs, "timeoutMs") });
  const where = { backend: backend.name, operation, sandboxId: options.attach ?? options.id };
  const request: CreateRequestV1 = {
    id: options.id,
    ttlMs: checkMs(options.ttlMs, "ttlMs"),
    image: options.image,
    env: options.env,
    resources: options.resources,
    labels: options.labels,
  };
  const pending = attaching ? backend.attach(options.attach!, call) : backend.create(request, call);
  try {
    return await traced(attaching ? "sandkit:attach" : "sandkit:create", { ...where, operation }, () => untilAborted(pending, call.signal));
  } catch (error) {
    // The backend may still finish creating after we gave up: destroy what it makes.
    if (!attaching) {
      cleanups.push(
        pending.then(
          (connection) => discard(backend, connection),
          () => undefined,
        ),
      );
    }
    throw call.fail(error, where);
  } finally {
    call.dispose();
  }
}

async function discard(backend: SandboxBackendV1, connection: SandboxConnectionV1): Promise<void> {
  const call = createCallContext({ timeoutMs: 30_000 });
  try {
    await backend.destroy(connection.info.id, call);
  } catch {
    // Best effort: the create had already failed for the caller.
  } finally {
    call.dispose();
    await connection.release?.().catch(() => undefined);
  }
}

function splitConfig(config: SandboxConfig): { sandboxOptions: SandboxOptions; backendOptions: Record<string, unknown> & { url?: unknown; apiKey?: unknown } } {
  if (typeof config !== "object" || config === null) {
    throw new ValidationError("createSandbox takes a configuration object", { field: "config" });
  }
  const sandboxOptions: Record<string, unknown> = {};
  const backendOptions: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (SANDBOX_OPTION_KEYS.has(key)) sandboxOptions[key] = value;
    else if (value !== undefined) backendOptions[key] = value;
  }
  if (typeof config.backend === "object" && config.backend !== null && Object.keys(backendOptions).length > 0) {
    throw new ValidationError(
      `options ${Object.keys(backendOptions).join(", ")} belong to the backend's factory when a backend instance is given`,
      { field: "backend" },
    );
  }
  return { sandboxOptions: sandboxOptions as SandboxOptions, backendOptions };
}

