import { tmpdir } from "node:os";
import { type LocalBackendOptions, Secret, type SandboxBackendV1, ValidationError } from "@sandkit/core";
import { optionChecks, type ServerLogger } from "@sandkit/core/server-kit";

/** Where the server reports what clients cannot see: failures, expiries. Never given secrets. */
export type NoxRunnerServerLogger = ServerLogger;

/** A service key: one value, or several accepted side by side (key rotation). */
export type ServiceKeyOption = string | Secret | readonly (string | Secret)[];

/** Options of {@link createNoxRunnerServer}. Every one has a default. */
export interface NoxRunnerServerOptions {
  /**
   * The backend sandboxes are made on. Default: the local backend, loaded by name through
   * `@sandkit/core` (so `@sandkit/local` must be installed), created with {@link local} and
   * closed by `close()`. A backend given here is not closed by the server.
   */
  readonly backend?: SandboxBackendV1 | undefined;
  /** Options of the default local backend (ignored when `backend` is given). */
  readonly local?: LocalBackendOptions | undefined;
  /** Interface to listen on. Default `127.0.0.1`. */
  readonly host?: string | undefined;
  /** Port; `0` (default) picks a free one, see `NoxRunnerServer.port`. */
  readonly port?: number | undefined;
  /**
   * Keys accepted in `X-Service-Key: <key>` (or `Authorization: ServiceKey <key>`) on every
   * `/v1/*` route. Absent: no authentication, like the reference server without `SERVICE_KEYS`.
   */
  readonly serviceKey?: ServiceKeyOption | undefined;
  /** HTTP status of an authentication failure: 400, 401 (default) or 403, as the reference server allows. */
  readonly authFailureStatus?: 400 | 401 | 403 | undefined;
  /**
   * `GET /healthz`: `"text"` (default) answers `200 text/plain OK`, the contract of `SPECS.md` and
   * the one the upstream Python client understands; `"json"` answers `{"status":"ok","time":...}`
   * like the reference server v0.
   */
  readonly healthStyle?: "text" | "json" | undefined;
  /**
   * A command past its `timeoutSeconds`: `"exit-124"` (default) answers 200 with `exitCode` 124
   * and the output so far; `"http-504"` answers `504 EXEC_TIMEOUT` like the reference server v0.
   */
  readonly execTimeoutStyle?: "exit-124" | "http-504" | undefined;
  /**
   * A session id the server does not know on touch, exec, upload or download: `"not-found"`
   * (default) answers `404 POD_NOT_FOUND`; `"auto-create"` makes a sandbox with the defaults
   * first, like the reference server v0 (needed by clients that never call PUT, such as the
   * upstream `wait_for_pod_ready`), at the cost of silently replacing an expired sandbox by an empty one.
   */
  readonly unknownSession?: "not-found" | "auto-create" | undefined;
  /** Largest upload body in bytes; larger gets `413 UPLOAD_TOO_LARGE`. Default 50 MiB. */
  readonly maxUploadBytes?: number | undefined;
  /** Largest decompressed upload archive in bytes (gzip bombs stop here, `422`). Default 1 GiB. */
  readonly maxUploadExtractedBytes?: number | undefined;
  /** Most entries in one upload archive (`422` past it). Default 100 000. */
  readonly maxUploadEntries?: number | undefined;
  /** Largest JSON request body in bytes (`413 BODY_TOO_LARGE` past it). Default 1 MiB. */
  readonly maxJsonBytes?: number | undefined;
  /** Bytes of stdout and of stderr kept per command; the rest is dropped. Default 1 MiB. */
  readonly maxOutputBytes?: number | undefined;
  /**
   * Largest single file a download reads on backends without a native archive download (each
   * such file is held in memory while it is packed). Default 256 MiB.
   */
  readonly maxDownloadFileBytes?: number | undefined;
  /** Most entries in one download. Default 100 000. */
  readonly maxDownloadEntries?: number | undefined;
  /** TTL of a sandbox created with `ttlSeconds` 0 or absent. Default 900. */
  readonly defaultTtlSeconds?: number | undefined;
  /** Longest TTL; larger requests are clamped to it (as later reference servers do). Default 86 400. */
  readonly maxTtlSeconds?: number | undefined;
  /** Longest exec `timeoutSeconds`; larger gets `504 EXEC_TIMEOUT` without running. Default 300. */
  readonly maxTimeoutSeconds?: number | undefined;
  /**
   * What happens to `image`, `cpuLimit`, `memoryLimit` and `ephemeralStorageLimit` of a create:
   * `"ignore"` (default) validates them and uses the backend's defaults, as the local backend has
   * no images or limits; `"forward"` passes them on as `image` and `resources` (CPUs, MiB).
   */
  readonly createSpec?: "ignore" | "forward" | undefined;
  /** Directory under which uploads are unpacked and checked before they reach a sandbox. Default: the OS temp dir. */
  readonly stagingDir?: string | undefined;
  /** Receives failures and expiries. Default: none. */
  readonly logger?: NoxRunnerServerLogger | undefined;
}

/** The options with every default filled in and checked. */
export interface ResolvedServerOptions {
  readonly host: string;
  readonly port: number;
  readonly serviceKeys: readonly Secret[];
  readonly authFailureStatus: 400 | 401 | 403;
  readonly healthStyle: "text" | "json";
  readonly execTimeoutStyle: "exit-124" | "http-504";
  readonly unknownSession: "not-found" | "auto-create";
  readonly maxUploadBytes: number;
  readonly maxUploadExtractedBytes: number;
  readonly maxUploadEntries: number;
  readonly maxJsonBytes: number;
  readonly maxOutputBytes: number;
  readonly maxDownloadFileBytes: number;
  readonly maxDownloadEntries: number;
  readonly defaultTtlSeconds: number;
  readonly maxTtlSeconds: number;
  readonly maxTimeoutSeconds: number;
  readonly createSpec: "ignore" | "forward";
  readonly stagingDir: string;
  readonly logger: NoxRunnerServerLogger;
}

const { invalid, nonEmptyString, integer, oneOf, logger } = optionChecks("createNoxRunnerServer");

const MiB = 1024 * 1024;

/** Checks the options and fills in the defaults; `ValidationError` names the first bad field. */
export function resolveServerOptions(options: NoxRunnerServerOptions): ResolvedServerOptions {
  if (typeof options !== "object" || options === null) throw invalid("options must be an object", "options");
  return {
    host: nonEmptyString(options.host, "127.0.0.1", "host"),
    port: integer(options.port, 0, "port", 0, 65_535),
    serviceKeys: serviceKeys(options.serviceKey),
    authFailureStatus: oneOf(options.authFailureStatus, 401, "authFailureStatus", [400, 401, 403] as const),
    healthStyle: oneOf(options.healthStyle, "text", "healthStyle", ["text", "json"] as const),
    execTimeoutStyle: oneOf(options.execTimeoutStyle, "exit-124", "execTimeoutStyle", ["exit-124", "http-504"] as const),
    unknownSession: oneOf(options.unknownSession, "not-found", "unknownSession", ["not-found", "auto-create"] as const),
    maxUploadBytes: integer(options.maxUploadBytes, 50 * MiB, "maxUploadBytes", 1),
    maxUploadExtractedBytes: integer(options.maxUploadExtractedBytes, 1024 * MiB, "maxUploadExtractedBytes", 1),
    maxUploadEntries: integer(options.maxUploadEntries, 100_000, "maxUploadEntries", 1),
    maxJsonBytes: integer(options.maxJsonBytes, MiB, "maxJsonBytes", 64),
    maxOutputBytes: integer(options.maxOutputBytes, MiB, "maxOutputBytes", 1),
    maxDownloadFileBytes: integer(options.maxDownloadFileBytes, 256 * MiB, "maxDownloadFileBytes", 0),
    maxDownloadEntries: integer(options.maxDownloadEntries, 100_000, "maxDownloadEntries", 1),
    defaultTtlSeconds: integer(options.defaultTtlSeconds, 900, "defaultTtlSeconds", 1),
    maxTtlSeconds: integer(options.maxTtlSeconds, 86_400, "maxTtlSeconds", 1),
    maxTimeoutSeconds: integer(options.maxTimeoutSeconds, 300, "maxTimeoutSeconds", 1),
    createSpec: oneOf(options.createSpec, "ignore", "createSpec", ["ignore", "forward"] as const),
    stagingDir: nonEmptyString(options.stagingDir, tmpdir(), "stagingDir"),
    logger: logger(options.logger),
  };
}

function serviceKeys(value: ServiceKeyOption | undefined): Secret[] {
  if (value === undefined) return [];
  const list: readonly unknown[] = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw invalid("serviceKey must not be an empty list; leave it out to turn authentication off", "serviceKey");
  return list.map((key) => {
    if (key instanceof Secret) {
      if (key.reveal().length === 0) throw invalid("serviceKey must not be empty", "serviceKey");
      return key;
    }
    if (typeof key !== "string" || key.length === 0) throw invalid("serviceKey must be a non-empty string or Secret", "serviceKey");
    return new Secret(key);
  });
}

