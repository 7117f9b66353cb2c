/**
 * @sandkit/sandbox-api: the sandkit adapter for PremierLangage sandbox servers (3.x, the server of
 * the Python `sandbox-api` client): the protocol's own operations, typed (`SandboxApiClient`:
 * execute, specifications, usage, libraries, download, check, validate), and sandkit sessions on
 * top of them. A compatible server is at the `@sandkit/sandbox-api/server` subpath.
 *
 * ```ts
 * import { createSandbox } from "@sandkit/core";
 * import { sandboxApi } from "@sandkit/sandbox-api";
 *
 * await using sbx = await createSandbox({ backend: sandboxApi({ url: "http://127.0.0.1:7000" }) });
 * await sbx.files.write("main.py", "print(6 * 7)\n");
 * const r = await sbx.exec(["python3", "main.py"]); // "42"
 * ```
 * @packageDocumentation
 */
import type { SandboxBackendV1 } from "@sandkit/core";
import { SandboxApiBackend } from "./backend.js";
import type { SandboxApiOptions } from "./options.js";

export { SandboxApiBackend, SANDBOX_API_CAPABILITIES } from "./backend.js";
export { SandboxApiClient, checkEnvironmentId, encodeEnvironmentPath, toExecuteStatus, type CallControl, type ExecuteOptions } from "./client.js";
export { SandboxApiSession } from "./connection.js";
export { BACKEND_NAME, DEFAULT_BUDGET_MS, DEFAULT_WORKDIR, ENVIRONMENT_ID_PATTERN } from "./constants.js";
export { parseExpire } from "./expire.js";
export { SANDBOX_API_ENV, type SandboxApiOptions } from "./options.js";
export type { CheckResult, CommandItem, CommandObject, CommandRun, ExecuteConfig, ExecuteResult, ExecuteStatus, Libraries, Specifications, Usage } from "./protocol-types.js";
export { validateConfig, type ConfigCheck } from "./validate-config.js";
export { mapSandboxApiError } from "./wire-errors.js";

// `createSandbox({ backend: "sandbox-api", ... })` takes these options wherever this package's
// types are loaded (any import of it, or `import type {} from "@sandkit/sandbox-api"`).
declare module "@sandkit/core" {
  interface SandboxApiBackendOptions extends SandboxApiOptions {}
}

/**
 * Creates a `sandbox-api` backend for `createSandbox({ backend: sandboxApi({ url }) })`. Its
 * `client` is the typed protocol client. Options are validated at once (`ValidationError` naming
 * the field). This factory does not read the environment; `createSandbox({ backend: "sandbox-api" })`
 * does (see `SANDBOX_API_ENV`). Close the backend with `backend.close()` when you made it yourself.
 */
export function sandboxApi(options: SandboxApiOptions = {}): SandboxApiBackend {
  return new SandboxApiBackend(options);
}

/**
 * What `@sandkit/core` calls for `createSandbox({ backend: "sandbox-api", ...options })`: the
 * options of {@link SandboxApiOptions} (others are a `ValidationError` naming the key), with
 * `SANDBOX_API_URL` / `SANDKIT_URL` read from `env` when `url` is absent.
 */
export function createBackend(options: Record<string, unknown>, env: Readonly<Record<string, string | undefined>>): SandboxBackendV1 {
  return new SandboxApiBackend((options ?? {}) as SandboxApiOptions, env ?? {});
}
