/**
 * Test support for the server's tests (not part of the package's API): a server on loopback over
 * a local backend in a private temp root, raw HTTP requests with undici, and the bodies a client
 * sends (urlencoded and multipart forms, tar.gz environments).
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { createBackend, listArchive, packEntries, type ArchiveEntry, type SandboxBackendV1 } from "@sandkit/core";
import { Agent, request as undiciRequest } from "undici";
import { createSandboxApiServer, type SandboxApiServer } from "../create-server.js";
import type { SandboxApiServerOptions } from "../options.js";

/** An answer, read whole. */
export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
  readonly text: string;
  /** The body parsed as JSON (throws when it is not JSON). */
  json(): Record<string, unknown>;
}

/** What a request carries. */
export interface RawRequest {
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly body?: string | Uint8Array | AsyncIterable<Uint8Array> | undefined;
}

/** A running server with its private local backend. */
export interface Harness extends AsyncDisposable {
  readonly server: SandboxApiServer;
  /** The local backend's root: every sandbox directory lives below it. */
  readonly root: string;
  /** Where uploads are staged. */
  readonly stagingDir: string;
  /** Where environments are stored. */
  readonly environmentsDir: string;
  /** Sends one request and reads the answer. */
  request(method: string, path: string, init?: RawRequest): Promise<RawResponse>;
  /** `POST /execute/` with `config` urlencoded. */
  executeForm(config: unknown): Promise<RawResponse>;
  /** `POST /execute/` as multipart, with an `environment` file part when `archive` is given. */
  executeMultipart(config: unknown, archive?: Uint8Array): Promise<RawResponse>;
  /** Stores `archive` as environment `uuid` (as a deployer would). */
  store(uuid: string, archive: Uint8Array): Promise<void>;
  /** Names under the backend root (sandbox directories). */
  sandboxDirs(): Promise<string[]>;
  /** What the server logged (level, message, fields), for assertions and for failing tests' messages. */
  readonly logged: { level: string; message: string; fields?: unknown }[];
  /** Names under the staging dir. */
  stagingEntries(): Promise<string[]>;
  close(): Promise<void>;
}

/** Starts a server on 127.0.0.1, port 0, over a local backend with its own temp root, staging and environments dirs. */
export async function startHarness(
  options: Omit<SandboxApiServerOptions, "backend"> = {},
  wrap?: (backend: SandboxBackendV1) => SandboxBackendV1,
  isolation: "none" | "bubblewrap" = "none",
): Promise<Harness> {
  const base = await mkdtemp(join(tmpdir(), "sandkit-sandbox-api-server-test-"));
  const root = join(base, "root");
  const stagingDir = join(base, "staging");
  const environmentsDir = join(base, "environments");
  await mkdir(stagingDir);
  const local = await createBackend("local", { root, isolation });
  let server: SandboxApiServer;
  const logged: { level: string; message: string; fields?: unknown }[] = [];
  const logger = {
    info: (message: string, fields?: unknown) => logged.push({ level: "info", message, fields }),
    warn: (message: string, fields?: unknown) => logged.push({ level: "warn", message, fields }),
    error: (message: string, fields?: unknown) => logged.push({ level: "error", message, fields }),
  };
  try {
    server = await createSandboxApiServer({ stagingDir, environmentsDir, logger, ...options, backend: wrap === undefined ? local : wrap(local) });
  } catch (error) {
    await local.close();
    await rm(base, { recursive: true, force: true });
    throw error;
  }
  const agent = new Agent({ connections: 32 });
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
  const request = async (method: string, path: string, init: RawRequest = {}): Promise<RawResponse> => {
    const response = await undiciRequest(`${server.url}${path}`, {
      method: method as "GET",
      headers: { ...init.headers },
      body: init.body as string | Uint8Array | undefined,
      dispatcher: agent,
    });
    const bytes = Buffer.from(await response.body.arrayBuffer());
    const text = bytes.toString("utf8");
    return { status: response.statusCode, headers: response.headers, body: bytes, text, json: () => JSON.parse(text) as Record<string, unknown> };
  };
  return {
    server,
    root,
    stagingDir,
    environmentsDir: server.environmentsDir,
    request,
    executeForm: (config) =>
      request("POST", "/execute/", {
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ config: typeof config === "string" ? config : JSON.stringify(config) }).toString(),
      }),
    executeMultipart: (config, archive) => {
      const form = multipart([
        { name: "config", value: typeof config === "string" ? config : JSON.stringify(config) },
        ...(archive === undefined ? [] : [{ name: "environment", filename: "environment.tgz", value: archive }]),
      ]);
      return request("POST", "/execute/", { headers: { "content-type": form.contentType }, body: form.body });
    },
    store: (uuid, archive) => writeFile(join(server.environmentsDir, `${uuid}.tgz`), archive),
    sandboxDirs: async () => (await readdir(root).catch(() => [] as string[])).filter((name) => name.startsWith("sandkit-")),
    stagingEntries: () => readdir(stagingDir),
    logged,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** One part of a multipart form. */
export interface FormPart {
  readonly name: string;
  /** Sets `filename=` (a file part, as Django sees it). */
  readonly filename?: string | undefined;
  readonly value: string | Uint8Array;
  readonly contentType?: string | undefined;
}

/** A `multipart/form-data` body, built by hand the way requests and aiohttp build theirs. */
export function multipart(parts: readonly FormPart[], boundary = `----sandkit${randomBytes(8).toString("hex")}`): { contentType: string; body: Buffer } {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`;
    if (part.filename !== undefined) head += `; filename="${part.filename}"`;
    head += "\r\n";
    if (part.contentType !== undefined) head += `Content-Type: ${part.contentType}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`), Buffer.from(part.value), Buffer.from("\r\n"));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(chunks) };
}

/** A tar.gz of `files` (path → content), with a directory entry for each parent, plain relative names (§7.2). */
export async function tarGz(files: Readonly<Record<string, string | Uint8Array>>): Promise<Uint8Array> {
  const entries: ArchiveEntry[] = [];
  const dirs = new Set<string>();
  for (const path of Object.keys(files).sort()) {
    const segments = path.split("/");
    for (let i = 1; i < segments.length; i++) {
      const dir = segments.slice(0, i).join("/");
      if (!dirs.has(dir)) {
        dirs.add(dir);
        entries.push({ type: "directory", path: dir, mode: 0o755 });
      }
    }
    const content = Buffer.from(files[path]!);
    entries.push({ type: "file", path, content, size: content.byteLength, mode: 0o644 });
  }
  const chunks: Buffer[] = [];
  for await (const chunk of packEntries(entries, { gzip: true })) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** The member names of a tar.gz, sorted. */
export async function memberNames(archive: Uint8Array): Promise<string[]> {
  return (await listArchive(archive)).map((entry) => entry.path).filter((path) => path !== "").sort();
}

/** The content of one member of a tar.gz (plain ustar, names up to 100 bytes: enough for tests). */
export function memberContent(archive: Uint8Array, name: string): string | undefined {
  const tar = gunzipSync(archive);
  for (let offset = 0; offset + 512 <= tar.byteLength; ) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) return undefined;
    const entryName = header.subarray(0, 100).toString("utf8").replace(/\0.*$/s, "");
    const prefix = header.subarray(345, 500).toString("utf8").replace(/\0.*$/s, "");
    const size = Number.parseInt(header.subarray(124, 136).toString("latin1").replace(/\0.*$/s, "").trim() || "0", 8);
    const full = prefix === "" ? entryName : `${prefix}/${entryName}`;
    if (full === name) return tar.subarray(offset + 512, offset + 512 + size).toString("utf8");
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return undefined;
}

/** Archive E1 of the conformance scenarios (§13). */
export const E1 = { uuid: "dae5f9a3-a911-4df4-82f8-b9343241ece5", files: { "dir/file1.txt": "env1\n", "dir/file3.txt": "both1\n", "file1.txt": "env1\n", "file3.txt": "both1\n" } };
/** Archive E2 of the conformance scenarios (§13). */
export const E2 = {
  uuid: "e77f958e-4757-4e8f-89eb-21a0153d53d4",
  files: { "file2.txt": "env2\n", "dir/file2.txt": "env2\n", "dir/file3.txt": "both2\n", "file3.txt": "both2\n", "dir2/file2.txt": "env2\n" },
};

/**
 * The backend with connections that have no native archive pair, so the server takes its
 * per-file paths (copy in file by file, save by walking the tree), as on backends without them.
 */
export function perFileBackend(backend: SandboxBackendV1): SandboxBackendV1 {
  return {
    specificationVersion: "v1",
    name: backend.name,
    get capabilities() {
      return backend.capabilities;
    },
    async create(request, call) {
      const connection = await backend.create(request, call);
      const files = connection.files!;
      return {
        info: connection.info,
        exec: (exec, c) => connection.exec(exec, c),
        release: () => connection.release?.() ?? Promise.resolve(),
        files: {
          read: (path, options, c) => files.read(path, options, c),
          write: (path, data, options, c) => files.write(path, data, options, c),
          list: (path, c) => files.list(path, c),
          remove: (path, options, c) => files.remove(path, options, c),
          mkdir: (path, c) => files.mkdir(path, c),
        },
      };
    },
    attach: (id, call) => backend.attach(id, call),
    destroy: (id, call) => backend.destroy(id, call),
    health: (call) => backend.health(call),
    close: () => backend.close(),
  };
}

/** Whether bubblewrap works on this machine, through the local backend's own probe. */
export async function bubblewrapWorks(): Promise<boolean> {
  const probeRoot = await mkdtemp(join(tmpdir(), "sandkit-sandbox-api-probe-"));
  const backend = await createBackend("local", { isolation: "auto", root: probeRoot });
  try {
    return backend.capabilities.isolation === "namespace";
  } finally {
    await backend.close();
    await rm(probeRoot, { recursive: true, force: true });
  }
}
