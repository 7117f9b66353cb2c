/**
 * @sandkit/noxrunner: the sandkit adapter for NoxRunner sandbox servers (the REST protocol of the
 * reference Kubernetes "sandbox manager" and of `SPECS.md`). A NoxRunner-compatible server is at
 * the `@sandkit/noxrunner/server` subpath.
 *
 * ```ts
 * import { createSandbox } from "@sandkit/core";
 *
 * await using sbx = await createSandbox({ backend: "noxrunner", url: "http://127.0.0.1:8080" });
 * const r = await sbx.exec(["python3", "-c", "print(6 * 7)"]);
 * ```
 * @packageDocumentation
 */
import type { SandboxBackendV1 } from "@sandkit/core";
import { NoxRunnerBackend } from "./backend.js";
import type { NoxRunnerOptions } from "./options.js";

export { NoxRunnerBackend, NOXRUNNER_CAPABILITIES } from "./backend.js";
export { NOXRUNNER_ENV, type NoxRunnerOptions } from "./options.js";
export { SESSION_ID_PATTERN, generateSessionId } from "./session-id.js";
export { isQuantity } from "./quantity.js";
export { mapNoxRunnerError, parseWireError, type WireError } from "./wire-errors.js";

// `createSandbox({ backend: "noxrunner", ... })` takes these options wherever this package's types
// are loaded (any import of it, or `import type {} from "@sandkit/noxrunner"`).
declare module "@sandkit/core" {
  interface NoxRunnerBackendOptions extends NoxRunnerOptions {}
}

/**
 * Creates a `noxrunner` backend for `createSandbox({ backend: noxrunner({ url }) })`.
 *
 * ```ts
 * import { createSandbox } from "@sandkit/core";
 * import { noxrunner } from "@sandkit/noxrunner";
 *
 * const backend = noxrunner({ url: "http://127.0.0.1:8080", serviceKey: process.env.NOXRUNNER_SERVICE_KEY });
 * await using sbx = await createSandbox({ backend });
 * ```
 *
 * Options are validated at once (`ValidationError` naming the field). This factory does not read
 * the environment; `createSandbox({ backend: "noxrunner" })` does (see `NOXRUNNER_ENV`). Close the
 * backend with `backend.close()` when you made it yourself.
 */
export function noxrunner(options: NoxRunnerOptions = {}): NoxRunnerBackend {
  return new NoxRunnerBackend(options);
}

/**
 * What `@sandkit/core` calls for `createSandbox({ backend: "noxrunner", ...options })`: the
 * options of {@link NoxRunnerOptions} (others are a `ValidationError` naming the key), with
 * `NOXRUNNER_URL` / `NOXRUNNER_BASE_URL` / `SANDKIT_URL` and `NOXRUNNER_SERVICE_KEY` /
 * `SANDKIT_API_KEY` read from `env` when `url` or the key is absent. `apiKey` (which core fills
 * from `SANDKIT_API_KEY`) is an alias of `serviceKey`.
 */
export function createBackend(options: Record<string, unknown>, env: Readonly<Record<string, string | undefined>>): SandboxBackendV1 {
  return new NoxRunnerBackend((options ?? {}) as NoxRunnerOptions, env ?? {});
}
