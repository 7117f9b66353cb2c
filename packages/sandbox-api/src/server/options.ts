import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalBackendOptions, type SandboxBackendV1, ValidationError } from "@sandkit/core";
import { optionChecks, type ServerLogger } from "@sandkit/core/server-kit";

/** Where the server reports what clients cannot see: failures, expiries. */
export type SandboxApiServerLogger = ServerLogger;

/** Options of `createSandboxApiServer`. Every one has a default. */
export interface SandboxApiServerOptions {
  /**
   * The backend sandboxes are made on. Default: the local backend, loaded by name through
   * `@sandkit/core` (so `@sandkit/local` must be installed), and closed by `close()`. A backend
   * given here is not closed by the server.
   */
  readonly backend?: SandboxBackendV1 | undefined;
  /** Options of the default local backend (ignored when `backend` is given). */
  readonly local?: LocalBackendOptions | undefined;
  /** Interface to listen on. Default `127.0.0.1`. */
  readonly host?: string | undefined;
  /** Port; `0` (default) picks a free one. */
  readonly port?: number | undefined;
  /**
   * Total time budget of the commands of one execute request, in milliseconds, and the default
   * timeout of each command (upstream `EXECUTE_TIMEOUT`). Default 10 000.
   */
  readonly budgetMs?: number | undefined;
  /**
   * Directory where saved environments are kept as `<uuid>.tgz`. Default: a fresh directory
   * under the OS temp dir, removed by `close()`. A directory given here is created if needed
   * and kept (with its environments) by `close()`.
   */
  readonly environmentsDir?: string | undefined;
  /** Most execute requests run at once (upstream `DOCKER_COUNT`). Default 20. */
  readonly poolSize?: number | undefined;
  /** How long an execute waits for a free slot before `503 Sandbox overloaded`. Default 2000 ms. */
  readonly poolWaitMs?: number | undefined;
  /** How long a saved environment is kept, in milliseconds (upstream 24 h). Default 86 400 000. */
  readonly expiryMs?: number | undefined;
  /** Largest execute request body in bytes (413 past it). Default 100 MiB. */
  readonly maxUploadBytes?: number | undefined;
  /** Largest `config` form field in bytes (400 past it). Default 2.5 MiB, Django's limit. */
  readonly maxConfigBytes?: number | undefined;
  /** Largest decompressed environment in bytes (gzip bombs stop here). Default 1 GiB. */
  readonly maxExtractedBytes?: number | undefined;
  /** Most entries in one environment archive. Default 100 000. */
  readonly maxEntries?: number | undefined;
  /** Bytes of stdout and of stderr kept per command before decoding. Default 16 MiB. */
  readonly maxOutputBytes?: number | undefined;
  /** Largest `result_path` file read, in bytes (a larger one is read up to it and ends -4). Default 16 MiB. */
  readonly maxResultBytes?: number | undefined;
  /** Directory where uploads are staged and checked before reaching a sandbox. Default: the OS temp dir. */
  readonly stagingDir?: string | undefined;
  /** Receives failures and expiries. Default: none. */
  readonly logger?: SandboxApiServerLogger | undefined;
}

/** The options with every default filled in and checked. */
export interface ResolvedServerOptions {
  readonly host: string;
  readonly port: number;
  readonly budgetMs: number;
  readonly environmentsDir: string | undefined;
  readonly poolSize: number;
  readonly poolWaitMs: number;
  readonly expiryMs: number;
  readonly maxUploadBytes: number;
  readonly maxConfigBytes: number;
  readonly maxExtractedBytes: number;
  readonly maxEntries: number;
  readonly maxOutputBytes: number;
  readonly maxResultBytes: number;
  readonly stagingDir: string;
  readonly logger: SandboxApiServerLogger;
}

const { invalid, nonEmptyString, integer, logger } = optionChecks("createSandboxApiServer");

const MiB = 1024 * 1024;

/** Checks the options and fills in the defaults; `ValidationError` names the first bad field. */
export function resolveServerOptions(options: SandboxApiServerOptions): ResolvedServerOptions {
  if (typeof options !== "object" || options === null) throw invalid("options must be an object", "options");
  return {
    host: nonEmptyString(options.host, "127.0.0.1", "host"),
    port: integer(options.port, 0, "port", 0, 65_535),
    budgetMs: integer(options.budgetMs, 10_000, "budgetMs", 1),
    environmentsDir: options.environmentsDir === undefined ? undefined : nonEmptyString(options.environmentsDir, "", "environmentsDir"),
    poolSize: integer(options.poolSize, 20, "poolSize", 1, 10_000),
    poolWaitMs: integer(options.poolWaitMs, 2_000, "poolWaitMs", 0),
    expiryMs: integer(options.expiryMs, 86_400_000, "expiryMs", 1),
    maxUploadBytes: integer(options.maxUploadBytes, 100 * MiB, "maxUploadBytes", 1),
    maxConfigBytes: integer(options.maxConfigBytes, 2.5 * MiB, "maxConfigBytes", 64),
    maxExtractedBytes: integer(options.maxExtractedBytes, 1024 * MiB, "maxExtractedBytes", 1),
    maxEntries: integer(options.maxEntries, 100_000, "maxEntries", 1),
    maxOutputBytes: integer(options.maxOutputBytes, 16 * MiB, "maxOutputBytes", 1),
    maxResultBytes: integer(options.maxResultBytes, 16 * MiB, "maxResultBytes", 1),
    stagingDir: nonEmptyString(options.stagingDir, tmpdir(), "stagingDir"),
    logger: logger(options.logger),
  };
}

/** The default environments directory prefix, under the OS temp dir. */
export const DEFAULT_ENVIRONMENTS_PREFIX = join(tmpdir(), "sandkit-sandbox-api-envs-");

