import {
  adapterOptionChecks,
  firstEnv,
  type OptionCheck,
  type RemoteBackendOptions,
  type RetryOptions,
  Secret,
  ValidationError,
} from "@sandkit/core";
import type { Dispatcher } from "undici";
import {
  BACKEND_NAME,
  DEFAULT_EXEC_TIMEOUT_SECONDS,
  DEFAULT_MAX_EXEC_TIMEOUT_SECONDS,
  DEFAULT_TTL_SECONDS,
  DEFAULT_WORKDIR,
} from "./constants.js";
import { checkQuantity } from "./quantity.js";

/**
 * Options of the `noxrunner` backend, for `noxrunner(options)` and for
 * `createSandbox({ backend: "noxrunner", ...options })`.
 */
export interface NoxRunnerOptions extends RemoteBackendOptions {
  /**
   * The server's base URL, e.g. `http://127.0.0.1:8080` (a path prefix is kept). Environment:
   * `NOXRUNNER_URL`, then `NOXRUNNER_BASE_URL` (the upstream CLI's), then `SANDKIT_URL`. Required.
   */
  readonly url?: string | undefined;
  /**
   * The service key, sent as `X-Service-Key` (see `serviceKeyHeader`). A string is wrapped in a
   * `Secret` at once and never shown. Environment: `NOXRUNNER_SERVICE_KEY`, then `SANDKIT_API_KEY`.
   */
  readonly serviceKey?: string | Secret | undefined;
  /** Alias of `serviceKey` (what `createSandbox` fills from `SANDKIT_API_KEY`); `serviceKey` wins when both are given. */
  readonly apiKey?: string | Secret | undefined;
  /** The header the service key travels in. Default `X-Service-Key` (the server's name is configurable). */
  readonly serviceKeyHeader?: string | undefined;
  /** Extra headers for every request (a proxy's credentials, tracing). Values with credential-like names are redacted. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Your own undici dispatcher (proxy, mTLS). It is used as is and not closed by `close()`. */
  readonly dispatcher?: Dispatcher | undefined;
  /** Idle lifetime of new sandboxes in seconds, when `createSandbox` gets no `ttlMs`. Default 900. */
  readonly ttlSeconds?: number | undefined;
  /** Container image of new sandboxes, when `createSandbox` gets no `image`. Default: the server's. */
  readonly image?: string | undefined;
  /** CPU limit of new sandboxes as a Kubernetes quantity (`"500m"`, `"2"`). Default: the server's. */
  readonly cpuLimit?: string | undefined;
  /** Memory limit of new sandboxes as a Kubernetes quantity (`"1Gi"`). Default: the server's. */
  readonly memoryLimit?: string | undefined;
  /** Scratch-disk limit of new sandboxes as a Kubernetes quantity (`"2Gi"`). Default: the server's. */
  readonly ephemeralStorageLimit?: string | undefined;
  /** The sandbox directory commands start in and relative paths resolve against. Default `/workspace`. */
  readonly workdir?: string | undefined;
  /**
   * How long creating a sandbox may take in all: the `PUT` (which blocks while the pod starts) and
   * the readiness wait after it, in milliseconds. Default 120 000.
   */
  readonly readyTimeoutMs?: number | undefined;
  /**
   * Whether `create` waits until the sandbox runs commands (polling a harmless `true` with backoff
   * while the server answers `503 POD_NOT_READY`). Default `true`.
   */
  readonly waitForReady?: boolean | undefined;
  /** Deadline of each control request (touch, delete, health, attach), in milliseconds. Default 30 000. */
  readonly requestTimeoutMs?: number | undefined;
  /** Deadline of an archive upload or download, in milliseconds. Default 600 000. */
  readonly transferTimeoutMs?: number | undefined;
  /**
   * The command time limit sent when a call gives no `timeoutMs`, in whole seconds. NoxRunner has
   * no unlimited commands. Default 30 (the reference server's own default).
   */
  readonly execTimeoutSeconds?: number | undefined;
  /** The server's largest command time limit, in seconds; longer `timeoutMs` values are refused before sending. Default 300. */
  readonly maxExecTimeoutSeconds?: number | undefined;
  /** How long past a command's time limit the exec request may take before sandkit gives up on it, in milliseconds. Default 15 000. */
  readonly execMarginMs?: number | undefined;
  /** Retry budget and backoff of the requests that may be repeated. */
  readonly retry?: RetryOptions | undefined;
  /** Most open connections to the server. Default 32. */
  readonly connections?: number | undefined;
}

/** Environment variables `createBackend` reads when the matching option is absent, in order of preference. */
export const NOXRUNNER_ENV = {
  /** The server's base URL. */
  url: ["NOXRUNNER_URL", "NOXRUNNER_BASE_URL", "SANDKIT_URL"],
  /** The service key. */
  serviceKey: ["NOXRUNNER_SERVICE_KEY", "SANDKIT_API_KEY"],
} as const;

/** Options after validation, with every default filled in. */
export interface ResolvedNoxRunnerOptions {
  readonly url: string;
  readonly serviceKey: Secret | undefined;
  readonly serviceKeyHeader: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly dispatcher: Dispatcher | undefined;
  readonly ttlSeconds: number;
  readonly image: string | undefined;
  readonly cpuLimit: string | undefined;
  readonly memoryLimit: string | undefined;
  readonly ephemeralStorageLimit: string | undefined;
  readonly workdir: string;
  readonly readyTimeoutMs: number;
  readonly waitForReady: boolean;
  readonly requestTimeoutMs: number;
  readonly transferTimeoutMs: number;
  readonly execTimeoutSeconds: number;
  readonly maxExecTimeoutSeconds: number;
  readonly execMarginMs: number;
  readonly retry: RetryOptions | undefined;
  readonly connections: number | undefined;
}

const OPERATION = "configure";

type Check = OptionCheck;

const CHECK = adapterOptionChecks(BACKEND_NAME);
const { invalid, positiveMs, positiveInt, secret, object: objectOf } = CHECK;
const nonEmptyString = CHECK.singleLine;
const quantity: Check = (value, field) => {
  checkQuantity(value, field, OPERATION);
};

const CHECKS: Readonly<Record<keyof NoxRunnerOptions, Check>> = {
  url: nonEmptyString,
  serviceKey: secret,
  apiKey: secret,
  serviceKeyHeader: CHECK.headerName,
  headers: CHECK.headers,
  dispatcher: (value, field) => {
    if (typeof value !== "object" || value === null || typeof (value as { dispatch?: unknown }).dispatch !== "function") {
      throw invalid(`${field} must be an undici Dispatcher`, field);
    }
  },
  ttlSeconds: positiveInt,
  image: nonEmptyString,
  cpuLimit: quantity,
  memoryLimit: quantity,
  ephemeralStorageLimit: quantity,
  workdir: (value, field) => {
    nonEmptyString(value, field);
    const path = value as string;
    if (!path.startsWith("/") || path.split("/").some((segment) => segment === "." || segment === "..")) {
      throw invalid(`${field} must be an absolute, normalised sandbox path`, field);
    }
  },
  readyTimeoutMs: positiveMs,
  waitForReady: (value, field) => {
    if (typeof value !== "boolean") throw invalid(`${field} must be a boolean`, field);
  },
  requestTimeoutMs: positiveMs,
  transferTimeoutMs: positiveMs,
  execTimeoutSeconds: positiveInt,
  maxExecTimeoutSeconds: positiveInt,
  execMarginMs: positiveMs,
  retry: objectOf,
  connections: positiveInt,
};

/**
 * Validates options and fills in defaults, reading `env` for what is absent (see
 * {@link NOXRUNNER_ENV}). Unknown keys and values of the wrong type are a `ValidationError`
 * naming the field; a string service key is wrapped in a `Secret` at once.
 */
export function resolveOptions(options: NoxRunnerOptions, env: Readonly<Record<string, string | undefined>> = {}): ResolvedNoxRunnerOptions {
  if (typeof options !== "object" || options === null || Array.isArray(options)) throw invalid("the noxrunner backend's options must be an object", "options");
  CHECK.known(options, CHECKS);
  // serviceKey wins over apiKey: createSandbox fills apiKey from SANDKIT_API_KEY by itself.
  const serviceKey = Secret.from(options.serviceKey);
  const apiKey = Secret.from(options.apiKey);
  const envUrl = firstEnv(env, NOXRUNNER_ENV.url);
  const rawUrl = options.url ?? envUrl?.value;
  if (rawUrl === undefined) {
    throw invalid(`the noxrunner backend needs a server URL: pass url, or set ${NOXRUNNER_ENV.url.join(" or ")}`, "url");
  }
  const url = CHECK.baseUrl(rawUrl, options.url === undefined ? envUrl!.name : "url", { keepTrailingSlash: true });
  const envKey = firstEnv(env, NOXRUNNER_ENV.serviceKey);
  const execTimeoutSeconds = options.execTimeoutSeconds ?? DEFAULT_EXEC_TIMEOUT_SECONDS;
  const maxExecTimeoutSeconds = options.maxExecTimeoutSeconds ?? DEFAULT_MAX_EXEC_TIMEOUT_SECONDS;
  if (execTimeoutSeconds > maxExecTimeoutSeconds) {
    throw invalid(`execTimeoutSeconds (${execTimeoutSeconds}) is above maxExecTimeoutSeconds (${maxExecTimeoutSeconds})`, "execTimeoutSeconds");
  }
  return {
    url,
    serviceKey: serviceKey ?? apiKey ?? (envKey === undefined ? undefined : new Secret(envKey.value)),
    serviceKeyHeader: options.serviceKeyHeader ?? "X-Service-Key",
    headers: { ...options.headers },
    dispatcher: options.dispatcher,
    ttlSeconds: options.ttlSeconds ?? DEFAULT_TTL_SECONDS,
    image: options.image,
    cpuLimit: options.cpuLimit,
    memoryLimit: options.memoryLimit,
    ephemeralStorageLimit: options.ephemeralStorageLimit,
    workdir: options.workdir === undefined ? DEFAULT_WORKDIR : options.workdir.replace(/\/+$/, "") || "/",
    readyTimeoutMs: options.readyTimeoutMs ?? 120_000,
    waitForReady: options.waitForReady ?? true,
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    transferTimeoutMs: options.transferTimeoutMs ?? 600_000,
    execTimeoutSeconds,
    maxExecTimeoutSeconds,
    execMarginMs: options.execMarginMs ?? 15_000,
    retry: options.retry,
    connections: options.connections,
  };
}
