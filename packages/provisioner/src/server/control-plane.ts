import type { IncomingMessage, ServerResponse } from "node:http";
import { ApiKeyCheck } from "./auth.js";
import { detailError, HttpError, readJsonObject, sendHttpError } from "./http-io.js";
import type { ResolvedProvisionerOptions } from "./options.js";
import { SandboxError } from "@sandkit/core";
import { drainBody, sendJson, sendText } from "@sandkit/core/server-kit";
import { PartialCleanupError, type Pod, type PodRegistry, RegistryClosedError } from "./pod-registry.js";
import { RequestFields } from "./request-fields.js";

/**
 * Sandbox ids this server accepts on create: what Kubernetes accepts in `sandbox-<id>-svc`
 * (lowercase alphanumerics and `-`, at most 51 characters, alphanumeric at both ends). Upstream
 * does not check and answers a bad id with a K8s 500; here it is a `422` before anything is made.
 */
export const SANDBOX_ID_PATTERN = /^[a-z0-9](?:[-a-z0-9]{0,49}[a-z0-9])?$/;
const THREAD_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const USER_ID_PATTERN = /^[A-Za-z0-9_-]+$/;
/** The container paths upstream allows extra mounts at. */
const ALLOWED_MOUNT_PATHS = new Set([
  "/mnt/acp-workspace",
  "/mnt/skills/custom",
  "/mnt/skills/integrations",
  "/mnt/integrations/lark-cli/config",
  "/mnt/integrations/lark-cli/config/locks",
  "/mnt/integrations/lark-cli/data",
  "/mnt/integrations/lark-cli/runtime",
]);
const MAX_EXTRA_MOUNTS = 10;

/** `SandboxResponse`: exactly the three fields upstream returns. */
export interface SandboxResponse {
  readonly sandbox_id: string;
  readonly sandbox_url: string;
  readonly status: string;
}

/** What the control-plane handlers share. */
export interface ControlPlaneContext {
  readonly options: ResolvedProvisionerOptions;
  readonly pods: PodRegistry;
  readonly auth: ApiKeyCheck;
}

function responseOf(pod: Pod): SandboxResponse {
  return { sandbox_id: pod.id, sandbox_url: pod.url, status: pod.status };
}

/** Answers one control-plane request. Errors become upstream's bodies (§1.2). */
export async function dispatchControlPlane(ctx: ControlPlaneContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? "GET";
  let path: string;
  try {
    path = new URL(req.url ?? "/", "http://provisioner").pathname;
  } catch {
    path = "/";
  }
  try {
    if (path === "/health") {
      if (method !== "GET") throw detailError(405, "Method Not Allowed");
      sendJson(res, 200, { status: "ok" });
      return;
    }
    // Auth runs before routing and body checks, like upstream's middleware: an unauthenticated
    // request learns nothing about paths or bodies. Fail-closed when no key is configured.
    if (path.startsWith("/api/") && !ctx.auth.accepts(req.headers)) {
      throw new HttpError(401, "Unauthorized");
    }
    if (path === "/api/capabilities") {
      if (method !== "GET") throw detailError(405, "Method Not Allowed");
      sendJson(res, 200, { lark_cli_init_image: false, lark_cli_broker_image: false });
      return;
    }
    if (path === "/api/sandboxes") {
      if (method === "POST") return await handleCreate(ctx, req, res);
      if (method === "GET") {
        const sandboxes = ctx.pods.list().map(responseOf);
        sendJson(res, 200, { sandboxes, count: sandboxes.length });
        return;
      }
      throw detailError(405, "Method Not Allowed");
    }
    const one = /^\/api\/sandboxes\/([^/]+)$/.exec(path);
    if (one !== null) {
      let id: string;
      try {
        id = decodeURIComponent(one[1] ?? "");
      } catch {
        throw detailError(404, "Not Found");
      }
      if (method === "GET") {
        const pod = ctx.pods.find(id);
        if (pod === undefined) throw detailError(404, `Sandbox '${id}' not found`);
        sendJson(res, 200, responseOf(pod));
        return;
      }
      if (method === "DELETE") {
        try {
          await ctx.pods.remove(id);
        } catch (error) {
          if (error instanceof PartialCleanupError) throw detailError(500, `Partial cleanup: pod: ${error.reason}`);
          throw error;
        }
        sendJson(res, 200, { ok: true, sandbox_id: id });
        return;
      }
      throw detailError(405, "Method Not Allowed");
    }
    throw detailError(404, "Not Found");
  } catch (error) {
    let answer: HttpError;
    if (error instanceof HttpError) answer = error;
    else if (error instanceof RegistryClosedError) answer = new HttpError(503, { detail: "the server is shutting down" });
    else {
      ctx.options.logger.error?.("control-plane request failed", { path, error: error instanceof Error ? error.name : typeof error });
      answer = new HttpError(500, "Internal Server Error");
    }
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    const drained = answer.closeConnection || (await drainBody(req, ctx.options.maxJsonBytes));
    if (answer.status === 401) {
      // Starlette's bare `Response`: plain text, no Content-Type.
      sendText(res, 401, "Unauthorized", { contentType: false, headers: drained ? {} : { Connection: "close" } });
      return;
    }
    if (typeof answer.body === "string") {
      sendText(res, answer.status, answer.body, { headers: drained ? {} : { Connection: "close" } });
      return;
    }
    sendHttpError(res, drained ? answer : new HttpError(answer.status, answer.body, { closeConnection: true }));
  }
}

/**
 * `POST /api/sandboxes`: create, or return the existing sandbox (keyed on the id only; the other
 * fields of a repeat create are ignored, as upstream). Validates the body like upstream's
 * pydantic model (`422`) and the extra mounts (`400`, only on the create path); extra mounts and
 * the lark flags are accepted but not mounted (there is no host state to mount).
 */
async function handleCreate(ctx: ControlPlaneContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const fields = new RequestFields(await readJsonObject(req, ctx.options.maxJsonBytes));
  const sandboxId = fields.requiredString("sandbox_id");
  if (typeof fields.raw("sandbox_id") === "string" && !SANDBOX_ID_PATTERN.test(sandboxId)) {
    fields.fail("sandbox_id", "string_pattern_mismatch", `String should match pattern '${SANDBOX_ID_PATTERN.source}'`);
  }
  fields.matching("thread_id", THREAD_ID_PATTERN);
  fields.matching("user_id", USER_ID_PATTERN);
  fields.boolean("include_legacy_skills");
  fields.boolean("provision_lark_cli_runtime");
  fields.boolean("provision_lark_cli_broker");
  const mounts = extraMountsOf(fields);
  fields.done();
  if (ctx.pods.find(sandboxId) === undefined) checkExtraMounts(mounts);
  let pod: Pod;
  try {
    ({ pod } = await ctx.pods.ensure(sandboxId));
  } catch (error) {
    if (error instanceof RegistryClosedError) throw error;
    const reason = SandboxError.isInstance(error) ? error.code : "error";
    ctx.options.logger.error?.("creating a sandbox failed", { sandboxId, reason });
    throw detailError(500, `Pod creation failed: ${reason}`);
  }
  sendJson(res, 200, responseOf(pod));
}

interface ExtraMount {
  readonly host_path: string;
  readonly container_path: string;
}

function extraMountsOf(fields: RequestFields): ExtraMount[] {
  const raw = fields.raw("extra_mounts");
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    fields.fail("extra_mounts", "list_type", "Input should be a valid list");
    return [];
  }
  const mounts: ExtraMount[] = [];
  raw.forEach((item: unknown, index) => {
    const entry = item as Record<string, unknown> | null;
    if (typeof entry !== "object" || entry === null || typeof entry.host_path !== "string" || typeof entry.container_path !== "string" || (entry.read_only !== undefined && typeof entry.read_only !== "boolean")) {
      fields.fail("extra_mounts", "model_type", `extra_mounts[${index}] needs string host_path and container_path and an optional boolean read_only`);
      return;
    }
    mounts.push({ host_path: entry.host_path, container_path: entry.container_path });
  });
  return mounts;
}

/** Upstream's extra-mount rules and texts (`400`); host paths must be absolute (no host state exists to be inside of). */
function checkExtraMounts(mounts: readonly ExtraMount[]): void {
  if (mounts.length > MAX_EXTRA_MOUNTS) throw detailError(400, `Too many extra mounts; max is ${MAX_EXTRA_MOUNTS}`);
  const seen = new Set<string>();
  for (const mount of mounts) {
    const container = normalise(mount.container_path);
    if (!container.startsWith("/")) throw detailError(400, `Extra mount path must be absolute: ${mount.container_path}`);
    if (!ALLOWED_MOUNT_PATHS.has(container)) throw detailError(400, `Unsupported extra mount path: ${container}`);
    if (seen.has(container)) throw detailError(400, `Duplicate extra mount path: ${container}`);
    seen.add(container);
    if (!mount.host_path.startsWith("/")) throw detailError(400, `Extra mount host path must be absolute: ${mount.host_path}`);
    if (mount.host_path.includes("\0")) throw detailError(400, `Invalid extra mount host path: ${mount.host_path}`);
  }
}

/** `posix.normpath`-like: collapses `.`, `..` and repeated slashes. */
function normalise(path: string): string {
  const absolute = path.startsWith("/");
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
      continue;
    }
    out.push(part);
  }
  return (absolute ? "/" : "") + out.join("/") || (absolute ? "/" : ".");
}
