import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import {
  createHttpClient,
  type HttpClient,
  int,
  num,
  obj,
  optional,
  parseShape,
  ProtocolError,
  SandboxNotFoundError,
  type Secret,
  str,
  bool,
} from "@sandkit/core";
import { BACKEND_NAME } from "./constants.js";
import type { ResolvedNoxRunnerOptions } from "./options.js";
import { sandboxPath } from "./session-id.js";
import { mapNoxRunnerError, oneLine } from "./wire-errors.js";

/** What one wire call needs besides its arguments: the caller's signal and this request's deadline. */
export interface RequestControl {
  readonly signal?: AbortSignal | undefined;
  /** This request's deadline in milliseconds (all attempts together). */
  readonly timeoutMs: number;
}

/** The body of `PUT /v1/sandboxes/{id}`, in the key order the upstream Python client sends. */
export interface EnsureBody {
  readonly ttlSeconds: number;
  readonly image?: string | undefined;
  readonly cpuLimit?: string | undefined;
  readonly memoryLimit?: string | undefined;
  readonly ephemeralStorageLimit?: string | undefined;
}

/** What `PUT /v1/sandboxes/{id}` answered. Both fields are optional: an empty body is accepted. */
export interface EnsureAnswer {
  readonly podName: string | undefined;
  /** The expiry, parsed leniently (RFC 3339, and the upstream LocalBackend's `+00:00Z` form). */
  readonly expiresAt: Date | undefined;
}

/** The body of `POST /v1/sandboxes/{id}/exec`, in the key order the upstream Python client sends. */
export interface ExecBody {
  readonly cmd: readonly string[];
  readonly workdir: string;
  readonly timeoutSeconds: number;
  readonly env?: Readonly<Record<string, string>> | undefined;
}

/** What `POST /v1/sandboxes/{id}/exec` answered with a 200, after validation. */
export interface ExecAnswer {
  /** Any integer: the reference server uses -1 for "unknown". */
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The server's measure of the command, when it sent one. */
  readonly durationMs: number | undefined;
  /** Set when the server said it cut the stream (an extension some servers send). */
  readonly stdoutTruncated: boolean;
  readonly stderrTruncated: boolean;
}

/** What `GET /healthz` answered. */
export interface HealthAnswer {
  readonly ok: boolean;
  readonly detail: string;
}

const execShape = obj({
  exitCode: int,
  stdout: optional(str),
  stderr: optional(str),
  durationMs: optional(num),
  stdoutTruncated: optional(bool),
  stderrTruncated: optional(bool),
});

const ensureShape = obj({ podName: optional(str), expiresAt: optional(str) });

/** The largest body read from a JSON answer (exec output is capped by the server, 1 MiB per stream on the reference one). */
const MAX_JSON_BYTES = 64 * 1024 * 1024;

/**
 * Parses an expiry leniently: RFC 3339 as the reference server sends it (`2026-01-02T12:34:56Z`),
 * and the upstream LocalBackend's malformed `2026-11-22T00:31:09.456413+00:00Z` (an offset and a
 * `Z`). Anything else gives `undefined` rather than a wrong date.
 */
export function parseExpiry(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  let text = value.trim();
  if (text.length > 64) return undefined;
  if (/[+-]\d{2}:?\d{2}Z$/i.test(text)) text = text.slice(0, -1);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/i.test(text)) return undefined;
  const time = Date.parse(text);
  return Number.isNaN(time) ? undefined : new Date(time);
}

/**
 * The NoxRunner wire calls, one method per endpoint of the protocol, over one pooled sandkit
 * HTTP client. Each method states whether the transport may repeat it:
 *
 * | call | method and path | repeated on a reset, 502/503/504, 429 |
 * | --- | --- | --- |
 * | `health` | `GET /healthz` | yes |
 * | `ensure` | `PUT /v1/sandboxes/{id}` | yes (create-or-ensure is idempotent) |
 * | `touch` | `POST /v1/sandboxes/{id}/touch` | yes (it only moves the expiry) |
 * | `exec` | `POST /v1/sandboxes/{id}/exec` | **no**: only when the request provably never left (refused connection) |
 * | `upload` | `POST /v1/sandboxes/{id}/files/upload?dest=` | no: the body is a one-time stream |
 * | `download` | `GET /v1/sandboxes/{id}/files/download?src=` | yes, until the body starts |
 * | `remove` | `DELETE /v1/sandboxes/{id}` | yes |
 *
 * Every request carries a fresh `X-Request-Id`, which the reference server echoes in its error
 * bodies (shown in the error message).
 */
export class NoxRunnerClient {
  readonly #http: HttpClient;

  constructor(options: ResolvedNoxRunnerOptions) {
    const headers: Record<string, string | Secret> = { ...options.headers };
    if (options.serviceKey !== undefined) headers[options.serviceKeyHeader] = options.serviceKey;
    this.#http = createHttpClient({
      baseUrl: options.url,
      backend: BACKEND_NAME,
      headers,
      dispatcher: options.dispatcher,
      timeoutMs: options.requestTimeoutMs,
      retry: options.retry,
      connections: options.connections,
      maxResponseBytes: MAX_JSON_BYTES,
      mapError: mapNoxRunnerError,
    });
  }

  /** Whether the client was closed. */
  get closed(): boolean {
    return this.#http.closed;
  }

  /**
   * `GET /healthz`. Any 2xx is healthy, whatever the body: the text `OK` of `SPECS.md` and the
   * JSON `{"status":"ok"}` of the reference server alike. Rejects with the typed error otherwise.
   */
  async health(control: RequestControl): Promise<HealthAnswer> {
    const response = await this.#http.request({
      operation: "health",
      method: "GET",
      path: "/healthz",
      idempotent: true,
      responseType: "text",
      maxResponseBytes: 64 * 1024,
      headers: requestIdHeader(),
      ...control,
    });
    return { ok: true, detail: healthDetail(response.status, response.body) };
  }

  /** `PUT /v1/sandboxes/{id}`: creates the sandbox, or returns the existing one unchanged. */
  async ensure(id: string, body: EnsureBody, control: RequestControl): Promise<EnsureAnswer> {
    const response = await this.#http.request({
      operation: "create",
      method: "PUT",
      path: sandboxPath(id, "create"),
      sandboxId: id,
      json: body,
      idempotent: true,
      responseType: "text",
      headers: requestIdHeader(),
      ...control,
    });
    const value = parseJsonBody(response.body, "create", id, true);
    const parsed = shaped(ensureShape, value, "create", id);
    return { podName: parsed.podName, expiresAt: parseExpiry(parsed.expiresAt) };
  }

  /** `POST /v1/sandboxes/{id}/touch`: moves the sandbox's expiry to now plus its TTL. */
  async touch(id: string, control: RequestControl): Promise<void> {
    await this.#http.request({
      operation: "keepAlive",
      method: "POST",
      path: sandboxPath(id, "keepAlive", "/touch"),
      sandboxId: id,
      body: "",
      idempotent: true,
      responseType: "none",
      headers: requestIdHeader(),
      ...control,
    });
  }

  /**
   * `POST /v1/sandboxes/{id}/exec`. Never repeated once the request may have reached the server.
   * A `504 EXEC_TIMEOUT` rejects with a `ServerError` whose `protocolCode` is `EXEC_TIMEOUT`; the
   * caller decides what it means (see `exec-outcome.ts`).
   */
  async exec(id: string, body: ExecBody, control: RequestControl): Promise<ExecAnswer> {
    const response = await this.#http.request({
      operation: "exec",
      method: "POST",
      path: sandboxPath(id, "exec", "/exec"),
      sandboxId: id,
      json: body,
      idempotent: false,
      responseType: "text",
      headers: requestIdHeader(),
      ...control,
    });
    const type = String(response.headers["content-type"] ?? "").toLowerCase();
    if (type.startsWith("text/event-stream")) {
      throw new ProtocolError(`${BACKEND_NAME} exec: the server streams exec output as Server-Sent Events, a later NoxRunner revision this adapter does not speak`, {
        backend: BACKEND_NAME,
        operation: "exec",
        sandboxId: id,
        status: response.status,
        suggestion: "Use a NoxRunner server that answers exec with JSON (the REST protocol of the reference server v0 and SPECS.md).",
      });
    }
    const parsed = shaped(execShape, parseJsonBody(response.body, "exec", id, false), "exec", id);
    return {
      exitCode: parsed.exitCode,
      stdout: parsed.stdout ?? "",
      stderr: parsed.stderr ?? "",
      durationMs: parsed.durationMs !== undefined && parsed.durationMs >= 0 ? parsed.durationMs : undefined,
      stdoutTruncated: parsed.stdoutTruncated === true,
      stderrTruncated: parsed.stderrTruncated === true,
    };
  }

  /**
   * `POST /v1/sandboxes/{id}/files/upload?dest=`: streams a tar.gz (sent as
   * `Content-Type: application/x-tar`, as upstream does) that the server unpacks into `dest`.
   */
  async upload(id: string, dest: string, archive: AsyncIterable<Uint8Array>, control: RequestControl): Promise<void> {
    await this.#http.request({
      operation: "files.upload",
      method: "POST",
      path: sandboxPath(id, "files.upload", "/files/upload"),
      query: { dest },
      sandboxId: id,
      body: archive,
      headers: { ...requestIdHeader(), "content-type": "application/x-tar" },
      idempotent: false,
      responseType: "none",
      ...control,
    });
  }

  /**
   * `GET /v1/sandboxes/{id}/files/download?src=`: the archive of `src` as a byte stream (gzip or
   * plain tar; hostile input). The request's deadline keeps running until the stream ends.
   */
  async download(id: string, src: string, control: RequestControl): Promise<Readable> {
    const response = await this.#http.request({
      operation: "files.download",
      method: "GET",
      path: sandboxPath(id, "files.download", "/files/download"),
      query: { src },
      sandboxId: id,
      idempotent: true,
      responseType: "stream",
      headers: requestIdHeader(),
      ...control,
    });
    return response.body;
  }

  /** `DELETE /v1/sandboxes/{id}`: 200, 204 and an already-gone sandbox (404 `POD_NOT_FOUND`) are all success. */
  async remove(id: string, control: RequestControl): Promise<void> {
    try {
      await this.#http.request({
        operation: "destroy",
        method: "DELETE",
        path: sandboxPath(id, "destroy"),
        sandboxId: id,
        idempotent: true,
        responseType: "none",
        headers: requestIdHeader(),
        ...control,
      });
    } catch (error) {
      // Only a NoxRunner 404 (a JSON body) maps to SandboxNotFoundError; a bare 404 from
      // something else (a wrong URL) is a ProtocolError and still fails.
      if (SandboxNotFoundError.isInstance(error)) return;
      throw error;
    }
  }

  /** Closes the connection pool (not an injected dispatcher). Idempotent. */
  close(): Promise<void> {
    return this.#http.close();
  }
}

function requestIdHeader(): Record<string, string> {
  return { "x-request-id": randomUUID() };
}

function healthDetail(status: number, body: string): string {
  const text = body.trim();
  if (text.startsWith("{")) {
    try {
      const value: unknown = JSON.parse(text);
      const state = typeof value === "object" && value !== null ? (value as Record<string, unknown>).status : undefined;
      if (typeof state === "string") return `HTTP ${status}, status ${oneLine(state).slice(0, 40)}`;
    } catch {
      // Not JSON after all: shown as text below.
    }
  }
  return text === "" ? `HTTP ${status}` : `HTTP ${status}, ${oneLine(text).slice(0, 80)}`;
}

function parseJsonBody(text: string, operation: string, id: string, emptyIsObject: boolean): unknown {
  if (text.trim() === "" && emptyIsObject) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ProtocolError(`${BACKEND_NAME} ${operation}: the answer is not JSON${text.trim() === "" ? " (empty body)" : `: ${oneLine(text).slice(0, 120)}`}`, {
      backend: BACKEND_NAME,
      operation,
      sandboxId: id,
      bodyExcerpt: oneLine(text).slice(0, 120) || undefined,
    });
  }
}

function shaped<T>(shape: (value: unknown, path: string) => T, value: unknown, operation: string, id: string): T {
  try {
    return parseShape(shape, value);
  } catch (error) {
    if (!ProtocolError.isInstance(error)) throw error;
    throw new ProtocolError(`${BACKEND_NAME} ${operation}: the answer has the wrong shape (${error.message})`, {
      backend: BACKEND_NAME,
      operation,
      sandboxId: id,
      cause: error,
    });
  }
}
