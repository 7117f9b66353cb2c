/**
 * @sandkit/provisioner: the sandkit adapter for DeerFlow's remote provisioner (the control plane
 * that runs each sandbox as a Kubernetes pod) and the AIO sandbox HTTP API of those pods (the
 * data plane). A compatible server is at the `@sandkit/provisioner/server` subpath.
 *
 * ```ts
 * import { createSandbox } from "@sandkit/core";
 * import { provisioner } from "@sandkit/provisioner";
 *
 * await using sbx = await createSandbox({ backend: provisioner({ url: "http://provisioner:8002", apiKey: process.env.PROVISIONER_API_KEY }) });
 * const r = await sbx.exec(["python3", "-c", "print(6 * 7)"]);
 * ```
 * @packageDocumentation
 */
import type { SandboxBackendV1 } from "@sandkit/core";
import { ProvisionerBackend } from "./backend.js";
import type { ProvisionerOptions } from "./options.js";

export { ProvisionerBackend, PROVISIONER_CAPABILITIES } from "./backend.js";
export { ProvisionerConnection } from "./connection.js";
export { PROVISIONER_ENV, type ExtraMount, type ProvisionerOptions } from "./options.js";
export { SANDBOX_ID_PATTERN, deerflowSandboxId, generateSandboxId } from "./sandbox-id.js";
export { ENVELOPE_FAILURE, UNSUPPORTED_ROUTE, envelopeFailure, mapProvisionerError, mapSandboxApiError, type FileErrorType } from "./wire-errors.js";

// `createSandbox({ backend: "provisioner", ... })` takes these options wherever this package's
// types are loaded (any import of it, or `import type {} from "@sandkit/provisioner"`).
declare module "@sandkit/core" {
  interface ProvisionerBackendOptions extends ProvisionerOptions {}
}

/**
 * Creates a `provisioner` backend for `createSandbox({ backend: provisioner({ url, apiKey }) })`.
 * Options are validated at once (`ValidationError` naming the field). This factory does not read
 * the environment; `createSandbox({ backend: "provisioner" })` does (see `PROVISIONER_ENV`).
 * Close the backend with `backend.close()` when you made it yourself.
 */
export function provisioner(options: ProvisionerOptions = {}): ProvisionerBackend {
  return new ProvisionerBackend(options);
}

/**
 * What `@sandkit/core` calls for `createSandbox({ backend: "provisioner", ...options })`: the
 * options of {@link ProvisionerOptions} (others are a `ValidationError` naming the key), with
 * `PROVISIONER_URL` / `SANDKIT_URL` and `PROVISIONER_API_KEY` / `SANDKIT_API_KEY` read from `env`
 * when `url` or `apiKey` is absent.
 */
export function createBackend(options: Record<string, unknown>, env: Readonly<Record<string, string | undefined>>): SandboxBackendV1 {
  return new ProvisionerBackend((options ?? {}) as ProvisionerOptions, env ?? {});
}
