import { array, type HttpClient, obj, parseShape, ProtocolError, type Secret, str, unknownValue } from "@sandkit/core";
import { BACKEND_NAME } from "./constants.js";
import type { ExtraMount } from "./options.js";
import { SANDBOX_ID_PATTERN, sandboxPath } from "./sandbox-id.js";
import { mapProvisionerError } from "./wire-errors.js";

/** What one wire call needs besides its arguments: the caller's signal and this request's deadline. */
export interface RequestControl {
  readonly signal?: AbortSignal | undefined;
  /** This request's deadline in milliseconds (all attempts together). */
  readonly timeoutMs: number;
}

/** A sandbox as the provisioner describes it (`SandboxResponse`), after validation. */
export interface SandboxRecord {
  readonly sandboxId: string;
  /** The sandbox's AIO API base URL, without a trailing slash. Hostile until used through the transport. */
  readonly sandboxUrl: string;
  /** The pod phase (`Pending`, `Running`, `Succeeded`, `Failed`, `Unknown`) or the provisioner's `NotFound`. */
  readonly status: string;
}

/** The body of `POST /api/sandboxes` (`CreateSandboxRequest`), as DeerFlow sends it. */
export interface CreateBody {
  readonly sandbox_id: string;
  readonly thread_id: string | null;
  readonly user_id: string;
  readonly extra_mounts?: readonly { readonly host_path: string; readonly container_path: string; readonly read_only: boolean }[] | undefined;
}

const sandboxShape = obj({ sandbox_id: str, sandbox_url: str, status: str });
const listShape = obj({ sandboxes: array(unknownValue) });
const healthShape = obj({ status: str });

/** The wire form of extra mounts. */
export function wireMounts(mounts: readonly ExtraMount[]): CreateBody["extra_mounts"] {
  return mounts.length === 0 ? undefined : mounts.map((mount) => ({ host_path: mount.hostPath, container_path: mount.containerPath, read_only: mount.readOnly ?? false }));
}

/**
 * Checks a `SandboxResponse` for the id that was asked for: the echoed id must match and
 * `sandbox_url` must be an `http:`/`https:` URL without credentials, query or fragment.
 */
function checkRecord(raw: { sandbox_id: string; sandbox_url: string; status: string }, id: string, operation: string): SandboxRecord {
  const where = { backend: BACKEND_NAME, operation, sandboxId: id };
  if (raw.sandbox_id !== id) throw new ProtocolError(`${BACKEND_NAME} ${operation}: the provisioner answered for another sandbox id`, where);
  let url: URL;
  try {
    url = new URL(raw.sandbox_url);
  } catch {
    throw new ProtocolError(`${BACKEND_NAME} ${operation}: sandbox_url is not a URL`, where);
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") {
    throw new ProtocolError(`${BACKEND_NAME} ${operation}: sandbox_url must be a plain http: or https: URL`, where);
  }
  if (raw.status.length > 64) throw new ProtocolError(`${BACKEND_NAME} ${operation}: status is too long`, where);
  return { sandboxId: id, sandboxUrl: url.href.replace(/\/+$/, ""), status: raw.status };
}

/**
 * The provisioner's control plane, one method per endpoint, over the backend's one pooled
 * client. `X-API-Key` is attached here, per request, so that it only ever travels to the
 * provisioner and never to a sandbox.
 *
 * | call | method and path | repeated on a reset, 502/503/504, 429 |
 * | --- | --- | --- |
 * | `health` | `GET /health` (no key) | yes |
 * | `capabilities` | `GET /api/capabilities` | yes |
 * | `create` | `POST /api/sandboxes` | **yes**: create-or-return-existing, keyed on `sandbox_id` |
 * | `get` | `GET /api/sandboxes/{id}` | yes |
 * | `list` | `GET /api/sandboxes` | yes |
 * | `remove` | `DELETE /api/sandboxes/{id}` | yes (deleting twice is 200 twice) |
 */
export class ProvisionerApi {
  readonly #http: HttpClient;
  readonly #base: string;
  readonly #headers: Readonly<Record<string, string | Secret>>;

  constructor(http: HttpClient, baseUrl: string, apiKey: Secret, headers: Readonly<Record<string, string>>) {
    this.#http = http;
    this.#base = baseUrl;
    this.#headers = { ...headers, "X-API-Key": apiKey };
  }

  /** `GET /health`: whether the provisioner process is up (it does not check Kubernetes). */
  async health(control: RequestControl): Promise<string> {
    const response = await this.#http.request({
      operation: "health",
      method: "GET",
      url: `${this.#base}/health`,
      headers: { ...this.#headers, "X-API-Key": undefined },
      idempotent: true,
      shape: healthShape,
      maxResponseBytes: 64 * 1024,
      mapError: mapProvisionerError,
      ...control,
    });
    return response.body.status.slice(0, 40);
  }

  /** `GET /api/capabilities`: proves the key is accepted. The answer's content is not used. */
  async capabilities(control: RequestControl): Promise<void> {
    await this.#http.request({
      operation: "health",
      method: "GET",
      url: `${this.#base}/api/capabilities`,
      headers: this.#headers,
      idempotent: true,
      responseType: "none",
      mapError: mapProvisionerError,
      ...control,
    });
  }

  /**
   * `POST /api/sandboxes`: creates the pod and Service, or returns the existing sandbox unchanged
   * (its parameters are then ignored). Marked idempotent: repeating it for the same `sandbox_id`
   * never creates a second pod, so it is retried like a GET.
   */
  async create(body: CreateBody, control: RequestControl): Promise<SandboxRecord> {
    const response = await this.#http.request({
      operation: "create",
      method: "POST",
      url: `${this.#base}/api/sandboxes`,
      headers: this.#headers,
      sandboxId: body.sandbox_id,
      json: body,
      idempotent: true,
      shape: sandboxShape,
      maxResponseBytes: 64 * 1024,
      mapError: mapProvisionerError,
      ...control,
    });
    return checkRecord(response.body, body.sandbox_id, "create");
  }

  /** `GET /api/sandboxes/{id}`: the sandbox's URL and status, or `SandboxNotFoundError` on 404. */
  async get(id: string, operation: string, control: RequestControl): Promise<SandboxRecord> {
    const response = await this.#http.request({
      operation,
      method: "GET",
      url: `${this.#base}${sandboxPath(id)}`,
      headers: this.#headers,
      sandboxId: id,
      idempotent: true,
      shape: sandboxShape,
      maxResponseBytes: 64 * 1024,
      mapError: mapProvisionerError,
      ...control,
    });
    return checkRecord(response.body, id, operation);
  }

  /**
   * `GET /api/sandboxes`: every sandbox the provisioner knows (orphans included). Entries that are
   * not well formed (no string id and URL, a bad URL, an id sandkit would refuse) are skipped, as
   * DeerFlow does; an answer that is not a list is a `ProtocolError`, never an empty list.
   */
  async list(control: RequestControl): Promise<SandboxRecord[]> {
    const response = await this.#http.request({
      operation: "list",
      method: "GET",
      url: `${this.#base}/api/sandboxes`,
      headers: this.#headers,
      idempotent: true,
      shape: listShape,
      maxResponseBytes: 16 * 1024 * 1024,
      mapError: mapProvisionerError,
      ...control,
    });
    const out: SandboxRecord[] = [];
    for (const entry of response.body.sandboxes) {
      try {
        const raw = parseShape(sandboxShape, entry);
        if (!SANDBOX_ID_PATTERN.test(raw.sandbox_id)) continue;
        out.push(checkRecord(raw, raw.sandbox_id, "list"));
      } catch {
        // A malformed entry: skipped.
      }
    }
    return out;
  }

  /** `DELETE /api/sandboxes/{id}`: 200 whether or not it existed. A `Partial cleanup` 500 is a `ServerError`. */
  async remove(id: string, control: RequestControl): Promise<void> {
    await this.#http.request({
      operation: "destroy",
      method: "DELETE",
      url: `${this.#base}${sandboxPath(id)}`,
      headers: this.#headers,
      sandboxId: id,
      idempotent: true,
      responseType: "none",
      mapError: mapProvisionerError,
      ...control,
    });
  }
}
