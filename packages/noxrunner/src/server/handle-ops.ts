import type { ServerResponse } from "node:http";
import { createCallContext } from "@sandkit/core";
import { sendText } from "@sandkit/core/server-kit";
import type { ServerContext } from "./handler-context.js";
import { sendJson } from "./http-io.js";
import { describe } from "./sessions.js";
import { rfc3339Seconds } from "./wire-format.js";

/** How long `/healthz` and `/readyz` wait for the backend's health. */
const HEALTH_TIMEOUT_MS = 5_000;

/**
 * `GET /healthz`. `"text"` (SPECS.md, what the upstream Python client recognises): `200
 * text/plain OK` when the backend reports healthy, `503` (text) when it does not or the server
 * is shutting down. `"json"` (reference server v0, a pure liveness probe): always `200
 * {"status":"ok","time":...}` while the process runs.
 */
export async function handleHealthz(ctx: ServerContext, res: ServerResponse): Promise<void> {
  if (ctx.options.healthStyle === "json") {
    sendJson(res, 200, { status: "ok", time: rfc3339Seconds(Date.now()) });
    return;
  }
  if (await backendHealthy(ctx)) sendText(res, 200, "OK");
  else sendText(res, 503, "UNAVAILABLE");
}

/** Whether the server is open and the backend answers `health()` with `ok`; the backend's detail is logged, never sent. */
async function backendHealthy(ctx: ServerContext): Promise<boolean> {
  if (ctx.sessions.signal.aborted) return false;
  const call = createCallContext({ owner: ctx.sessions.signal, timeoutMs: HEALTH_TIMEOUT_MS });
  try {
    const health = await ctx.backend.health(call);
    if (health.ok !== true) ctx.options.logger.warn?.("backend is not healthy", { detail: health.detail });
    return health.ok === true;
  } catch (error) {
    ctx.options.logger.warn?.("backend health check failed", { error: describe(error) });
    return false;
  } finally {
    call.dispose();
  }
}

/** The body of `/readyz`, with the reference server's field names. */
export interface ReadyBody {
  readonly ready: boolean;
  readonly configLoaded: boolean;
  /** Named after the reference server's Kubernetes check; here: the backend answers `health()` with `ok`. */
  readonly k8sConnected: boolean;
  readonly message: string;
}

/** `GET /readyz`: 200 when the backend reports healthy, 503 otherwise (or while shutting down). The backend's detail is logged, not sent. */
export async function handleReadyz(ctx: ServerContext, res: ServerResponse): Promise<void> {
  if (ctx.sessions.signal.aborted) {
    sendJson(res, 503, { ready: false, configLoaded: true, k8sConnected: false, message: "shutting down" } satisfies ReadyBody);
    return;
  }
  const ok = await backendHealthy(ctx);
  sendJson(res, ok ? 200 : 503, { ready: ok, configLoaded: true, k8sConnected: ok, message: ok ? "ready" : "backend is not healthy" } satisfies ReadyBody);
}
