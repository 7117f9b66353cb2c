import type { SandboxBackendV1 } from "../spec/v1/backend.js";

/**
 * What an adapter package exports so that core can load it by name: a `createBackend` that takes
 * the backend's options (everything in the sandbox config that is not a sandbox option) and the
 * environment to read defaults from.
 */
export interface BackendModule {
  createBackend(options: Record<string, unknown>, env: Readonly<Record<string, string | undefined>>): SandboxBackendV1;
}

/** Whether a loaded module looks like a {@link BackendModule}. */
export function isBackendModule(value: unknown): value is BackendModule {
  return typeof value === "object" && value !== null && typeof (value as { createBackend?: unknown }).createBackend === "function";
}
