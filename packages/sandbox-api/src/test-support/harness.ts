/**
 * Test support (not part of the package's API): the package's compatible server on loopback, over
 * a local backend in a private temp root, for the client's tests.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBackend, type SandboxBackendV1 } from "@sandkit/core";
import { createSandboxApiServer, type SandboxApiServer, type SandboxApiServerOptions } from "../server/index.ts";

/** A running server with its private local backend. */
export interface Harness extends AsyncDisposable {
  readonly server: SandboxApiServer;
  readonly backend: SandboxBackendV1;
  /** Closes the server and the backend, and removes the temp dirs. */
  close(): Promise<void>;
}

/** Whether the local backend can use bubblewrap here (then every command sees its tree at /workspace). */
export async function bubblewrapWorks(): Promise<boolean> {
  const backend = await createBackend("local", { isolation: "auto", root: join(tmpdir(), "sandkit-sandbox-api-probe-unused") });
  try {
    return backend.capabilities.isolation === "namespace";
  } finally {
    await backend.close();
  }
}

/**
 * Starts the server on 127.0.0.1, port 0, over a local backend with its own temp root (isolation
 * `none` unless asked: each execute then runs in a directory of its own path).
 */
export async function startHarness(options: Omit<SandboxApiServerOptions, "backend" | "host" | "port"> = {}, isolation: "none" | "bubblewrap" = "none"): Promise<Harness> {
  const base = await mkdtemp(join(tmpdir(), "sandkit-sandbox-api-client-test-"));
  const backend = await createBackend("local", { root: join(base, "root"), isolation });
  let server: SandboxApiServer;
  try {
    server = await createSandboxApiServer({ backend, host: "127.0.0.1", port: 0, environmentsDir: join(base, "environments"), stagingDir: base, ...options });
  } catch (error) {
    await backend.close();
    await rm(base, { recursive: true, force: true });
    throw error;
  }
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    try {
      await server.close();
    } finally {
      await backend.close();
      await rm(base, { recursive: true, force: true });
    }
  };
  return { server, backend, close, [Symbol.asyncDispose]: close };
}

/** Environment E1 of the protocol's §13: four files in two directories. */
export const E1_FILES: Readonly<Record<string, string>> = {
  "dir/file1.txt": "env1\n",
  "dir/file3.txt": "both1\n",
  "file1.txt": "env1\n",
  "file3.txt": "both1\n",
};

/** Environment E2 of the protocol's §13. */
export const E2_FILES: Readonly<Record<string, string>> = {
  "file2.txt": "env2\n",
  "dir/file2.txt": "env2\n",
  "dir/file3.txt": "both2\n",
  "file3.txt": "both2\n",
  "dir2/file2.txt": "env2\n",
};
