/** The backend's name, on errors, diagnostics and `SandboxInfoV1.backend`. */
export const BACKEND_NAME = "provisioner";

/** DeerFlow's default `user_id` when a sandbox belongs to no authenticated user. */
export const DEFAULT_USER_ID = "default";

/** How long `create` may take in all (the POST and the readiness wait), unless configured: upstream waits 60 s. */
export const DEFAULT_READY_TIMEOUT_MS = 120_000;

/** Deadline of a control-plane request (GET, DELETE, health), unless configured. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

/** Deadline of the create POST, which can block ~10 s while the Service gets a URL (upstream: 30 s). */
export const DEFAULT_CREATE_TIMEOUT_MS = 30_000;

/** Deadline of a file transfer on the data plane, unless configured. */
export const DEFAULT_TRANSFER_TIMEOUT_MS = 600_000;

/**
 * The `hard_timeout` sent with a command that has no `timeoutMs`, in seconds (upstream sends 600).
 * The AIO API has no unlimited commands.
 */
export const DEFAULT_EXEC_TIMEOUT_SECONDS = 600;

/** How long past a command's own limit the exec request may take before sandkit gives up on it. */
export const DEFAULT_EXEC_MARGIN_MS = 15_000;

/** Pod phases (and the provisioner's own `NotFound`) after which the sandbox will never serve again. */
export const DEAD_STATUSES: ReadonlySet<string> = new Set(["NotFound", "Failed", "Succeeded"]);

/** The seven container paths the provisioner accepts for extra mounts. */
export const EXTRA_MOUNT_PATHS: ReadonlySet<string> = new Set([
  "/mnt/acp-workspace",
  "/mnt/skills/custom",
  "/mnt/skills/integrations",
  "/mnt/integrations/lark-cli/config",
  "/mnt/integrations/lark-cli/config/locks",
  "/mnt/integrations/lark-cli/data",
  "/mnt/integrations/lark-cli/runtime",
]);

/** The most extra mounts the provisioner accepts. */
export const MAX_EXTRA_MOUNTS = 10;
