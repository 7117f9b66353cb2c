/**
 * @sandkit/sandbox-api/server: a server compatible with the PremierLangage sandbox 3.x (the
 * server of the `sandbox-api` Python client) over any sandkit backend, the local one by default.
 * See docs/server.md.
 * @packageDocumentation
 */
export { createSandboxApiServer, type SandboxApiServer } from "./create-server.js";
export type { SandboxApiServerLogger, SandboxApiServerOptions } from "./options.js";
export { UUID_PATTERN } from "./routes.js";
export type { ExecuteResponseBody } from "./handle-execute.js";
export type { ExecutionEntry } from "./run-chain.js";
export { SANDBOX_VERSION, type LibrariesBody, type SpecificationsBody, type UsagesBody } from "./handle-describe.js";
