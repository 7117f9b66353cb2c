import { createBackend, ValidationError } from "@sandkit/core";
import { type HttpServerHandle, serveHttp } from "@sandkit/core/server-kit";
import { ApiKeyCheck } from "./auth.js";
import { type ControlPlaneContext, dispatchControlPlane } from "./control-plane.js";
import { type ProvisionerServerOptions, resolveProvisionerOptions } from "./options.js";
import { PodRegistry } from "./pod-registry.js";
import type { ProvisionerServer } from "./provisioner-server.js";

/** How long `close()` waits for requests in flight after their backend calls were aborted. */
const CLOSE_GRACE_MS = 10_000;

/**
 * Starts a server compatible with DeerFlow's remote provisioner: the control plane on
 * `host:port`, and for each sandbox an AIO-sandbox data plane on its own port, over any sandkit
 * backend (the local one by default).
 *
 * ```ts
 * import { createProvisionerServer } from "@sandkit/provisioner/server";
 *
 * await using server = await createProvisionerServer({ apiKey: process.env.PROVISIONER_API_KEY });
 * console.log(`listening on ${server.url}`);
 * ```
 *
 * Options are checked first (`ValidationError` naming the field). Without `apiKey` every `/api/*`
 * request is refused (fail-closed, as upstream). A failure to listen is a `SandboxError` with
 * code `LISTEN_FAILED`. See docs/server.md.
 */
export async function createProvisionerServer(options: ProvisionerServerOptions = {}): Promise<ProvisionerServer> {
  const resolved = resolveProvisionerOptions(options);
  const ownsBackend = options.backend === undefined;
  const backend = options.backend ?? (await createBackend("local", options.local ?? {}));
  if (backend.specificationVersion !== "v1") {
    throw new ValidationError(`backend speaks specification ${String(backend.specificationVersion)}; this server speaks v1`, {
      field: "backend",
      operation: "createProvisionerServer",
    });
  }
  const pods = new PodRegistry(backend, resolved);
  const ctx: ControlPlaneContext = { options: resolved, pods, auth: new ApiKeyCheck(resolved.apiKey) };
  let http: HttpServerHandle;
  try {
    http = await serveHttp({ host: resolved.host, port: resolved.port, handle: (req, res) => dispatchControlPlane(ctx, req, res) });
  } catch (error) {
    if (ownsBackend) await backend.close().catch(() => undefined);
    throw error;
  }
  const { port, url } = http;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await http.stop({ graceMs: CLOSE_GRACE_MS, release: () => pods.close() });
      if (ownsBackend) {
        await backend.close().catch((error: unknown) => resolved.logger.error?.("closing the backend failed", { error: error instanceof Error ? error.name : typeof error }));
      }
    })();
    return closing;
  };
  return {
    url,
    host: resolved.host,
    port,
    backend,
    simulateLostPod: (sandboxId: string) => pods.lose(sandboxId),
    close,
    [Symbol.asyncDispose]: close,
  };
}
