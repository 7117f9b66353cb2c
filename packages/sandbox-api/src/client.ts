import type { Readable } from "node:stream";
import {
  array,
  createHttpClient,
  FileNotFoundError,
  type HttpClient,
  int,
  num,
  obj,
  optional,
  ProtocolError,
  SandboxNotFoundError,
  type ShapeType,
  str,
  unknownValue,
  ValidationError,
} from "@sandkit/core";
import { BACKEND_NAME, ENVIRONMENT_ID_PATTERN } from "./constants.js";
import { executeMultipart, executeUrlencoded } from "./multipart.js";
import { isResolvedOptions, type ResolvedSandboxApiOptions, type SandboxApiOptions, resolveOptions } from "./options.js";
import type { CheckResult, CommandRun, ExecuteConfig, ExecuteResult, ExecuteStatus, Libraries, Specifications, Usage } from "./protocol-types.js";
import { parseExpire } from "./expire.js";
import { type ConfigCheck, toWireConfig, validateConfig } from "./validate-config.js";
import { mapSandboxApiError } from "./wire-errors.js";

/** Per-call controls: the caller's signal and a deadline for the whole request. */
export interface CallControl {
  readonly signal?: AbortSignal | undefined;
  /** Deadline of this request in milliseconds (default: the option for its kind). */
  readonly timeoutMs?: number | undefined;
}

/** Options of {@link SandboxApiClient.execute}. */
export interface ExecuteOptions extends CallControl {
  /**
   * A gzip-compressed tar to unpack into the working directory first (the `environment` upload),
   * as bytes or a stream pulled as the request is written. With `baseEnvironment`, the two are
   * merged and the upload wins for equal names. Use plain relative names (`dir/f`, not `./dir/f`).
   * Build one with `packEntries(entries, { gzip: true })` from `@sandkit/core`.
   */
  readonly archive?: Uint8Array | AsyncIterable<Uint8Array> | undefined;
  /** The upload's file name (only the server sees it). Default `environment.tgz`. */
  readonly archiveName?: string | undefined;
  /** Largest response body read, in bytes (outputs come back whole). Default 64 MiB. */
  readonly maxResponseBytes?: number | undefined;
}

const executeShape = obj({
  status: int,
  execution: array(obj({ command: str, exit_code: int, stdout: str, stderr: str, time: num })),
  total_time: num,
  environment: optional(str),
  expire: optional(str),
  result: optional(str),
});

/** Turns the response's `status` into the typed union. */
export function toExecuteStatus(status: number): ExecuteStatus {
  if (status === 0) return { outcome: "success", status: 0 };
  if (status > 0) return { outcome: "command-failed", status };
  if (status === -1) return { outcome: "unknown-error", status: -1 };
  if (status === -2) return { outcome: "timed-out", status: -2 };
  if (status === -3) return { outcome: "result-not-found", status: -3 };
  if (status === -4) return { outcome: "result-not-utf8", status: -4 };
  throw new ProtocolError(`the server answered an unknown execute status ${status}`, { backend: BACKEND_NAME, operation: "execute", protocolCode: status });
}

function toExecuteResult(body: ShapeType<typeof executeShape>): ExecuteResult {
  const where = { backend: BACKEND_NAME, operation: "execute" };
  if (body.execution.length === 0) throw new ProtocolError("the server answered an execute with no command entry", where);
  if (body.environment !== undefined && !ENVIRONMENT_ID_PATTERN.test(body.environment)) {
    throw new ProtocolError("the server named a saved environment that is not a lowercase UUID", where);
  }
  const execution: CommandRun[] = body.execution.map((entry) => ({
    command: entry.command,
    exitCode: entry.exit_code,
    stdout: entry.stdout,
    stderr: entry.stderr,
    timeSeconds: entry.time,
  }));
  const result: ExecuteResult = {
    ...toExecuteStatus(body.status),
    execution,
    totalTimeSeconds: body.total_time,
    ...(body.environment === undefined ? {} : { savedEnvironment: body.environment }),
    ...(body.expire === undefined ? {} : { expire: body.expire, expiresAt: parseExpire(body.expire) }),
    ...(body.result === undefined ? {} : { result: body.result }),
  };
  return result;
}

/** Checks a saved environment's name before it goes into a URL. */
export function checkEnvironmentId(environment: string, operation: string): string {
  if (typeof environment !== "string" || !ENVIRONMENT_ID_PATTERN.test(environment)) {
    throw new ValidationError("a saved environment is named by a lowercase UUID (8-4-4-4-12 hex)", { field: "environment", backend: BACKEND_NAME, operation });
  }
  return environment;
}

/**
 * Percent-encodes a file path inside a saved environment, segment by segment, keeping the `/`
 * separators. A leading `/` is dropped; empty, `.` and `..` segments are refused (the server
 * matches tar member names exactly, and stored names never have them).
 */
export function encodeEnvironmentPath(path: string, operation: string): string {
  const segments = (typeof path === "string" ? path : "").replace(/^\/+/, "").split("/");
  if (segments.some((segment) => segment === "" || segment === "." || segment === ".." || segment.includes("\0"))) {
    throw new ValidationError("path must be a relative file path without empty, . or .. segments", { field: "path", backend: BACKEND_NAME, operation });
  }
  return segments.map((segment) => encodeURIComponent(segment)).join("/");
}

const objectShape = unknownValue;

/**
 * The typed client of a sandbox-api server (PremierLangage sandbox 3.x): one pooled connection
 * set, one deadline per call, typed errors, retries of GET/HEAD and of a `503` pool-full answer,
 * and never a repeated execute once it may have reached the server.
 */
export class SandboxApiClient {
  readonly #http: HttpClient;
  readonly #options: ResolvedSandboxApiOptions;

  /** Validates the options (`ValidationError` naming the field); `env` fills in the URL when absent. */
  constructor(options: SandboxApiOptions | ResolvedSandboxApiOptions, env: Readonly<Record<string, string | undefined>> = {}) {
    this.#options = isResolvedOptions(options) ? options : resolveOptions(options as SandboxApiOptions, env);
    this.#http = createHttpClient({
      baseUrl: this.#options.url,
      backend: BACKEND_NAME,
      headers: this.#options.headers,
      dispatcher: this.#options.dispatcher,
      connections: this.#options.connections,
      retry: this.#options.retry,
      timeoutMs: this.#options.requestTimeoutMs,
      mapError: mapSandboxApiError,
    });
  }

  /** The resolved options (defaults filled in). */
  get options(): ResolvedSandboxApiOptions {
    return this.#options;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#http.closed;
  }

  /**
   * `POST /execute/`: runs `config.commands` in one container. The config is checked first
   * ({@link validateConfig}: a `ValidationError` naming the field, nothing sent). Command failures
   * and timeouts are results (`outcome`), never errors. Errors: `SandboxNotFoundError` when
   * `baseEnvironment` is unknown or expired, `ValidationError` for a 400, `ServerError` for a 5xx
   * (retried while the server answers `503` overloaded, which it sends before any work). Never
   * repeated once the request may have reached the server.
   */
  async execute(config: ExecuteConfig, options: ExecuteOptions = {}): Promise<ExecuteResult> {
    const wire = toWireConfig(config);
    const json = JSON.stringify(wire);
    const encoded = options.archive === undefined ? executeUrlencoded(json) : executeMultipart(json, options.archive, options.archiveName);
    const { body } = await this.#http.request({
      operation: "execute",
      // With a base environment, a 404 means that environment is unknown or expired (the server
      // looks it up first); without one, it can only be a wrong route (the default mapping).
      mapError: wire.environment === undefined ? undefined : (info) => (info.status === 404 ? new SandboxNotFoundError(`${info.summary}: no saved environment ${wire.environment} (unknown or expired)`, info.context) : undefined),
      method: "POST",
      path: "/execute/",
      headers: { "content-type": encoded.contentType },
      body: encoded.body,
      idempotent: false,
      unprocessedStatuses: [503],
      timeoutMs: options.timeoutMs ?? this.#options.budgetMs + this.#options.executeMarginMs + (options.archive === undefined ? 0 : this.#options.transferTimeoutMs),
      signal: options.signal,
      maxResponseBytes: options.maxResponseBytes ?? 64 * 1024 * 1024,
      shape: executeShape,
    });
    return toExecuteResult(body);
  }

  /**
   * Checks a config locally, as `execute` does before sending: in the server's order, plus what
   * upstream turns into a 500 or a surprise (see {@link validateConfig}). Sends nothing.
   */
  validate(config: ExecuteConfig): ConfigCheck {
    return validateConfig(config);
  }

  /** `GET /specifications/`: host and container limits. */
  async specifications(control: CallControl = {}): Promise<Specifications> {
    return (await this.#get("/specifications/", "specifications", control)) as Specifications;
  }

  /** `GET /usages/`: the host's current load (the server measures for 2 seconds). */
  async usage(control: CallControl = {}): Promise<Usage> {
    return (await this.#get("/usages/", "usage", control)) as Usage;
  }

  /** `GET /libraries/`: software in the container image (slow: the server starts a container). */
  async libraries(control: CallControl = {}): Promise<Libraries> {
    return (await this.#get("/libraries/", "libraries", control)) as Libraries;
  }

  /**
   * Downloads a saved environment (`GET /environments/{uuid}/`, a gzip-compressed tar) or one file
   * in it (`GET /files/{uuid}/{path}/`, raw bytes) as a stream, read as it arrives. The archive is
   * hostile input: unpack it with `extractArchive` from `@sandkit/core`, which refuses names that
   * leave the target. `SandboxNotFoundError` when the environment is unknown or expired,
   * `FileNotFoundError` when it has no such file.
   */
  async download(environment: string, path?: string, control: CallControl = {}): Promise<Readable> {
    const url = this.#url(environment, path, "download");
    try {
      const { body } = await this.#http.request({
        operation: "download",
        method: "GET",
        path: url,
        idempotent: true,
        responseType: "stream",
        timeoutMs: control.timeoutMs ?? this.#options.transferTimeoutMs,
        signal: control.signal,
      });
      return body;
    } catch (error) {
      throw await this.#refineNotFound(error, environment, path, control);
    }
  }

  /**
   * `HEAD` of a saved environment or a file in it: whether it exists, and its size in bytes
   * (upstream's `check()` answered the `Content-Length` text, or `0`).
   */
  async check(environment: string, path?: string, control: CallControl = {}): Promise<CheckResult> {
    const url = this.#url(environment, path, "check");
    const response = await this.#http.request({
      operation: "check",
      method: "HEAD",
      path: url,
      idempotent: true,
      acceptStatus: [404],
      timeoutMs: control.timeoutMs ?? this.#options.requestTimeoutMs,
      signal: control.signal,
    });
    if (response.status === 404) return { exists: false, size: 0 };
    const length = Number(response.headers["content-length"] ?? Number.NaN);
    return { exists: true, size: Number.isSafeInteger(length) && length >= 0 ? length : 0 };
  }

  /** Closes the connection pool (not an injected dispatcher). Idempotent. */
  close(): Promise<void> {
    return this.#http.close();
  }

  /** {@link close} for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #url(environment: string, path: string | undefined, operation: string): string {
    const id = checkEnvironmentId(environment, operation);
    return path === undefined ? `/environments/${id}/` : `/files/${id}/${encodeEnvironmentPath(path, operation)}/`;
  }

  async #get(path: string, operation: string, control: CallControl): Promise<unknown> {
    const { body } = await this.#http.request({
      operation,
      method: "GET",
      path,
      idempotent: true,
      timeoutMs: control.timeoutMs ?? this.#options.requestTimeoutMs,
      signal: control.signal,
      shape: objectShape,
    });
    if (typeof body !== "object" || body === null || Array.isArray(body)) throw new ProtocolError(`the server's ${operation} answer is not a JSON object`, { backend: BACKEND_NAME, operation });
    return body;
  }

  /** A `/files/` 404 is either the environment or the file: a `HEAD` of the environment tells which. */
  async #refineNotFound(error: unknown, environment: string, path: string | undefined, control: CallControl): Promise<unknown> {
    if (path === undefined || !SandboxNotFoundError.isInstance(error) || control.signal?.aborted === true) return error;
    try {
      const found = await this.check(environment, undefined, control);
      if (!found.exists) return error;
    } catch {
      return error;
    }
    return new FileNotFoundError(`saved environment ${environment} has no file ${JSON.stringify(path)}`, { path, backend: BACKEND_NAME, operation: "download", cause: error });
  }
}
