import type { Readable } from "node:stream";
import {
  array,
  bool,
  FileNotFoundError,
  type HttpClient,
  type HttpErrorMapper,
  int,
  num,
  obj,
  optional,
  parseShape,
  type Secret,
  type Shape,
  type ShapeType,
  str,
  unknownValue,
} from "@sandkit/core";
import type { RequestControl } from "./control-client.js";
import { envelopeFailure, mapSandboxApiError } from "./wire-errors.js";

/** The AIO response envelope; `data` is checked per endpoint once `success` is known. */
const envelopeShape = obj({ success: optional(bool), message: optional(str), data: optional(unknownValue) });

/** What `GET /v1/sandbox` says about the sandbox (the fields sandkit uses). */
export interface SandboxFacts {
  readonly homeDir: string | undefined;
  readonly workspace: string | undefined;
  readonly version: string | undefined;
}

/** The body of `POST /v1/bash/exec`. */
export interface BashExecBody {
  readonly command: string;
  readonly exec_dir?: string | undefined;
  readonly env?: Readonly<Record<string, string>> | undefined;
  readonly hard_timeout: number;
  readonly timeout: number;
  readonly max_output_length: number;
}

const bashResultShape = obj({
  session_id: optional(str),
  status: str,
  stdout: optional(str),
  stderr: optional(str),
  exit_code: optional(int),
});

/** The `data` of a bash exec, validated. */
export type BashResult = ShapeType<typeof bashResultShape>;

/** The body of `POST /v1/shell/exec`. */
export interface ShellExecBody {
  readonly command: string;
  readonly exec_dir?: string | undefined;
  readonly hard_timeout: number;
  readonly no_change_timeout: number;
}

const shellResultShape = obj({ status: str, output: optional(str), exit_code: optional(int) });

/** The `data` of a shell exec, validated. */
export type ShellResult = ShapeType<typeof shellResultShape>;

const listShape = obj({
  files: array(
    obj({
      name: str,
      path: optional(str),
      is_directory: bool,
      size: optional(num),
      modified_time: optional(unknownValue),
      permissions: optional(str),
    }),
  ),
});

/** One entry of `POST /v1/file/list`, validated. */
export type ListedFile = ShapeType<typeof listShape>["files"][number];

/**
 * The AIO sandbox HTTP API of one sandbox (the data plane), one method per endpoint, over the
 * backend's one pooled client (absolute URLs at the sandbox's origin). The provisioner's key is
 * never sent here; `headers` are the data-plane headers only.
 *
 * Every JSON answer is an envelope: an HTTP 200 with `success: false` becomes the typed error of
 * `envelopeFailure`, never a success.
 *
 * | call | method and path | repeated on a reset, 502/503/504, 429 |
 * | --- | --- | --- |
 * | `info` (readiness) | `GET /v1/sandbox` | yes |
 * | `bashExec`, `shellExec` | `POST /v1/bash/exec`, `/v1/shell/exec` | **no**: only when the request provably never left |
 * | `closeBashSession` | `POST /v1/bash/sessions/{id}/close` | yes |
 * | `download` | `GET /v1/file/download?path=` | yes, until the body starts |
 * | `write` | `POST /v1/file/write` (base64) | yes (it replaces the whole file) |
 * | `list` | `POST /v1/file/list` | yes (a read) |
 */
export class SandboxApi {
  readonly #http: HttpClient;
  readonly #probeHttp: HttpClient;
  readonly #base: string;
  readonly #headers: Readonly<Record<string, string | Secret>>;
  readonly #sandboxId: string;

  /**
   * `probeHttp` carries the readiness probe: a client without retries of its own, since the
   * readiness wait paces its probes itself (the transport's retries would add their backoff on top).
   */
  constructor(http: HttpClient, probeHttp: HttpClient, baseUrl: string, sandboxId: string, headers: Readonly<Record<string, string | Secret>>) {
    this.#http = http;
    this.#probeHttp = probeHttp;
    this.#base = baseUrl;
    this.#sandboxId = sandboxId;
    this.#headers = headers;
  }

  /** The sandbox's base URL (as the provisioner handed it out, possibly rewritten). */
  get baseUrl(): string {
    return this.#base;
  }

  /**
   * `GET /v1/sandbox`: a 200 means the sandbox is ready (the body is not required). Reads
   * `home_dir`, `workspace` and `version` when they are there and well formed.
   */
  async info(operation: string, control: RequestControl): Promise<SandboxFacts> {
    const response = await this.#probeHttp.request({
      operation,
      method: "GET",
      url: `${this.#base}/v1/sandbox`,
      headers: this.#headers,
      sandboxId: this.#sandboxId,
      idempotent: true,
      responseType: "text",
      maxResponseBytes: 1024 * 1024,
      mapError: mapSandboxApiError,
      ...control,
    });
    let json: unknown;
    try {
      json = JSON.parse(response.body);
    } catch {
      return { homeDir: undefined, workspace: undefined, version: undefined };
    }
    const pick = (key: string): string | undefined => {
      if (typeof json !== "object" || json === null || !Object.hasOwn(json, key)) return undefined;
      const value = (json as Record<string, unknown>)[key];
      return typeof value === "string" && value.length <= 1024 && value.startsWith("/") && !/[\0\r\n]/.test(value) ? value : undefined;
    };
    const version = typeof json === "object" && json !== null && typeof (json as Record<string, unknown>).version === "string" ? ((json as Record<string, unknown>).version as string).slice(0, 40) : undefined;
    return { homeDir: pick("home_dir"), workspace: pick("workspace"), version };
  }

  /** `POST /v1/bash/exec`: sent once (never repeated once it may have reached the sandbox). */
  bashExec(body: BashExecBody, control: RequestControl & { readonly maxResponseBytes: number }): Promise<BashResult> {
    return this.#call("exec", "/v1/bash/exec", body, bashResultShape, false, control);
  }

  /** `POST /v1/shell/exec` (the PTY shell; stdout and stderr come merged): sent once. */
  shellExec(body: ShellExecBody, control: RequestControl & { readonly maxResponseBytes: number }): Promise<ShellResult> {
    return this.#call("exec", "/v1/shell/exec", body, shellResultShape, false, control);
  }

  /** `POST /v1/bash/sessions/{id}/close`: frees the session a bash exec created. */
  async closeBashSession(sessionId: string, control: RequestControl): Promise<void> {
    await this.#call("exec.closeSession", `/v1/bash/sessions/${encodeURIComponent(sessionId)}/close`, {}, optional(unknownValue), true, { ...control, maxResponseBytes: 64 * 1024 });
  }

  /**
   * `POST /v1/file/write` with base64 content: replaces the file with `data` (repeatable), or with
   * `append`, adds `data` at its end (never repeated: a second append would duplicate the bytes).
   */
  async write(path: string, data: Uint8Array, append: boolean, control: RequestControl): Promise<void> {
    const content = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64");
    const body = append ? { file: path, content, encoding: "base64", append: true } : { file: path, content, encoding: "base64" };
    await this.#call("files.write", "/v1/file/write", body, optional(unknownValue), !append, { ...control, maxResponseBytes: 64 * 1024 }, path);
  }

  /** `POST /v1/file/list` of one directory (not recursive, hidden files included). */
  async list(path: string, control: RequestControl): Promise<readonly ListedFile[]> {
    const body = { path, recursive: false, show_hidden: true, include_size: true, include_permissions: true };
    const data = await this.#call("files.list", "/v1/file/list", body, listShape, true, { ...control, maxResponseBytes: 64 * 1024 * 1024 }, path);
    return data.files;
  }

  /**
   * `GET /v1/file/download?path=`: the file's bytes as a stream. A 404 is `FileNotFoundError`
   * (this endpoint signals failures by status, not by envelope).
   */
  async download(path: string, control: RequestControl): Promise<{ readonly body: Readable; readonly length: number | undefined }> {
    const notFound: HttpErrorMapper = (info) => (info.status === 404 ? new FileNotFoundError(`${info.summary}: ${path} does not exist`, { ...info.context, path }) : undefined);
    const response = await this.#http.request({
      operation: "files.read",
      method: "GET",
      url: `${this.#base}/v1/file/download`,
      query: { path },
      headers: this.#headers,
      sandboxId: this.#sandboxId,
      idempotent: true,
      responseType: "stream",
      mapError: (info) => notFound(info) ?? mapSandboxApiError(info),
      ...control,
    });
    const header = response.headers["content-length"];
    const length = typeof header === "string" && /^\d{1,15}$/.test(header) ? Number(header) : undefined;
    return { body: response.body, length };
  }

  /** Sends one JSON call and unwraps its envelope: `success: false` is a typed error, `data` is checked against `shape`. */
  async #call<T>(operation: string, route: string, body: unknown, shape: Shape<T>, idempotent: boolean, control: RequestControl & { readonly maxResponseBytes: number }, path?: string): Promise<T> {
    const response = await this.#http.request({
      operation,
      method: "POST",
      url: `${this.#base}${route}`,
      headers: this.#headers,
      sandboxId: this.#sandboxId,
      json: body,
      idempotent,
      shape: envelopeShape,
      mapError: mapSandboxApiError,
      ...control,
    });
    if (response.body.success === false) throw envelopeFailure(response.body, { operation, sandboxId: this.#sandboxId, path });
    return parseShape(shape, response.body.data ?? null);
  }
}
