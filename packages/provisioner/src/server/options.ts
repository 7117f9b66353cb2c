import { type LocalBackendOptions, Secret, type SandboxBackendV1, ValidationError } from "@sandkit/core";
import { optionChecks, type ServerLogger } from "@sandkit/core/server-kit";

/** Where the server reports what clients cannot see: failures, expiries. Never given secrets. */
export type ProvisionerServerLogger = ServerLogger;

/** Options of {@link createProvisionerServer}. Every one has a default. */
export interface ProvisionerServerOptions {
  /**
   * The backend sandboxes ("pods") are made on. Default: the local backend, loaded by name
   * through `@sandkit/core` (so `@sandkit/local` must be installed) and closed by `close()`.
   * A backend given here is not closed by the server.
   */
  readonly backend?: SandboxBackendV1 | undefined;
  /** Options of the default local backend (ignored when `backend` is given). */
  readonly local?: LocalBackendOptions | undefined;
  /** Interface the control plane listens on. Default `127.0.0.1`. */
  readonly host?: string | undefined;
  /** Port of the control plane; `0` (default) picks a free one. */
  readonly port?: number | undefined;
  /**
   * The key every `/api/*` request must send in `X-API-Key`. Fail-closed like the upstream
   * provisioner: when absent or empty, every `/api/*` request is answered `401 Unauthorized`.
   */
  readonly apiKey?: string | Secret | undefined;
  /**
   * How long after its create a sandbox's data plane stays unready: it does not listen (the
   * connection is refused) until then, and its status is `Pending`. Default 0.
   */
  readonly readyDelayMs?: number | undefined;
  /** Interface each per-sandbox data plane listens on (and the host of `sandbox_url`). Default: `host`. */
  readonly dataPlaneHost?: string | undefined;
  /** Largest JSON request body in bytes (`413` past it). Default 1 MiB. */
  readonly maxJsonBytes?: number | undefined;
  /** Largest file body of `/v1/file/write` after decoding, and of a download. Default 64 MiB. */
  readonly maxFileBytes?: number | undefined;
  /** Bytes of stdout and of stderr kept per command; the rest is dropped. Default 1 MiB. */
  readonly maxOutputBytes?: number | undefined;
  /** Longest exec timeout in seconds (larger requests are clamped). Default 3600. */
  readonly maxExecTimeoutSeconds?: number | undefined;
  /** Receives failures. Default: none. */
  readonly logger?: ProvisionerServerLogger | undefined;
}

/** The options with every default filled in and checked. */
export interface ResolvedProvisionerOptions {
  readonly host: string;
  readonly port: number;
  readonly apiKey: Secret | undefined;
  readonly readyDelayMs: number;
  readonly dataPlaneHost: string;
  readonly maxJsonBytes: number;
  readonly maxFileBytes: number;
  readonly maxOutputBytes: number;
  readonly maxExecTimeoutSeconds: number;
  readonly logger: ProvisionerServerLogger;
}

const { invalid, nonEmptyString, integer, logger } = optionChecks("createProvisionerServer");

const MiB = 1024 * 1024;

/** Checks the options and fills in the defaults; `ValidationError` names the first bad field. */
export function resolveProvisionerOptions(options: ProvisionerServerOptions): ResolvedProvisionerOptions {
  if (typeof options !== "object" || options === null) throw invalid("options must be an object", "options");
  const host = nonEmptyString(options.host, "127.0.0.1", "host");
  return {
    host,
    port: integer(options.port, 0, "port", 0, 65_535),
    apiKey: apiKey(options.apiKey),
    readyDelayMs: integer(options.readyDelayMs, 0, "readyDelayMs", 0, 24 * 3600 * 1000),
    dataPlaneHost: nonEmptyString(options.dataPlaneHost, host, "dataPlaneHost"),
    maxJsonBytes: integer(options.maxJsonBytes, MiB, "maxJsonBytes", 64),
    maxFileBytes: integer(options.maxFileBytes, 64 * MiB, "maxFileBytes", 1),
    maxOutputBytes: integer(options.maxOutputBytes, MiB, "maxOutputBytes", 1),
    maxExecTimeoutSeconds: integer(options.maxExecTimeoutSeconds, 3600, "maxExecTimeoutSeconds", 1),
    logger: logger(options.logger),
  };
}

/** An empty key is kept as "no key": fail-closed, every `/api/*` request is refused. */
function apiKey(value: unknown): Secret | undefined {
  if (value === undefined) return undefined;
  if (value instanceof Secret) return value.reveal().length === 0 ? undefined : value;
  if (typeof value !== "string") throw invalid("apiKey must be a string or Secret", "apiKey");
  return value.length === 0 ? undefined : new Secret(value);
}

