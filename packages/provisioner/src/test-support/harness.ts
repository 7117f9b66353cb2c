/**
 * Test support for the adapter's tests (not part of the package's API): the provisioner-compatible
 * server of this package on loopback, over a local backend in a private temp root, and a backend
 * pointed at it.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CallContextV1, createBackend } from "@sandkit/core";
import { type ProvisionerOptions, provisioner, type ProvisionerBackend } from "../index.ts";
import { createProvisionerServer, type ProvisionerServer, type ProvisionerServerOptions } from "../server/index.ts";

/** The key the harness's server expects. */
export const TEST_API_KEY = "sk-test-provisioner-7f3a9c21e5";

/** A running server with its private local backend. */
export interface Harness extends AsyncDisposable {
  readonly server: ProvisionerServer;
  /** The local backend's root: every sandbox directory lives below it. */
  readonly root: string;
  /** A backend pointed at the server with the right key (closed by `close()`). */
  backend(options?: ProvisionerOptions): ProvisionerBackend;
  /** The entries under the backend root. */
  sandboxDirs(): Promise<string[]>;
  /** Closes every backend made here, the server, and removes the temp dir. */
  close(): Promise<void>;
}

/** Whether bubblewrap works here (then commands see the sandbox's `/workspace` as a pod's would). */
export async function bubblewrapWorks(): Promise<boolean> {
  const backend = await createBackend("local", { isolation: "auto", root: join(tmpdir(), "sandkit-provisioner-probe-unused") });
  try {
    return backend.capabilities.isolation === "namespace";
  } finally {
    await backend.close();
  }
}

/**
 * Starts the server on 127.0.0.1 port 0 over a local backend in a temp root, isolated with
 * bubblewrap (commands and file calls then agree on absolute paths such as `/workspace/a`), or
 * `none` when asked.
 */
export async function startHarness(options: Omit<ProvisionerServerOptions, "local" | "backend"> = {}, isolation: "bubblewrap" | "none" = "bubblewrap"): Promise<Harness> {
  const base = await mkdtemp(join(tmpdir(), "sandkit-provisioner-adapter-test-"));
  const root = join(base, "root");
  let server: ProvisionerServer;
  try {
    server = await createProvisionerServer({ apiKey: TEST_API_KEY, ...options, local: { root, isolation } });
  } catch (error) {
    await rm(base, { recursive: true, force: true });
    throw error;
  }
  const backends: ProvisionerBackend[] = [];
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      await Promise.allSettled(backends.map((backend) => backend.close()));
      await server.close();
      await rm(base, { recursive: true, force: true });
    })();
    return closed;
  };
  return {
    server,
    root,
    backend(extra = {}) {
      const backend = provisioner({ url: server.url, apiKey: TEST_API_KEY, retry: { maxAttempts: 4, minDelayMs: 5, maxDelayMs: 20 }, ...extra });
      backends.push(backend);
      return backend;
    },
    sandboxDirs: async () => readdir(root).catch(() => []),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A call context with a deadline `timeoutMs` from now. */
export function callWithin(timeoutMs = 30_000): CallContextV1 {
  return { signal: AbortSignal.timeout(timeoutMs), deadline: Date.now() + timeoutMs };
}

/** The rejection of `promise` (fails the test when it resolves). */
export async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}
