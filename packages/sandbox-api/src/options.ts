import { adapterOptionChecks, type OptionCheck, type RemoteBackendOptions, type RetryOptions, type Secret, ValidationError } from "@sandkit/core";
import type { Dispatcher } from "undici";
import { BACKEND_NAME, DEFAULT_BUDGET_MS, DEFAULT_WORKDIR, ENVIRONMENT_ID_PATTERN } from "./constants.js";

/**
 * Options of the `sandbox-api` backend, for `sandboxApi(options)`, `new SandboxApiClient(options)`
 * and `createSandbox({ backend: "sandbox-api", ...options })`.
 */
export interface SandboxApiOptions extends RemoteBackendOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:7000` (a path prefix is kept). Environment: `SANDBOX_API_URL`, then `SANDKIT_URL`. Required. */
  readonly url?: string | undefined;
  /** Extra headers for every request (the server has no auth; a proxy in front may). Credential-like names are redacted. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Your own undici dispatcher (proxy, mTLS). Used as is and not closed by `close()`. */
  readonly dispatcher?: Dispatcher | undefined;
  /**
   * The server's total command budget of one execute request, in milliseconds (upstream
   * `EXECUTE_TIMEOUT`, 10 s; the server does not report it). A command `timeoutMs` above it is a
   * `ValidationError` before sending. Default 10 000.
   */
  readonly budgetMs?: number | undefined;
  /** The container directory commands start in and archives unpack into. Default `/home/student` (`/home/docker` before 3.0.2). */
  readonly workdir?: string | undefined;
  /**
   * A saved environment (lowercase UUID) every new session starts from, e.g. a prepared exercise.
   * Default: an empty working directory. Unknown or expired: `SandboxNotFoundError` at create.
   */
  readonly baseEnvironment?: string | undefined;
  /**
   * Run session commands in a small `sh` wrapper that sends stdout and stderr base64-encoded, so
   * they arrive byte for byte (the server trims them and refuses output that is not UTF-8). Needs
   * `sh`, `head`, `cat` and `base64` in the image. `false`: output as the server sends it. Default `true`.
   */
  readonly exactOutput?: boolean | undefined;
  /** Deadline of describe and check requests, in milliseconds. Default 30 000. */
  readonly requestTimeoutMs?: number | undefined;
  /** Deadline of an archive upload or download, in milliseconds. Default 600 000. */
  readonly transferTimeoutMs?: number | undefined;
  /** How long past the budget an execute request may take (waiting for a container, archives, saving), in milliseconds. Default 30 000. */
  readonly executeMarginMs?: number | undefined;
  /** Retry budget and backoff of the requests that may be repeated (GET, HEAD, and an execute answered 503 before any work). */
  readonly retry?: RetryOptions | undefined;
  /** Most open connections to the server. Default 32. */
  readonly connections?: number | undefined;
  /** Unused: the protocol has no API keys (here only because `createSandbox` may pass `SANDKIT_API_KEY`). Put credentials in `headers`. */
  readonly apiKey?: string | Secret | undefined;
}

/** Environment variables `createBackend` reads when the matching option is absent, in order of preference. */
export const SANDBOX_API_ENV = {
  /** The server's base URL. */
  url: ["SANDBOX_API_URL", "SANDKIT_URL"],
} as const;

/** Options after validation, with every default filled in. */
export interface ResolvedSandboxApiOptions {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly dispatcher: Dispatcher | undefined;
  readonly budgetMs: number;
  readonly workdir: string;
  readonly baseEnvironment: string | undefined;
  readonly exactOutput: boolean;
  readonly requestTimeoutMs: number;
  readonly transferTimeoutMs: number;
  readonly executeMarginMs: number;
  readonly retry: RetryOptions | undefined;
  readonly connections: number | undefined;
}

const OPERATION = "configure";

type Check = OptionCheck;

const CHECK = adapterOptionChecks(BACKEND_NAME);
const { invalid, positiveMs, positiveInt, object: objectOf } = CHECK;

const CHECKS: Readonly<Record<keyof SandboxApiOptions, Check>> = {
  url: (value, field) => {
    if (typeof value !== "string" || value === "") throw invalid(`${field} must be a non-empty string`, field);
  },
  headers: CHECK.headers,
  dispatcher: (value, field) => {
    if (typeof value !== "object" || value === null || typeof (value as { dispatch?: unknown }).dispatch !== "function") throw invalid(`${field} must be an undici Dispatcher`, field);
  },
  budgetMs: positiveMs,
  workdir: (value, field) => {
    if (typeof value !== "string" || !value.startsWith("/") || /[\0\r\n]/.test(value) || value.split("/").some((s) => s === "." || s === "..")) {
      throw invalid(`${field} must be an absolute, normalised container path`, field);
    }
  },
  baseEnvironment: (value, field) => {
    if (typeof value !== "string" || !ENVIRONMENT_ID_PATTERN.test(value)) throw invalid(`${field} must be a saved environment's lowercase UUID`, field);
  },
  exactOutput: (value, field) => {
    if (typeof value !== "boolean") throw invalid(`${field} must be a boolean`, field);
  },
  requestTimeoutMs: positiveMs,
  transferTimeoutMs: positiveMs,
  executeMarginMs: positiveMs,
  retry: objectOf,
  connections: positiveInt,
  apiKey: () => undefined,
};

/** Options objects made by {@link resolveOptions} (so a caller's look-alike object is still validated). */
const RESOLVED = new WeakSet<object>();

/** Whether `options` came from {@link resolveOptions}. */
export function isResolvedOptions(options: unknown): options is ResolvedSandboxApiOptions {
  return typeof options === "object" && options !== null && RESOLVED.has(options);
}

/**
 * Validates options and fills in defaults, reading `env` for the URL when absent (see
 * {@link SANDBOX_API_ENV}). Unknown keys and values of the wrong type are a `ValidationError`
 * naming the field.
 */
export function resolveOptions(options: SandboxApiOptions, env: Readonly<Record<string, string | undefined>> = {}): ResolvedSandboxApiOptions {
  if (typeof options !== "object" || options === null || Array.isArray(options)) throw invalid("the sandbox-api backend's options must be an object", "options");
  CHECK.known(options, CHECKS);
  let url = options.url;
  let field = "url";
  if (url === undefined) {
    for (const name of SANDBOX_API_ENV.url) {
      const value = env[name]?.trim();
      if (value !== undefined && value !== "") {
        url = value;
        field = name;
        break;
      }
    }
  }
  if (url === undefined) throw invalid(`the sandbox-api backend needs a server URL: pass url, or set ${SANDBOX_API_ENV.url.join(" or ")}`, "url");
  const resolved: ResolvedSandboxApiOptions = Object.freeze({
    url: CHECK.baseUrl(url, field),
    headers: { ...options.headers },
    dispatcher: options.dispatcher,
    budgetMs: options.budgetMs ?? DEFAULT_BUDGET_MS,
    workdir: options.workdir === undefined ? DEFAULT_WORKDIR : options.workdir.replace(/\/+$/, "") || "/",
    baseEnvironment: options.baseEnvironment,
    exactOutput: options.exactOutput ?? true,
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    transferTimeoutMs: options.transferTimeoutMs ?? 600_000,
    executeMarginMs: options.executeMarginMs ?? 30_000,
    retry: options.retry,
    connections: options.connections,
  });
  RESOLVED.add(resolved);
  return resolved;
}
