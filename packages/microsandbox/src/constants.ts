/** The backend's name, on errors, diagnostics and `SandboxInfoV1.backend`. */
export const BACKEND_NAME = "microsandbox";

/** Upstream's default server URL (`msb server start` listens on 127.0.0.1:5555). */
export const DEFAULT_URL = "http://127.0.0.1:5555";

/** Upstream's default namespace. */
export const DEFAULT_NAMESPACE = "default";

/** Upstream's default memory of a new sandbox, in MiB. */
export const DEFAULT_MEMORY_MIB = 512;

/** Upstream's default vCPU count of a new sandbox. */
export const DEFAULT_CPUS = 1;

/**
 * How long `create` may take in all by default, in milliseconds: upstream Python's 180 s start
 * budget plus its 30 s of slack. The image pull happens inside `sandbox.start`.
 */
export const DEFAULT_START_TIMEOUT_MS = 210_000;

/** The time limit sent with a command or a REPL run that sets none, in seconds (upstream sends none and may hang forever). */
export const DEFAULT_EXEC_TIMEOUT_SECONDS = 300;

/** How long past a command's own limit its HTTP request may take before sandkit gives up, in milliseconds. */
export const DEFAULT_EXEC_MARGIN_MS = 15_000;

/** Deadline of control calls (stop, metrics, health) when the caller sets none, in milliseconds. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** The RPC endpoint (no trailing slash: axum 0.8 nesting makes that form unreliable). */
export const RPC_PATH = "/api/v1/rpc";

/** The REST health endpoint. */
export const HEALTH_PATH = "/api/v1/health";

/** Sandbox and namespace names the server accepts: 1-63 of `[A-Za-z0-9_-]`, alphanumeric first. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

/** The official images, by REPL language. */
export const DEFAULT_IMAGES = { python: "microsandbox/python", javascript: "microsandbox/node" } as const;

/** The `language` the upstream SDKs send on the wire, by sandkit language name. */
export const WIRE_LANGUAGES = { python: "python", javascript: "nodejs" } as const;
