import type { Secret } from "../secret.js";

/** Options of the embedded `local` backend (`@sandkit/local`). */
export interface LocalBackendOptions {
  /**
   * Where sandbox workspaces are made (each a private 0700 directory). Default: the OS temp dir.
   * Environment: `SANDKIT_LOCAL_ROOT`.
   */
  readonly root?: string | undefined;
  /**
   * `none` runs commands directly **on this host**, as this user, with only a private working
   * directory between them and your files. `bubblewrap` runs them in a bubblewrap namespace (a
   * read-only host root, a private /tmp, the workspace at /workspace, no network). `auto` uses
   * bubblewrap when it works here, otherwise `none`. Default `auto`. Environment:
   * `SANDKIT_LOCAL_ISOLATION`.
   */
  readonly isolation?: "none" | "bubblewrap" | "auto" | undefined;
  /** Pass this process's environment variables to commands. Default `false`: only PATH, HOME, LANG. */
  readonly inheritEnv?: boolean | undefined;
  /** Idle lifetime of a sandbox in milliseconds; `keepAlive()` extends it. Default: none. */
  readonly ttlMs?: number | undefined;
  /** Grace between SIGTERM and SIGKILL when a command is stopped, in milliseconds. Default 200. */
  readonly killGraceMs?: number | undefined;
}

/** Options every HTTP backend accepts. Each adapter extends them with its own. */
export interface RemoteBackendOptions {
  /** The server's base URL. Environment: `SANDKIT_URL` (or the adapter's own variable). */
  readonly url?: string | undefined;
  /** The credential, sent only in the header the protocol defines. Environment: `SANDKIT_API_KEY`. */
  readonly apiKey?: string | Secret | undefined;
  /** Extra headers for every request (a proxy's auth, tracing). */
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

/**
 * Options of `backend: "noxrunner"`. Core knows only the common remote options; importing
 * `@sandkit/noxrunner` (even `import type {} from "@sandkit/noxrunner"`) merges in the adapter's own.
 */
export interface NoxRunnerBackendOptions extends RemoteBackendOptions {}
/** Options of `backend: "provisioner"`; `@sandkit/provisioner` merges in its own. */
export interface ProvisionerBackendOptions extends RemoteBackendOptions {}
/** Options of `backend: "sandbox-api"`; `@sandkit/sandbox-api` merges in its own. */
export interface SandboxApiBackendOptions extends RemoteBackendOptions {}
/** Options of `backend: "microsandbox"`; `@sandkit/microsandbox` merges in its own. */
export interface MicrosandboxBackendOptions extends RemoteBackendOptions {}

/**
 * Backend options by backend name. An adapter package merges its options into the interface of
 * its name (`interface MicrosandboxBackendOptions extends MicrosandboxOptions {}` inside
 * `declare module "@sandkit/core"`); a third-party backend adds a name:
 *
 * ```ts
 * declare module "@sandkit/core" {
 *   interface BackendOptionsByName { "my-backend": MyOptions }
 * }
 * ```
 */
export interface BackendOptionsByName {
  local: LocalBackendOptions;
  noxrunner: NoxRunnerBackendOptions;
  provisioner: ProvisionerBackendOptions;
  "sandbox-api": SandboxApiBackendOptions;
  microsandbox: MicrosandboxBackendOptions;
}

/** A backend name sandkit can load by itself. */
export type BackendName = keyof BackendOptionsByName & string;
