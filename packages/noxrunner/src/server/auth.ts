import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { Secret } from "@sandkit/core";
import { ERROR_CODES, HttpError } from "./http-error.js";

/** The scheme word of the `Authorization` fallback; case-sensitive and followed by one space, as in the reference server. */
const AUTHORIZATION_PREFIX = "ServiceKey ";

/**
 * Checks a request's service key against the accepted keys, in constant time: every key is
 * compared (as SHA-256 digests, so lengths leak nothing) whatever the outcome. The key comes
 * from `X-Service-Key`, or else from `Authorization: ServiceKey <key>`; any other
 * `Authorization` scheme counts as no key. Returns when the key is accepted (or no keys are
 * configured); otherwise throws `SERVICE_KEY_MISSING` or `SERVICE_KEY_INVALID` with `status`.
 */
export class ServiceKeyCheck {
  readonly #digests: readonly Buffer[];
  readonly #status: number;

  constructor(keys: readonly Secret[], status: number) {
    this.#digests = keys.map((key) => digest(key.reveal()));
    this.#status = status;
  }

  /** Whether any key is configured (authentication on). */
  get enabled(): boolean {
    return this.#digests.length > 0;
  }

  /** Throws the protocol's `HttpError` unless `headers` carry an accepted key. */
  check(headers: IncomingHttpHeaders): void {
    if (!this.enabled) return;
    const presented = presentedKey(headers);
    if (presented === undefined) {
      throw new HttpError(this.#status, ERROR_CODES.SERVICE_KEY_MISSING, "service key is missing");
    }
    const candidate = digest(presented);
    let accepted = false;
    for (const known of this.#digests) {
      // No early exit: the time taken does not depend on which key (if any) matched.
      if (timingSafeEqual(candidate, known)) accepted = true;
    }
    if (!accepted) throw new HttpError(this.#status, ERROR_CODES.SERVICE_KEY_INVALID, "service key is invalid");
  }
}

/** The key a request presents, or `undefined` when it presents none. */
function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const direct = headers["x-service-key"];
  if (typeof direct === "string" && direct.length > 0) return direct;
  const authorization = headers.authorization;
  if (typeof authorization === "string" && authorization.startsWith(AUTHORIZATION_PREFIX)) {
    const key = authorization.slice(AUTHORIZATION_PREFIX.length);
    if (key.length > 0) return key;
  }
  return undefined;
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}
