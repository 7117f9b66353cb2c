import type { CallContextV1 } from "./call-context.js";
import type { BackendCapabilitiesV1 } from "./capabilities.js";
import type { SandboxFilesV1 } from "./files.js";
import type {
  CreateRequestV1,
  ExecRequestV1,
  ExecResultV1,
  HealthV1,
  KeepAliveResultV1,
  MetricsV1,
  RunCodeRequestV1,
  SandboxInfoV1,
} from "./types.js";

/**
 * The data plane of one sandbox: what runs code and moves files. Returned by `create` and
 * `attach`. Kept apart from the lifecycle because some protocols serve it from another server
 * (the provisioner hands out a per-sandbox URL).
 */
export interface SandboxConnectionV1 {
  readonly info: SandboxInfoV1;
  /** Runs a command. Must not throw for a non-zero exit or a command timeout. */
  exec(request: ExecRequestV1, call: CallContextV1): Promise<ExecResultV1>;
  /** Native file operations, when the backend has them (see `capabilities.files`). */
  readonly files?: SandboxFilesV1 | undefined;
  /** Runs code in a language runtime, when `capabilities.codeLanguages` is not empty. */
  runCode?(request: RunCodeRequestV1, call: CallContextV1): Promise<ExecResultV1>;
  /** Resource usage, when `capabilities.metrics`. */
  metrics?(call: CallContextV1): Promise<MetricsV1>;
  /** Frees what this connection holds on the client (pools, sockets). Does not destroy the sandbox. */
  release?(): Promise<void>;
}

/**
 * The contract every backend implements, version 1. Adapters implement it; users hold a
 * `Sandbox` built on it by `createSandbox`.
 *
 * Rules: every method honours `call.signal`; errors are `SandboxError` subclasses chosen by what
 * happened; `destroy` of a missing sandbox succeeds; nothing here throws for a non-zero exit.
 */
export interface SandboxBackendV1 {
  readonly specificationVersion: "v1";
  /** The backend's name, e.g. `"local"`. */
  readonly name: string;
  readonly capabilities: BackendCapabilitiesV1;
  /** Creates a sandbox and returns its data plane once it is ready to run commands. */
  create(request: CreateRequestV1, call: CallContextV1): Promise<SandboxConnectionV1>;
  /** Reconnects to an existing sandbox by id. Throws `SandboxNotFoundError` when it is gone. */
  attach(id: string, call: CallContextV1): Promise<SandboxConnectionV1>;
  /** Destroys a sandbox. Idempotent: a sandbox that is already gone is success. */
  destroy(id: string, call: CallContextV1): Promise<void>;
  /** Whether the backend answers. Never throws for an unhealthy backend; returns `ok: false`. */
  health(call: CallContextV1): Promise<HealthV1>;
  /** Extends a sandbox's idle lifetime (`capabilities.ttl === "keep-alive"`). */
  keepAlive?(id: string, options: { readonly ttlMs?: number | undefined }, call: CallContextV1): Promise<KeepAliveResultV1>;
  /** Frees client-side resources (connection pools). Idempotent. Sandboxes are not destroyed. */
  close(): Promise<void>;
}
