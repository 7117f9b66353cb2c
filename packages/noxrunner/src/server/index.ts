/**
 * @sandkit/noxrunner/server: a NoxRunner-compatible REST server over any sandkit backend (the
 * local one by default), for developing and testing against the NoxRunner protocol on a laptop.
 * See docs/server.md.
 * @packageDocumentation
 */
export { createNoxRunnerServer, type NoxRunnerServer } from "./create-server.js";
export type { NoxRunnerServerLogger, NoxRunnerServerOptions, ServiceKeyOption } from "./options.js";
export { ERROR_CODES, type ErrorCode } from "./http-error.js";
export { SESSION_ID_PATTERN } from "./routes.js";
export { ENV_KEY_PATTERN } from "./request-bodies.js";
export type { CreateResponseBody } from "./handle-lifecycle.js";
export type { ExecResponseBody } from "./handle-exec.js";
export type { ReadyBody } from "./handle-ops.js";
