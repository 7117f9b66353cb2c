/** The backend's name, on errors, diagnostics and `SandboxInfoV1.backend`. */
export const BACKEND_NAME = "sandbox-api";

/** The container directory commands start in and archives unpack into (sandbox 3.0.2 and later). */
export const DEFAULT_WORKDIR = "/home/student";

/** The upstream server's total command budget per execute request (`EXECUTE_TIMEOUT`), in milliseconds. */
export const DEFAULT_BUDGET_MS = 10_000;

/** A stored environment's name: a lowercase hyphenated UUID (the only form the server's routes match). */
export const ENVIRONMENT_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
