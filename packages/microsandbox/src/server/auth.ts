import type { IncomingHttpHeaders } from "node:http";
import { ALL_NAMESPACES, API_KEY_PREFIX, type ApiKeyClaims, verifyApiKeyToken } from "./api-keys.js";
import { accessDenied, invalidCredentials, invalidToken, validation } from "./wire-errors.js";

/**
 * Checks a request's key as upstream's middleware does (§3.3): `Proxy-Authorization` first (when
 * present, `Authorization` is not looked at), an optional `Bearer ` prefix, then `msb_` and an
 * HS256 JWT. Throws the shape-B error; returns the claims.
 */
export function authenticate(headers: IncomingHttpHeaders, secret: string): ApiKeyClaims {
  const raw = headers["proxy-authorization"] ?? headers["authorization"];
  if (typeof raw !== "string" || !/^[\x20-\x7e\t]*$/.test(raw)) throw invalidCredentials();
  const token = raw.startsWith("Bearer ") ? raw.slice("Bearer ".length) : raw;
  if (!token.startsWith(API_KEY_PREFIX)) throw invalidCredentials();
  const claims = verifyApiKeyToken(token.slice(API_KEY_PREFIX.length), secret);
  if (claims === undefined) throw invalidToken();
  return claims;
}

/**
 * Upstream's namespace check for scoped keys (§3.4), which parses the body itself before the
 * JSON-RPC layer does: `params.namespace` must be a string equal to the key's namespace.
 */
export function checkNamespaceScope(claims: ApiKeyClaims, body: string): void {
  if (claims.namespace === ALL_NAMESPACES) return;
  let request: unknown;
  try {
    request = JSON.parse(body);
  } catch (error) {
    throw validation(`Invalid JSON-RPC request: ${error instanceof Error ? error.message : "invalid JSON"}`);
  }
  const object = typeof request === "object" && request !== null && !Array.isArray(request) ? (request as Record<string, unknown>) : {};
  if (!Object.hasOwn(object, "params")) throw validation("Missing 'params' field in JSON-RPC request");
  const params = object["params"];
  const namespace = typeof params === "object" && params !== null ? (params as Record<string, unknown>)["namespace"] : undefined;
  if (typeof namespace !== "string") {
    const method = typeof object["method"] === "string" ? object["method"] : "";
    throw validation(`Missing or invalid 'namespace' in params for method '${method}'`);
  }
  if (namespace !== claims.namespace) throw accessDenied();
}
