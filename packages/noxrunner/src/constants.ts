/** The backend's name, on errors, diagnostics and `SandboxInfoV1.backend`. */
export const BACKEND_NAME = "noxrunner";

/** The sandbox path commands start in and relative paths resolve against, unless configured. */
export const DEFAULT_WORKDIR = "/workspace";

/** The TTL the upstream Python client sends when none is given: 15 minutes. */
export const DEFAULT_TTL_SECONDS = 900;

/** The reference server's default command time limit, also sent when a call sets none. */
export const DEFAULT_EXEC_TIMEOUT_SECONDS = 30;

/** The reference server's largest command time limit (`504 EXEC_TIMEOUT` above it). */
export const DEFAULT_MAX_EXEC_TIMEOUT_SECONDS = 300;
