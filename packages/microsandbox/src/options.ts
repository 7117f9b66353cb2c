import { adapterOptionChecks, firstEnv, type OptionCheck, type RemoteBackendOptions, type RetryOptions, Secret, ValidationError } from "@sandkit/core";
import type { Dispatcher } from "undici";
import {
  BACKEND_NAME,
  DEFAULT_CPUS,
  DEFAULT_EXEC_MARGIN_MS,
  DEFAULT_EXEC_TIMEOUT_SECONDS,
  DEFAULT_IMAGES,
  DEFAULT_MEMORY_MIB,
  DEFAULT_NAMESPACE,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_START_TIMEOUT_MS,
  DEFAULT_URL,
  NAME_PATTERN,
} from "./constants.js";

/** The REPL languages a microsandbox image can serve (each official image enables exactly one). */
export type MicrosandboxLanguage = "python" | "javascript";

/**
 * Options of the `microsandbox` backend, for `microsandbox(options)` and for
 * `createSandbox({ backend: "microsandbox", ...options })`.
 */
export interface MicrosandboxOptions extends RemoteBackendOptions {
  /** The server's base URL (a path prefix is kept; trailing slashes are dropped). Environment: `MSB_SERVER_URL`, then `SANDKIT_URL`. Default `http://127.0.0.1:5555`. */
  readonly url?: string | undefined;
  /** The API key (`msb_…`), sent as `Authorization: Bearer <key>`. A string is wrapped in a `Secret` at once. Environment: `MSB_API_KEY`, then `SANDKIT_API_KEY`. None for a `--dev` server. */
  readonly apiKey?: string | Secret | undefined;
  /** The namespace sandboxes live in (1-63 of `[A-Za-z0-9_-]`, alphanumeric first). Sent on every call, as scoped keys require. Default `default`. */
  readonly namespace?: string | undefined;
  /** Image of new sandboxes when `createSandbox` gets no `image`. Default `microsandbox/python`, or `microsandbox/node` for `language: "javascript"`. */
  readonly image?: string | undefined;
  /** The REPL language of this backend's sandboxes (one per image upstream). Default `python`. */
  readonly language?: MicrosandboxLanguage | undefined;
  /** Memory of new sandboxes in MiB, a whole number (the wire type is an unsigned 32-bit integer). Default 512. */
  readonly memoryMiB?: number | undefined;
  /** vCPUs of new sandboxes, a whole number 1..255 (the wire type is an unsigned 8-bit integer; fractions are refused, not rounded). Default 1. */
  readonly cpus?: number | undefined;
  /** How long `create` may take in all (the image pull happens inside `sandbox.start`), in milliseconds. Default 210 000. */
  readonly startTimeoutMs?: number | undefined;
  /** Extra headers for every request (a proxy's credentials, tracing). Credential-like names are redacted. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Your own undici dispatcher (proxy, mTLS). Used as is and not closed by `close()`. */
  readonly dispatcher?: Dispatcher | undefined;
  /** The sandbox directory sandkit resolves relative file paths against. The protocol has no working directory of its own. Default `/workspace`. */
  readonly workdir?: string | undefined;
  /**
   * Run commands in a small `sh` wrapper that sends each stream base64-encoded and capped at
   * `maxOutputBytes` inside the sandbox, so that output arrives byte for byte (the protocol's line
   * list loses the last newline, `\r` and invalid UTF-8) and no more than the cap travels. Needs
   * `sh`, `head`, `cat` and `base64` in the image. Default `true`; `false` sends argv as is and
   * rebuilds output from lines (one `\n` per line). Not upstream behaviour.
   */
  readonly exactOutput?: boolean | undefined;
  /** The time limit sent with a command or REPL run whose call sets none, in whole seconds. Default 300 (upstream sends none and can hang forever). */
  readonly execTimeoutSeconds?: number | undefined;
  /** How long past a command's limit its request may take before sandkit gives up on it, in milliseconds. Default 15 000. */
  readonly execMarginMs?: number | undefined;
  /** Deadline of each control request (stop, metrics, health, attach), in milliseconds. Default 30 000. */
  readonly requestTimeoutMs?: number | undefined;
  /** Retry budget and backoff of the calls that may be repeated (`sandbox.metrics.get`, health). */
  readonly retry?: RetryOptions | undefined;
  /** Most open connections to the server. Default 32. */
  readonly connections?: number | undefined;
}

/** Environment variables `createBackend` reads when the matching option is absent, in order of preference. */
export const MICROSANDBOX_ENV = {
  /** The server's base URL. */
  url: ["MSB_SERVER_URL", "SANDKIT_URL"],
  /** The API key. */
  apiKey: ["MSB_API_KEY", "SANDKIT_API_KEY"],
} as const;

/** Options after validation, with every default filled in. */
export interface ResolvedMicrosandboxOptions {
  readonly url: string;
  readonly apiKey: Secret | undefined;
  readonly namespace: string;
  readonly image: string;
  readonly language: MicrosandboxLanguage;
  readonly memoryMiB: number;
  readonly cpus: number;
  readonly startTimeoutMs: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly dispatcher: Dispatcher | undefined;
  readonly workdir: string;
  readonly exactOutput: boolean;
  readonly execTimeoutSeconds: number;
  readonly execMarginMs: number;
  readonly requestTimeoutMs: number;
  readonly retry: RetryOptions | undefined;
  readonly connections: number | undefined;
}

const OPERATION = "configure";

type Check = OptionCheck;

const CHECK = adapterOptionChecks(BACKEND_NAME);
const { invalid, positiveMs, positiveInt, singleLine } = CHECK;

const CHECKS: Readonly<Record<keyof MicrosandboxOptions, Check>> = {
  url: singleLine,
  apiKey: (value, field) => {
    if (!(value instanceof Secret)) singleLine(value, field);
  },
  namespace: (value, field) => checkName(value, field, OPERATION),
  image: singleLine,
  language: (value, field) => {
    if (value !== "python" && value !== "javascript") throw invalid(`${field} must be "python" or "javascript"`, field);
  },
  memoryMiB: (value, field) => {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 0xffff_ffff) {
      throw invalid(`${field} must be a whole number of MiB between 1 and ${0xffff_ffff}`, field);
    }
  },
  cpus: (value, field) => checkCpus(value, field, OPERATION),
  startTimeoutMs: positiveMs,
  headers: CHECK.headers,
  dispatcher: (value, field) => {
    if (typeof value !== "object" || value === null || typeof (value as { dispatch?: unknown }).dispatch !== "function") {
      throw invalid(`${field} must be an undici Dispatcher`, field);
    }
  },
  workdir: (value, field) => {
    singleLine(value, field);
    const path = value as string;
    if (!path.startsWith("/") || path.split("/").some((segment) => segment === "." || segment === "..")) {
      throw invalid(`${field} must be an absolute, normalised sandbox path`, field);
    }
  },
  exactOutput: (value, field) => {
    if (typeof value !== "boolean") throw invalid(`${field} must be a boolean`, field);
  },
  execTimeoutSeconds: positiveInt,
  execMarginMs: positiveMs,
  requestTimeoutMs: positiveMs,
  retry: (value, field) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid(`${field} must be an object`, field);
  },
  connections: positiveInt,
};

/**
 * Checks a sandbox or namespace name the way the server does (1-63 of `[A-Za-z0-9_-]`, first
 * character alphanumeric), before anything is sent. Returns the name.
 */
export function checkName(value: unknown, field: string, operation: string, sandboxId?: string): string {
  if (typeof value !== "string" || !NAME_PATTERN.test(value)) {
    throw new ValidationError(`${field} must be 1-63 characters of letters, digits, '-' or '_', starting with a letter or digit`, {
      field,
      backend: BACKEND_NAME,
      operation,
      sandboxId,
    });
  }
  return value;
}

/** Checks a vCPU count: a whole number 1..255 (the wire's u8; upstream SDKs silently round, sandkit refuses). */
export function checkCpus(value: unknown, field: string, operation: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 255) {
    throw new ValidationError(`${field} must be a whole number of vCPUs between 1 and 255 (microsandbox has no fractional CPUs)`, {
      field,
      backend: BACKEND_NAME,
      operation,
    });
  }
  return value;
}

/** Parses the base URL and drops trailing slashes, so that paths join without `//` (upstream concatenates). */
export function normaliseUrl(value: string, field: string): string {
  return CHECK.baseUrl(value, field);
}

/**
 * Validates options and fills in defaults, reading `env` for what is absent (see
 * {@link MICROSANDBOX_ENV}). Unknown keys and values of the wrong type are a `ValidationError`
 * naming the field; a string API key is wrapped in a `Secret` at once.
 */
export function resolveOptions(options: MicrosandboxOptions, env: Readonly<Record<string, string | undefined>> = {}): ResolvedMicrosandboxOptions {
  if (typeof options !== "object" || options === null || Array.isArray(options)) throw invalid("the microsandbox backend's options must be an object", "options");
  CHECK.known(options, CHECKS);
  const envUrl = firstEnv(env, MICROSANDBOX_ENV.url);
  const url =
    options.url !== undefined ? normaliseUrl(options.url, "url") : envUrl !== undefined ? normaliseUrl(envUrl.value, envUrl.name) : DEFAULT_URL;
  const envKey = firstEnv(env, MICROSANDBOX_ENV.apiKey);
  const language = options.language ?? "python";
  return {
    url,
    apiKey: Secret.from(options.apiKey) ?? (envKey === undefined ? undefined : new Secret(envKey.value)),
    namespace: options.namespace ?? DEFAULT_NAMESPACE,
    image: options.image ?? DEFAULT_IMAGES[language],
    language,
    memoryMiB: options.memoryMiB ?? DEFAULT_MEMORY_MIB,
    cpus: options.cpus ?? DEFAULT_CPUS,
    startTimeoutMs: options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
    headers: { ...options.headers },
    dispatcher: options.dispatcher,
    workdir: options.workdir === undefined ? "/workspace" : options.workdir.replace(/\/+$/, "") || "/",
    exactOutput: options.exactOutput ?? true,
    execTimeoutSeconds: options.execTimeoutSeconds ?? DEFAULT_EXEC_TIMEOUT_SECONDS,
    execMarginMs: options.execMarginMs ?? DEFAULT_EXEC_MARGIN_MS,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    retry: options.retry,
    connections: options.connections,
  };
}
