import { adapterOptionChecks, firstEnv, type OptionCheck, type RemoteBackendOptions, type RetryOptions, Secret, ValidationError } from "@sandkit/core";
import type { Dispatcher } from "undici";
import {
  BACKEND_NAME,
  DEFAULT_CREATE_TIMEOUT_MS,
  DEFAULT_EXEC_MARGIN_MS,
  DEFAULT_EXEC_TIMEOUT_SECONDS,
  DEFAULT_READY_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_TRANSFER_TIMEOUT_MS,
  DEFAULT_USER_ID,
  EXTRA_MOUNT_PATHS,
  MAX_EXTRA_MOUNTS,
} from "./constants.js";
import { THREAD_ID_PATTERN, USER_ID_PATTERN } from "./sandbox-id.js";

/** One extra volume the provisioner mounts into new pods (DeerFlow's `ExtraMount`). */
export interface ExtraMount {
  /** Absolute host path, inside the provisioner's `DEER_FLOW_HOST_BASE_DIR`. */
  readonly hostPath: string;
  /** One of the seven container paths the provisioner allows (e.g. `/mnt/acp-workspace`). */
  readonly containerPath: string;
  /** Mount read-only. Default `false`. */
  readonly readOnly?: boolean | undefined;
}

/**
 * Options of the `provisioner` backend, for `provisioner(options)` and for
 * `createSandbox({ backend: "provisioner", ...options })`.
 */
export interface ProvisionerOptions extends RemoteBackendOptions {
  /** The provisioner's base URL, e.g. `http://provisioner:8002`. Environment: `PROVISIONER_URL`, then `SANDKIT_URL`. Required. */
  readonly url?: string | undefined;
  /**
   * The provisioner's API key, sent as `X-API-Key` to the control plane only (never to a sandbox).
   * A string is wrapped in a `Secret` at once and never shown. Environment: `PROVISIONER_API_KEY`,
   * then `SANDKIT_API_KEY`. Required: the provisioner refuses every `/api/` request without one.
   */
  readonly apiKey?: string | Secret | undefined;
  /** Extra headers for control-plane requests (a proxy's credentials, tracing). Not sent to sandboxes. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Extra headers for data-plane requests (to each sandbox's URL). Not sent to the provisioner. */
  readonly sandboxHeaders?: Readonly<Record<string, string>> | undefined;
  /** A bearer token for sandboxes whose AIO image runs with `JWT_PUBLIC_KEY`; sent as `Authorization: Bearer` to the data plane only. */
  readonly sandboxToken?: string | Secret | undefined;
  /** DeerFlow's conversation id, sent as `thread_id` (selects the user-data volume). Default: none (`null`). */
  readonly threadId?: string | undefined;
  /** DeerFlow's user id, sent as `user_id` (selects skills and the PVC subPath). Default `"default"`. */
  readonly userId?: string | undefined;
  /** Extra volumes for new pods; checked against the provisioner's rules before sending. */
  readonly extraMounts?: readonly ExtraMount[] | undefined;
  /**
   * Rewrites the `sandbox_url` the provisioner hands out before it is used (e.g. a NodePort URL
   * on `host.docker.internal` reached from elsewhere). Receives the URL and the sandbox id.
   */
  readonly sandboxUrl?: ((reported: string, sandboxId: string) => string) | undefined;
  /** The sandbox directory commands start in and relative paths resolve against. Default: the sandbox's `workspace`, else its `home_dir`. */
  readonly workdir?: string | undefined;
  /** Your own undici dispatcher (proxy, mTLS), for both planes. Used as is and not closed by `close()`. */
  readonly dispatcher?: Dispatcher | undefined;
  /** How long creating a sandbox may take in all (the POST and the readiness wait), in milliseconds. Default 120 000. */
  readonly readyTimeoutMs?: number | undefined;
  /** Deadline of each control-plane request (GET, DELETE, health), in milliseconds. Default 15 000. */
  readonly requestTimeoutMs?: number | undefined;
  /** Deadline of the create POST (the provisioner may block ~10 s), in milliseconds. Default 30 000. */
  readonly createTimeoutMs?: number | undefined;
  /** Deadline of a file read or write on the data plane, in milliseconds. Default 600 000. */
  readonly transferTimeoutMs?: number | undefined;
  /** The `hard_timeout` of a command without `timeoutMs`, in whole seconds. Default 600. */
  readonly execTimeoutSeconds?: number | undefined;
  /** How long past a command's limit the exec request may take, in milliseconds. Default 15 000. */
  readonly execMarginMs?: number | undefined;
  /** Retry budget and backoff of the requests that may be repeated. */
  readonly retry?: RetryOptions | undefined;
  /** Most open connections per origin. Default 32. */
  readonly connections?: number | undefined;
}

/** Environment variables `createBackend` reads when the matching option is absent, in order of preference. */
export const PROVISIONER_ENV = {
  /** The provisioner's base URL. */
  url: ["PROVISIONER_URL", "SANDKIT_URL"],
  /** The API key. */
  apiKey: ["PROVISIONER_API_KEY", "SANDKIT_API_KEY"],
} as const;

/** Options after validation, with every default filled in. */
export interface ResolvedProvisionerOptions {
  readonly url: string;
  readonly apiKey: Secret;
  readonly headers: Readonly<Record<string, string>>;
  readonly sandboxHeaders: Readonly<Record<string, string>>;
  readonly sandboxToken: Secret | undefined;
  readonly threadId: string | undefined;
  readonly userId: string;
  readonly extraMounts: readonly ExtraMount[];
  readonly sandboxUrl: ((reported: string, sandboxId: string) => string) | undefined;
  readonly workdir: string | undefined;
  readonly dispatcher: Dispatcher | undefined;
  readonly readyTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly createTimeoutMs: number;
  readonly transferTimeoutMs: number;
  readonly execTimeoutSeconds: number;
  readonly execMarginMs: number;
  readonly retry: RetryOptions | undefined;
  readonly connections: number | undefined;
}

const OPERATION = "configure";

type Check = OptionCheck;

const CHECK = adapterOptionChecks(BACKEND_NAME);
const { invalid, positiveMs, positiveInt, object: objectOf, headers: headerMap } = CHECK;
const nonEmptyString = CHECK.singleLine;
const secret: Check = (value, field) => {
  CHECK.secret(value, field);
  if (typeof value === "string" && !/^[\x20-\x7e]+$/.test(value)) {
    // The provisioner compares keys with compare_digest on str, which raises (a 500) on non-ASCII text.
    throw invalid(`${field} must be printable ASCII (the provisioner answers 500 to other keys)`, field);
  }
};
const absolutePath: Check = (value, field) => {
  nonEmptyString(value, field);
  const path = value as string;
  if (!path.startsWith("/") || path.split("/").some((segment) => segment === "." || segment === "..")) {
    throw invalid(`${field} must be an absolute, normalised path`, field);
  }
};

/** Checks extra mounts as the provisioner would (its 400s), so that a bad mount fails before anything is sent. */
function checkExtraMounts(value: unknown, field: string): void {
  if (!Array.isArray(value)) throw invalid(`${field} must be an array`, field);
  if (value.length > MAX_EXTRA_MOUNTS) throw invalid(`${field} has ${value.length} entries; the provisioner allows at most ${MAX_EXTRA_MOUNTS}`, field);
  const seen = new Set<string>();
  value.forEach((mount: unknown, index) => {
    const at = `${field}[${index}]`;
    objectOf(mount, at);
    const { hostPath, containerPath, readOnly } = mount as Record<string, unknown>;
    absolutePath(hostPath, `${at}.hostPath`);
    absolutePath(containerPath, `${at}.containerPath`);
    const path = (containerPath as string).replace(/\/+$/, "");
    if (!EXTRA_MOUNT_PATHS.has(path)) throw invalid(`${at}.containerPath ${JSON.stringify(path)} is not one the provisioner allows (${[...EXTRA_MOUNT_PATHS].join(", ")})`, `${at}.containerPath`);
    if (seen.has(path)) throw invalid(`${at}.containerPath ${JSON.stringify(path)} is mounted twice`, `${at}.containerPath`);
    seen.add(path);
    if (readOnly !== undefined && typeof readOnly !== "boolean") throw invalid(`${at}.readOnly must be a boolean`, `${at}.readOnly`);
  });
}

const CHECKS: Readonly<Record<keyof ProvisionerOptions, Check>> = {
  url: nonEmptyString,
  apiKey: secret,
  headers: headerMap,
  sandboxHeaders: headerMap,
  sandboxToken: secret,
  threadId: (value, field) => {
    if (typeof value !== "string" || !THREAD_ID_PATTERN.test(value)) throw invalid(`${field} must match ${THREAD_ID_PATTERN.source}`, field);
  },
  userId: (value, field) => {
    if (typeof value !== "string" || !USER_ID_PATTERN.test(value)) throw invalid(`${field} must match ${USER_ID_PATTERN.source}`, field);
  },
  extraMounts: checkExtraMounts,
  sandboxUrl: (value, field) => {
    if (typeof value !== "function") throw invalid(`${field} must be a function`, field);
  },
  workdir: absolutePath,
  dispatcher: (value, field) => {
    if (typeof value !== "object" || value === null || typeof (value as { dispatch?: unknown }).dispatch !== "function") {
      throw invalid(`${field} must be an undici Dispatcher`, field);
    }
  },
  readyTimeoutMs: positiveMs,
  requestTimeoutMs: positiveMs,
  createTimeoutMs: positiveMs,
  transferTimeoutMs: positiveMs,
  execTimeoutSeconds: positiveInt,
  execMarginMs: positiveMs,
  retry: objectOf,
  connections: positiveInt,
};

/** Checks an `http:`/`https:` URL without query or fragment; returns it without trailing slashes. */
export function parseBaseUrl(value: string, field: string): string {
  return CHECK.baseUrl(value, field);
}

/**
 * Validates options and fills in defaults, reading `env` for what is absent (see
 * {@link PROVISIONER_ENV}). Unknown keys and values of the wrong type are a `ValidationError`
 * naming the field; a string key is wrapped in a `Secret` at once. A missing key is an error:
 * the provisioner fails closed and answers 401 to every `/api/` request without one.
 */
export function resolveOptions(options: ProvisionerOptions, env: Readonly<Record<string, string | undefined>> = {}): ResolvedProvisionerOptions {
  if (typeof options !== "object" || options === null || Array.isArray(options)) throw invalid("the provisioner backend's options must be an object", "options");
  CHECK.known(options, CHECKS);
  const envUrl = firstEnv(env, PROVISIONER_ENV.url);
  const rawUrl = options.url ?? envUrl?.value;
  if (rawUrl === undefined) throw invalid(`the provisioner backend needs the provisioner's URL: pass url, or set ${PROVISIONER_ENV.url.join(" or ")}`, "url");
  const url = parseBaseUrl(rawUrl, options.url === undefined ? envUrl!.name : "url");
  const envKey = firstEnv(env, PROVISIONER_ENV.apiKey);
  if (options.apiKey === undefined && envKey !== undefined) secret(envKey.value, envKey.name);
  const apiKey = Secret.from(options.apiKey) ?? (envKey === undefined ? undefined : new Secret(envKey.value));
  if (apiKey === undefined) {
    throw invalid(`the provisioner backend needs an API key: pass apiKey, or set ${PROVISIONER_ENV.apiKey.join(" or ")} (the provisioner refuses every /api/ request without one)`, "apiKey");
  }
  return {
    url,
    apiKey,
    headers: { ...options.headers },
    sandboxHeaders: { ...options.sandboxHeaders },
    sandboxToken: Secret.from(options.sandboxToken),
    threadId: options.threadId,
    userId: options.userId ?? DEFAULT_USER_ID,
    extraMounts: (options.extraMounts ?? []).map((mount) => ({ hostPath: mount.hostPath, containerPath: mount.containerPath.replace(/\/+$/, ""), readOnly: mount.readOnly ?? false })),
    sandboxUrl: options.sandboxUrl,
    workdir: options.workdir === undefined ? undefined : options.workdir.replace(/\/+$/, "") || "/",
    dispatcher: options.dispatcher,
    readyTimeoutMs: options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    createTimeoutMs: options.createTimeoutMs ?? DEFAULT_CREATE_TIMEOUT_MS,
    transferTimeoutMs: options.transferTimeoutMs ?? DEFAULT_TRANSFER_TIMEOUT_MS,
    execTimeoutSeconds: options.execTimeoutSeconds ?? DEFAULT_EXEC_TIMEOUT_SECONDS,
    execMarginMs: options.execMarginMs ?? DEFAULT_EXEC_MARGIN_MS,
    retry: options.retry,
    connections: options.connections,
  };
}
