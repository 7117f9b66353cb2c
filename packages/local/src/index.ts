/**
 * @sandkit/local: sandkit's embedded default backend. Each sandbox is a private directory on this
 * machine, mounted at `/workspace`; commands are real processes, optionally inside bubblewrap.
 *
 * With `isolation: "none"` (or `"auto"` where bubblewrap does not work) commands run **on this
 * host, as this user**: nothing but a working directory stands between them and your files and
 * network. See the README before running code you did not write.
 * @packageDocumentation
 */
import type { SandboxBackendV1 } from "@sandkit/core";
import { LocalBackend } from "./local-backend.js";
import type { LocalOptions } from "./local-options.js";
import { resolveConfiguredOptions } from "./local-options.js";

export { LocalBackend, type EffectiveIsolation } from "./local-backend.js";
export { LOCAL_ENV, DEFAULT_KILL_GRACE_MS, type LocalIsolation, type LocalOptions } from "./local-options.js";
export { SANDBOX_ID_PATTERN } from "./sandbox-id.js";
export type { LocalBackendOptions } from "@sandkit/core";

/**
 * Creates the local backend.
 *
 * ```ts
 * import { createSandbox } from "@sandkit/core";
 * import { local } from "@sandkit/local";
 *
 * await using sbx = await createSandbox({ backend: local({ isolation: "bubblewrap" }) });
 * ```
 *
 * Options are validated at once (`ValidationError` naming the field). This factory does not read
 * the environment; `createSandbox({ backend: "local" })` does (`SANDKIT_LOCAL_ROOT`,
 * `SANDKIT_LOCAL_ISOLATION`).
 */
export function local(options: LocalOptions = {}): LocalBackend {
  return new LocalBackend(options);
}

/**
 * What `@sandkit/core` calls for `createSandbox({ backend: "local", ... })` or when no backend is
 * configured. Accepts the keys of `LocalBackendOptions` only (others are a `ValidationError`
 * naming the key) and reads `SANDKIT_LOCAL_ROOT` and `SANDKIT_LOCAL_ISOLATION` from `env` when
 * the matching option is absent.
 */
export function createBackend(options: Record<string, unknown>, env: Readonly<Record<string, string | undefined>>): SandboxBackendV1 {
  return new LocalBackend(resolveConfiguredOptions(options ?? {}, env ?? {}));
}
