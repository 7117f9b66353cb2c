/**
 * Test support for the server's tests (not part of the package's API): a server on loopback over
 * a local backend in a private temp root, and raw HTTP requests with undici.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, request as undiciRequest } from "undici";
import { createProvisionerServer } from "../create-server.js";
import type { ProvisionerServerOptions } from "../options.js";
import type { ProvisionerServer } from "../provisioner-server.js";

/** An answer, read whole. */
export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
  readonly text: string;
  /** The body parsed as JSON (throws when it is not JSON). */
  json<T = Record<string, unknown>>(): T;
}

/** What a request may carry. */
export interface RawRequest {
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly body?: string | Uint8Array | undefined;
  /** A JSON body (sets Content-Type). */
  readonly json?: unknown;
  /** Send the test key in `X-API-Key` (default true). */
  readonly auth?: boolean | undefined;
}

/** The key the harness configures unless told otherwise. */
export const TEST_API_KEY = "test-key-0123456789";

/** A running server with its private local backend. */
export interface Harness extends AsyncDisposable {
  readonly server: ProvisionerServer;
  /** The local backend's root: every sandbox directory lives below it. */
  readonly root: string;
  /** Sends one request to the control plane. */
  api(method: string, path: string, init?: RawRequest): Promise<RawResponse>;
  /** Sends one request to any URL (a data plane). */
  raw(method: string, url: string, init?: RawRequest): Promise<RawResponse>;
  /** Creates sandbox `id` and waits until its data plane answers; returns its `sandbox_url`. */
  ready(id: string): Promise<string>;
  /** The entries under the backend root. */
  sandboxDirs(): Promise<string[]>;
  /** Closes the server and the HTTP agent, and removes the temp dir. */
  close(): Promise<void>;
}

/** Starts a server on 127.0.0.1 port 0 over a local backend (isolation `none`) in a temp root. */
export async function startHarness(options: Omit<ProvisionerServerOptions, "local"> = {}): Promise<Harness> {
  const base = await mkdtemp(join(tmpdir(), "sandkit-provisioner-server-test-"));
  const root = join(base, "root");
  const agent = new Agent({ connections: 16 });
  let server: ProvisionerServer;
  try {
    server = await createProvisionerServer({ apiKey: TEST_API_KEY, ...options, local: { root, isolation: "none" } });
  } catch (error) {
    await agent.close();
    await rm(base, { recursive: true, force: true });
    throw error;
  }
  const raw = async (method: string, url: string, init: RawRequest = {}): Promise<RawResponse> => {
    const headers: Record<string, string> = { ...init.headers };
    let body: string | Uint8Array | undefined = init.body;
    if (init.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(init.json);
    }
    const answer = await undiciRequest(url, { method: method as "GET", headers, body, dispatcher: agent });
    const bytes = Buffer.from(await answer.body.arrayBuffer());
    const text = bytes.toString("utf8");
    return {
      status: answer.statusCode,
      headers: answer.headers,
      body: bytes,
      text,
      json: <T>() => JSON.parse(text) as T,
    };
  };
  const api = (method: string, path: string, init: RawRequest = {}): Promise<RawResponse> =>
    raw(method, `${server.url}${path}`, { ...init, headers: { ...(init.auth === false ? {} : { "x-api-key": TEST_API_KEY }), ...init.headers } });
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      await server.close();
      await agent.close();
      await rm(base, { recursive: true, force: true });
    })();
    return closed;
  };
  return {
    server,
    root,
    api,
    raw,
    async ready(id) {
      const created = await api("POST", "/api/sandboxes", { json: { sandbox_id: id } });
      if (created.status !== 200) throw new Error(`create answered ${created.status}: ${created.text}`);
      const url = created.json<{ sandbox_url: string }>().sandbox_url;
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          if ((await raw("GET", `${url}/v1/sandbox`)).status === 200) return url;
        } catch {
          // refused: not ready yet
        }
        if (Date.now() > deadline) throw new Error(`sandbox ${id} did not become ready`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    sandboxDirs: async () => readdir(root).catch(() => []),
    close,
    [Symbol.asyncDispose]: close,
  };
}
