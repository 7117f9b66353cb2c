/**
 * @sandkit/core: the backend contract, the typed errors and the user API of sandkit.
 * @packageDocumentation
 */
export * from "./spec/v1/index.js";
export * from "./errors/index.js";
export { createSandbox, createBackend, SANDKIT_ENV, type SandboxConfig, type SandboxOptions, type NamedBackendConfig } from "./create-sandbox.js";
export { Sandbox, type SandboxSettings } from "./sandbox.js";
export { SandboxFiles } from "./files/sandbox-files.js";
export type { ReadOptions, RemoveOptions, TransferOptions, TransferResult, WriteOptions } from "./files/files-types.js";
export type { CallOptions, ExecOptions, ExecResult, RunCodeOptions } from "./exec-types.js";
export type {
  BackendName,
  BackendOptionsByName,
  LocalBackendOptions,
  MicrosandboxBackendOptions,
  NoxRunnerBackendOptions,
  ProvisionerBackendOptions,
  RemoteBackendOptions,
  SandboxApiBackendOptions,
} from "./backends/backend-options.js";
export type { BackendModule } from "./backends/backend-module.js";
export { KNOWN_BACKENDS, KNOWN_BACKEND_NAMES } from "./backends/known-backends.js";
export { adapterOptionChecks, firstEnv, type AdapterOptionChecks, type OptionCheck } from "./backends/adapter-options.js";
export { Secret } from "./secret.js";
export { redactSecrets } from "./internal/redact.js";
export { createCallContext, throwIfAborted, type OwnedCallContext } from "./internal/call-context.js";
export { resolveSandboxPath, isWithin } from "./paths.js";
export { TRACE_CHANNELS, type TraceChannelName, type TraceContext } from "./tracing.js";
export * from "./transport/index.js";
export * from "./archive/index.js";
