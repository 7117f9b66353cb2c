/**
 * Test support for the server's tests (not part of the package's API): a server on loopback over
 * a local backend in a private temp root, and raw HTTP requests with undici.
 */
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBackend, extractArchive, packDirectory, type SandboxBackendV1, type SandboxConnectionV1 } from "@sandkit/core";
import { Agent, request as undiciRequest } from "undici";
import { createNoxRunnerServer, type NoxRunnerServer } from "../create-server.js";
import type { NoxRunnerServerOptions } from "../options.js";

/** An answer, read whole. */
export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
  readonly text: string;
  /** The body parsed as JSON (throws when it is not JSON). */
  json(): unknown;
}

/** What a request may carry. */
export interface RawRequest {
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly body?: string | Uint8Array | AsyncIterable<Uint8Array> | undefined;
  /** A JSON body (sets Content-Type). */
  readonly json?: unknown;
}

/** A running server with its private local backend. */
export interface Harness extends AsyncDisposable {
  readonly server: NoxRunnerServer;
  readonly backend: SandboxBackendV1;
  /** The local backend's root: every sandbox directory lives below it. */
  readonly root: string;
  /** Where uploads are staged. */
  readonly stagingDir: string;
  /** Sends one request to the server and reads the answer. */
  request(method: string, path: string, init?: RawRequest): Promise<RawResponse>;
  /** The host directory of a session's workspace (the last sandbox made for it). */
  workspaceOf(sessionId: string): string;
  /** The sandbox directories under the root. */
  sandboxDirs(): Promise<string[]>;
  /** Closes the server, the backend and the HTTP agent, and removes the temp dirs. */
  close(): Promise<void>;
}

/** How the harness's backend is set up. */
export interface HarnessBackendOptions {
  /** The local backend's isolation. Default `none`. */
  readonly isolation?: "none" | "bubblewrap" | undefined;
  /**
   * Give connections native `uploadArchive`/`downloadArchive` (done on the host workspace with
   * the core archive layer), producing plain tar or tar.gz downloads; default: none (the local
   * backend's per-file API only).
   */
  readonly nativeArchives?: "plain" | "gzip" | undefined;
}

/**
 * Starts a server on 127.0.0.1, port 0, over a local backend (isolation `none` unless asked;
 * a string is the isolation) with its own temp root and staging dir. `options` go to the server.
 */
export async function startHarness(
  options: Omit<NoxRunnerServerOptions, "backend"> = {},
  backendSetup: HarnessBackendOptions | "none" | "bubblewrap" = {},
): Promise<Harness> {
  const setup: HarnessBackendOptions = typeof backendSetup === "string" ? { isolation: backendSetup } : backendSetup;
  const base = await mkdtemp(join(tmpdir(), "sandkit-noxrunner-server-test-"));
  const root = join(base, "root");
  const stagingDir = join(base, "staging");
  await mkdir(stagingDir);
  const local = await createBackend("local", { root, isolation: setup.isolation ?? "none" });
  const connections = new Map<string, SandboxConnectionV1>();
  const backend: SandboxBackendV1 = {
    specificationVersion: "v1",
    name: local.name,
    get capabilities() {
      return local.capabilities;
    },
    async create(request, call) {
      const made = await local.create(request, call);
      const connection = setup.nativeArchives === undefined ? perFileOnly(made) : withNativeArchives(made, setup.nativeArchives);
      const session = request.labels?.["noxrunner.session"];
      if (session !== undefined) connections.set(session, connection);
      return connection;
    },
    attach: (id, call) => local.attach(id, call),
    destroy: (id, call) => local.destroy(id, call),
    health: (call) => local.health(call),
    close: () => local.close(),
  };
  let server: NoxRunnerServer;
  try {
    server = await createNoxRunnerServer({ host: "127.0.0.1", port: 0, stagingDir, ...options, backend });
  } catch (error) {
    await local.close();
    await rm(base, { recursive: true, force: true });
    throw error;
  }
  const agent = new Agent({ connections: 16 });
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      await server.close();
      await agent.close();
      await local.close();
      await rm(base, { recursive: true, force: true });
    })();
    return closed;
  };
  return {
    server,
    backend,
    root,
    stagingDir,
    async request(method, path, init = {}) {
      const headers: Record<string, string> = { ...init.headers };
      let body = init.body;
      if (init.json !== undefined) {
        body = JSON.stringify(init.json);
        headers["content-type"] ??= "application/json";
      }
      const response = await undiciRequest(`${server.url}${path}`, {
        method: method as "GET",
        headers,
        body: body as string | Uint8Array | undefined,
        dispatcher: agent,
      });
      const bytes = Buffer.from(await response.body.arrayBuffer());
      const text = bytes.toString("utf8");
      return {
        status: response.statusCode,
        headers: response.headers,
        body: bytes,
        text,
        json: () => JSON.parse(text) as unknown,
      };
    },
    workspaceOf(sessionId) {
      const connection = connections.get(sessionId);
      const workspace = connection?.info.details?.workspace;
      if (typeof workspace !== "string") throw new Error(`no sandbox was made for session ${sessionId}`);
      return workspace;
    },
    async sandboxDirs() {
      try {
        return (await readdir(root)).filter((name) => name.startsWith("sandkit-"));
      } catch (error) {
        if ((error as { code?: unknown }).code === "ENOENT") return [];
        throw error;
      }
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A connection whose files also move whole archives, on the host workspace, through the core archive layer. */
/** The local connection without its archive pair, so the server's per-file paths are exercised. */
function perFileOnly(connection: SandboxConnectionV1): SandboxConnectionV1 {
  const files = connection.files!;
  return {
    get info() {
      return connection.info;
    },
    exec: (request, call) => connection.exec(request, call),
    release: () => connection.release?.() ?? Promise.resolve(),
    files: {
      read: (path, options, call) => files.read(path, options, call),
      write: (path, data, options, call) => files.write(path, data, options, call),
      list: (path, call) => files.list(path, call),
      remove: (path, options, call) => files.remove(path, options, call),
      mkdir: (path, call) => files.mkdir(path, call),
    },
  };
}

function withNativeArchives(connection: SandboxConnectionV1, format: "plain" | "gzip"): SandboxConnectionV1 {
  const files = connection.files!;
  const hostPath = (path: string): string => {
    const workspace = connection.info.details?.workspace as string;
    if (path !== "/workspace" && !path.startsWith("/workspace/")) throw new Error(`not a workspace path: ${path}`);
    return join(workspace, path.slice("/workspace".length));
  };
  return {
    get info() {
      return connection.info;
    },
    exec: (request, call) => connection.exec(request, call),
    release: () => connection.release?.() ?? Promise.resolve(),
    files: {
      read: (path, options, call) => files.read(path, options, call),
      write: (path, data, options, call) => files.write(path, data, options, call),
      list: (path, call) => files.list(path, call),
      remove: (path, options, call) => files.remove(path, options, call),
      mkdir: (path, call) => files.mkdir(path, call),
      async uploadArchive(dir, archive, call) {
        await extractArchive(archive, hostPath(dir), { signal: call.signal });
      },
      async downloadArchive(dir, call) {
        await files.list(dir, call);
        return packDirectory(hostPath(dir), { gzip: format === "gzip", signal: call.signal });
      },
    },
  };
}

/** Whether bubblewrap works on this machine, through the local backend's own probe. */
export async function bubblewrapWorks(): Promise<boolean> {
  const backend = await createBackend("local", { isolation: "auto", root: join(tmpdir(), "sandkit-noxrunner-probe-unused") });
  try {
    return backend.capabilities.isolation === "namespace";
  } finally {
    await backend.close();
  }
}
