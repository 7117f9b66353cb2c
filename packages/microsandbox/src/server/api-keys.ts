import { createHmac, randomInt, timingSafeEqual } from "node:crypto";

/** The prefix every microsandbox API key starts with. */
export const API_KEY_PREFIX = "msb_";

/** The namespace claim that grants every namespace. */
export const ALL_NAMESPACES = "*";

/** Leeway on `exp`, in seconds, as the upstream server's JWT library applies by default. */
const EXPIRY_LEEWAY_SECONDS = 60;

/** Default key lifetime of upstream `msb server keygen`: 24 hours. */
const DEFAULT_KEY_LIFETIME_SECONDS = 24 * 60 * 60;

/** What {@link issueMicrosandboxApiKey} mints. */
export interface IssueApiKeyOptions {
  /** The server secret the key is signed with (its UTF-8 bytes are the HS256 key). */
  readonly secret: string;
  /** The namespace the key grants, or `"*"` (the default) for every namespace. */
  readonly namespace?: string | undefined;
  /** Lifetime in seconds; default 24 hours, as upstream keygen. */
  readonly expiresInSeconds?: number | undefined;
  /** The issue time in Unix seconds; default now (for tests). */
  readonly nowSeconds?: number | undefined;
}

/** The claims of a verified key. */
export interface ApiKeyClaims {
  /** Expiry, Unix seconds. */
  readonly exp: number;
  /** Issue time, Unix seconds. */
  readonly iat: number;
  /** The granted namespace, or `"*"`. */
  readonly namespace: string;
}

/**
 * Mints an API key the way upstream `msb server keygen` does: `msb_` followed by an HS256 JWT
 * (header `{"alg":"HS256","typ":"JWT"}`) with the claims `exp`, `iat` and `namespace`, signed
 * with the secret's UTF-8 bytes.
 */
export function issueMicrosandboxApiKey(options: IssueApiKeyOptions): string {
  if (typeof options.secret !== "string" || options.secret.length === 0) throw new TypeError("secret must be a non-empty string");
  const namespace = options.namespace ?? ALL_NAMESPACES;
  if (typeof namespace !== "string" || namespace.length === 0) throw new TypeError("namespace must be a non-empty string");
  const lifetime = options.expiresInSeconds ?? DEFAULT_KEY_LIFETIME_SECONDS;
  if (!Number.isSafeInteger(lifetime) || lifetime <= 0) throw new TypeError("expiresInSeconds must be a positive whole number");
  const iat = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const header = base64url(JSON.stringify({ typ: "JWT", alg: "HS256" }));
  const payload = base64url(JSON.stringify({ exp: iat + lifetime, iat, namespace }));
  const signature = sign(`${header}.${payload}`, options.secret);
  return `${API_KEY_PREFIX}${header}.${payload}.${signature}`;
}

/**
 * Checks the JWT part of a key (without the `msb_` prefix) as upstream does: HS256 only, a valid
 * signature, `exp`/`iat` unsigned integers and `namespace` a string, `exp` not past (60 s leeway).
 * Returns the claims, or `undefined` for any failure (the caller answers 401/1004 either way).
 */
export function verifyApiKeyToken(token: string, secret: string, nowSeconds = Math.floor(Date.now() / 1000)): ApiKeyClaims | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  const [header, payload, signature] = parts as [string, string, string];
  const expected = Buffer.from(sign(`${header}.${payload}`, secret));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
  const head = decodeJson(header);
  if (head === undefined || head["alg"] !== "HS256") return undefined;
  const claims = decodeJson(payload);
  if (claims === undefined) return undefined;
  const { exp, iat, namespace } = claims;
  if (!isUnsigned(exp) || !isUnsigned(iat) || typeof namespace !== "string") return undefined;
  if (exp + EXPIRY_LEEWAY_SECONDS < nowSeconds) return undefined;
  return { exp, iat, namespace };
}

/** A random 32-character alphanumeric secret, as upstream generates when it has none. */
export function generateServerSecret(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  let secret = "";
  for (let i = 0; i < 32; i++) secret += alphabet[randomInt(alphabet.length)];
  return secret;
}

function sign(input: string, secret: string): string {
  return createHmac("sha256", Buffer.from(secret, "utf8")).update(input).digest("base64url");
}

function base64url(text: string): string {
  return Buffer.from(text, "utf8").toString("base64url");
}

function decodeJson(part: string): Record<string, unknown> | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function isUnsigned(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}
