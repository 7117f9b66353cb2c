/**
 * Secrets known to this process. `Secret` registers its value here so that any message sandkit
 * builds (errors, traces) has it replaced by `[redacted]`, even when a server echoed it back.
 */
const knownSecrets = new Set<string>();

/** The text that stands in for a secret. */
export const REDACTED = "[redacted]";

/** Remembers a secret value so that `redactSecrets` hides it. Values shorter than 4 characters are not tracked (they would redact ordinary words). */
export function registerSecret(value: string): void {
  if (value.length >= 4) knownSecrets.add(value);
}

const credentialPatterns: readonly RegExp[] = [
  // Authorization-like headers: keep the header name and scheme, hide the credential.
  /\b(authorization|proxy-authorization)(["']?\s*[:=]\s*["']?)(bearer\s+|basic\s+|servicekey\s+)?[^\s"',;]+/gi,
  // key-like headers and query parameters: x-service-key, x-api-key, api_key=, token=, ...
  /\b(x-service-key|x-api-key|api[_-]?key|apikey|access[_-]?token|token|secret|password)(["']?\s*[:=]\s*["']?)[^\s"',;&]+/gi,
  // user:password@ in URLs.
  /(\/\/)[^/\s:@]+:[^/\s@]+@/g,
];

/** Replaces known secrets and credential-shaped text in `text`. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const secret of knownSecrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  out = out.replace(credentialPatterns[0]!, (_m, name: string, sep: string, scheme: string | undefined) => `${name}${sep}${scheme ?? ""}${REDACTED}`);
  out = out.replace(credentialPatterns[1]!, (_m, name: string, sep: string) => `${name}${sep}${REDACTED}`);
  out = out.replace(credentialPatterns[2]!, `$1${REDACTED}@`);
  return out;
}

/** Redacts the message and stack of every error in a `cause` chain, in place, to a bounded depth. */
export function redactCauseChain(cause: unknown): void {
  let current: unknown = cause;
  for (let depth = 0; depth < 8 && current instanceof Error; depth += 1) {
    try {
      current.message = redactSecrets(current.message);
      if (typeof current.stack === "string") current.stack = redactSecrets(current.stack);
    } catch {
      // A frozen error: leave it; sandkit's own message is already redacted.
    }
    current = current.cause;
  }
}
