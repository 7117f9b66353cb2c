/** Session ids the server accepts: the later reference server's rule (1 to 128 characters, a letter or digit first, then `[A-Za-z0-9._-]`). */
export const SESSION_ID_PATTERN: RegExp = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The operations of the sandbox API. */
export type SandboxAction = "sandbox" | "touch" | "exec" | "upload" | "download";

/** Which method each action answers. */
export const ACTION_METHODS: Readonly<Record<SandboxAction, readonly string[]>> = {
  sandbox: ["PUT", "DELETE"],
  touch: ["POST"],
  exec: ["POST"],
  upload: ["POST"],
  download: ["GET"],
};

/** Where a request path leads. */
export type Route =
  | { readonly kind: "healthz" }
  | { readonly kind: "readyz" }
  /** Under `/v1/`: authentication applies. */
  | { readonly kind: "v1"; readonly target: V1Target };

/** A `/v1/...` path. */
export type V1Target =
  | { readonly kind: "sandbox"; readonly action: SandboxAction; readonly sessionId: string }
  /** Under `/v1/sandboxes/` but not a route with a valid id: `400 "sessionId required"`, like the reference server. */
  | { readonly kind: "bad-session" }
  /** Any other `/v1/...` path: Go's plain-text 404. */
  | { readonly kind: "not-found" };

const SANDBOXES_PREFIX = "/v1/sandboxes/";

/**
 * Reads the route of a request target (path and query; the query is ignored here). The session
 * id segment is percent-decoded and must match {@link SESSION_ID_PATTERN}, so `a%23b` or
 * `a%2Fb` can never address `a`. Returns `undefined` outside `/healthz`, `/readyz` and `/v1/`.
 */
export function parseRoute(target: string): Route | undefined {
  const query = target.indexOf("?");
  const path = query === -1 ? target : target.slice(0, query);
  if (path === "/healthz") return { kind: "healthz" };
  if (path === "/readyz") return { kind: "readyz" };
  if (!path.startsWith("/v1/")) return undefined;
  if (!path.startsWith(SANDBOXES_PREFIX)) return { kind: "v1", target: { kind: "not-found" } };
  return { kind: "v1", target: parseSandboxPath(path.slice(SANDBOXES_PREFIX.length)) };
}

function parseSandboxPath(rest: string): V1Target {
  const segments = rest.split("/");
  const rawId = segments[0] ?? "";
  const action = actionOf(segments.slice(1));
  if (action === undefined) return { kind: "bad-session" };
  let sessionId: string;
  try {
    sessionId = decodeURIComponent(rawId);
  } catch {
    return { kind: "bad-session" };
  }
  if (!SESSION_ID_PATTERN.test(sessionId)) return { kind: "bad-session" };
  return { kind: "sandbox", action, sessionId };
}

function actionOf(tail: readonly string[]): SandboxAction | undefined {
  if (tail.length === 0) return "sandbox";
  if (tail.length === 1 && tail[0] === "touch") return "touch";
  if (tail.length === 1 && tail[0] === "exec") return "exec";
  if (tail.length === 2 && tail[0] === "files" && tail[1] === "upload") return "upload";
  if (tail.length === 2 && tail[0] === "files" && tail[1] === "download") return "download";
  return undefined;
}

/** The query parameter `name` of a request target, form-decoded (`+` is a space), or `undefined`. */
export function queryParam(target: string, name: string): string | undefined {
  const query = target.indexOf("?");
  if (query === -1) return undefined;
  return new URLSearchParams(target.slice(query + 1)).get(name) ?? undefined;
}
