import { REDACTED, redactSecrets } from "../internal/redact.js";

/** Query parameter names whose values are treated as credentials. */
const SECRET_PARAM = /token|secret|passw|pwd|key|sig|auth|credential|session|cookie|jwt|code/i;

/** Whether a query parameter of this name is replaced by `[redacted]` in errors and traces. */
export function isSecretParam(name: string): boolean {
  return SECRET_PARAM.test(name);
}

/**
 * The URL as sandkit shows it in errors and diagnostics: no user name or password, no fragment,
 * the values of credential-like query parameters (`token`, `api_key`, `signature`, ...) replaced by
 * `[redacted]`, and every known secret hidden.
 */
export function redactUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = typeof url === "string" ? new URL(url) : url;
  } catch {
    return redactSecrets(String(url).replace(/[?#].*$/s, ""));
  }
  let out = `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  if (parsed.search.length > 1) {
    const parts: string[] = [];
    for (const [name, value] of parsed.searchParams) {
      parts.push(`${encodeURIComponent(name)}=${isSecretParam(name) ? REDACTED : encodeURIComponent(value)}`);
    }
    out += `?${parts.join("&")}`;
  }
  return redactSecrets(out);
}
