import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { Secret } from "@sandkit/core";

/**
 * The provisioner's `X-API-Key` check, in constant time (SHA-256 digests compared, so lengths
 * leak nothing). Fail-closed like upstream: with no key configured nothing is accepted.
 * Non-ASCII keys are simply wrong (401), not a 500 as upstream's `compare_digest` gives.
 */
export class ApiKeyCheck {
  readonly #digest: Buffer | undefined;

  constructor(key: Secret | undefined) {
    this.#digest = key === undefined ? undefined : digest(key.reveal());
  }

  /** Whether `headers` carry the configured key. Always false when no key is configured. */
  accepts(headers: IncomingHttpHeaders): boolean {
    const presented = headers["x-api-key"];
    const candidate = digest(typeof presented === "string" ? presented : "");
    // Compare even when no key is configured, so that the time taken says nothing.
    const known = this.#digest ?? digest("");
    const equal = timingSafeEqual(candidate, known);
    return this.#digest !== undefined && typeof presented === "string" && equal;
  }
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}
