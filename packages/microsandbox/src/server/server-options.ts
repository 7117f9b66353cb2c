import type { CreateRequestV1, SandboxBackendV1 } from "@sandkit/core";
import type { StartConfig } from "./params.js";

/** What {@link CreateRequestMapper} is given for one `sandbox.start`. */
export interface StartContext {
  readonly namespace: string;
  readonly name: string;
  /** The sandbox's `config` as last given with an `image` (protocol §5.1). */
  readonly config: StartConfig;
}

/** Turns a `sandbox.start` into the backend's `create` request. */
export type CreateRequestMapper = (context: StartContext) => CreateRequestV1;

/** Options of `createMicrosandboxServer`. */
export interface MicrosandboxServerOptions {
  /**
   * The backend sandboxes run on. Default: `createBackend("local")` from `@sandkit/core`, which
   * the server then owns and closes in `close()`. A backend passed in is not closed.
   */
  readonly backend?: SandboxBackendV1 | undefined;
  /** Interface to listen on. Default `127.0.0.1`. */
  readonly host?: string | undefined;
  /** Port to listen on. Default `0` (any free port). */
  readonly port?: number | undefined;
  /** Dev mode: no authentication at all, as `msb server start --dev`. */
  readonly dev?: boolean | undefined;
  /**
   * The server secret API keys are signed with (HS256, its UTF-8 bytes). Without it, and not in
   * dev mode, a random 32-character secret is generated; mint keys with `server.issueApiKey()`.
   */
  readonly apiKeySecret?: string | undefined;
  /**
   * Namespaces that exist from the start, each with no sandboxes (as if their directories had
   * been created). Other namespaces come into being on their first `sandbox.start`.
   */
  readonly namespaces?: readonly string[] | undefined;
  /**
   * Maps a start to the backend's `create` request. Default: `labels` (`microsandbox.namespace`,
   * `microsandbox.name`) and `env` from `config.envs`; `image`, `memory` and `cpus` are recorded
   * but not passed on, because microsandbox image names mean nothing to other backends.
   */
  readonly createRequest?: CreateRequestMapper | undefined;
  /** Receives internal errors that the wire reports only as `Internal server error`. */
  readonly onError?: ((error: unknown) => void) | undefined;
}

/** A running server. */
export interface MicrosandboxServer extends AsyncDisposable {
  /** `http://host:port`, the base URL clients use (`MSB_SERVER_URL`). */
  readonly url: string;
  /** The bound port. */
  readonly port: number;
  /** Whether authentication is off. */
  readonly dev: boolean;
  /**
   * Mints an API key signed with this server's secret (`"*"` and 24 hours by default, as
   * upstream keygen). Throws in dev mode, where no key is needed.
   */
  issueApiKey(options?: { readonly namespace?: string; readonly expiresInSeconds?: number }): string;
  /** Stops listening, destroys every sandbox and REPL it started, and closes a backend it owns. Idempotent. */
  close(): Promise<void>;
}
