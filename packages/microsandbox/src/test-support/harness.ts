import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBackend, type CreateRequestV1 } from "@sandkit/core";
import { local } from "@sandkit/local";
import { createMicrosandboxServer } from "../server/index.ts";
import type { MicrosandboxServer, MicrosandboxServerOptions, StartContext } from "../server/index.ts";

/** The secret the test servers sign keys with. */
export const SECRET = "adapter-test-secret-0123456789ab";

/** A server over a local backend (bubblewrap, so commands see /workspace), rooted in a temp dir. */
export interface Harness extends AsyncDisposable {
  readonly server: MicrosandboxServer;
  close(): Promise<void>;
}

/** Passes `config.envs` on as the sandbox's env (the server's default mapper passes labels only). */
export function withEnvs(context: StartContext): CreateRequestV1 {
  const env: Record<string, string> = {};
  for (const pair of context.config.envs ?? []) {
    const at = pair.indexOf("=");
    if (at > 0) env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return { env, labels: { "microsandbox.namespace": context.namespace, "microsandbox.name": context.name } };
}

/** Starts a server on 127.0.0.1, port 0. */
export async function startHarness(options: Omit<MicrosandboxServerOptions, "backend"> = {}): Promise<Harness> {
  const root = await mkdtemp(join(tmpdir(), "sandkit-msb-adapter-"));
  const backend = local({ root, isolation: "bubblewrap" });
  let server: MicrosandboxServer;
  try {
    server = await createMicrosandboxServer({ apiKeySecret: SECRET, createRequest: withEnvs, ...options, backend, host: "127.0.0.1", port: 0 });
  } catch (error) {
    await backend.close();
    await rm(root, { recursive: true, force: true });
    throw error;
  }
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      await server.close();
      await backend.close();
      await rm(root, { recursive: true, force: true });
    })());
  return { server, close, [Symbol.asyncDispose]: close };
}

/** Whether bubblewrap works on this machine (the local backend's `auto` picks it). */
export async function bubblewrapWorks(): Promise<boolean> {
  const backend = await createBackend("local", { isolation: "auto", root: join(tmpdir(), "sandkit-msb-probe-unused") });
  try {
    return backend.capabilities.isolation === "namespace";
  } finally {
    await backend.close();
  }
}
