/**
 * @sandkit/microsandbox: the sandkit adapter for the legacy microsandbox JSON-RPC server (msb
 * server 0.2.x, removed upstream in 0.6). A compatible server is at the
 * `@sandkit/microsandbox/server` subpath.
 *
 * ```ts
 * import { createSandbox } from "@sandkit/core";
 * import { microsandbox } from "@sandkit/microsandbox";
 *
 * await using sbx = await createSandbox({ backend: microsandbox({ url: "http://127.0.0.1:5555" }) });
 * await sbx.runCode("x = 41", { language: "python" });
 * const r = await sbx.runCode("print(x + 1)", { language: "python" }); // "42": the REPL keeps state
 * ```
 * @packageDocumentation
 */
import type { SandboxBackendV1 } from "@sandkit/core";
import { MicrosandboxBackend } from "./backend.js";
import type { MicrosandboxOptions } from "./options.js";

export { MicrosandboxBackend, generateSandboxName, microsandboxCapabilities, startOutcome, type StartOutcome } from "./backend.js";
export { MicrosandboxConnection, toMetrics } from "./connection.js";
export { MICROSANDBOX_ENV, type MicrosandboxLanguage, type MicrosandboxOptions } from "./options.js";
export { APP_CODES, RPC_CODES, mapMicrosandboxError, parseWireError, type WireError } from "./wire-errors.js";

// `createSandbox({ backend: "microsandbox", ... })` takes these options wherever this package's
// types are loaded (any import of it, or `import type {} from "@sandkit/microsandbox"`).
declare module "@sandkit/core" {
  interface MicrosandboxBackendOptions extends MicrosandboxOptions {}
}

/**
 * Creates a `microsandbox` backend for `createSandbox({ backend: microsandbox({ url, apiKey }) })`.
 * Options are validated at once (`ValidationError` naming the field). This factory does not read
 * the environment; `createSandbox({ backend: "microsandbox" })` does (see `MICROSANDBOX_ENV`).
 * Close the backend with `backend.close()` when you made it yourself.
 */
export function microsandbox(options: MicrosandboxOptions = {}): MicrosandboxBackend {
  return new MicrosandboxBackend(options);
}

/**
 * What `@sandkit/core` calls for `createSandbox({ backend: "microsandbox", ...options })`: the
 * options of {@link MicrosandboxOptions} (others are a `ValidationError` naming the key), with
 * `MSB_SERVER_URL` / `SANDKIT_URL` and `MSB_API_KEY` / `SANDKIT_API_KEY` read from `env` when `url`
 * or `apiKey` is absent.
 */
export function createBackend(options: Record<string, unknown>, env: Readonly<Record<string, string | undefined>>): SandboxBackendV1 {
  return new MicrosandboxBackend((options ?? {}) as MicrosandboxOptions, env ?? {});
}
