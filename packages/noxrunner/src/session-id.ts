import { randomBytes } from "node:crypto";
import { ValidationError } from "@sandkit/core";
import { BACKEND_NAME } from "./constants.js";

/**
 * The session ids sandkit sends to a NoxRunner server: 1 to 128 characters, the first a letter
 * or digit, then letters, digits, `.`, `_` and `-`. This is what later reference servers enforce;
 * the first one accepted any path segment, which let an id such as `a#b` or `a/b` address another
 * sandbox (see the README).
 */
export const SESSION_ID_PATTERN: RegExp = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** A fresh session id: `sk-` and 24 hex digits (96 random bits). */
export function generateSessionId(): string {
  return `sk-${randomBytes(12).toString("hex")}`;
}

/**
 * Checks a caller's session id against {@link SESSION_ID_PATTERN}; a `ValidationError` names the
 * problem. Ids are never rewritten: a refused id is refused, not "fixed".
 */
export function checkSessionId(id: unknown, operation: string): string {
  if (typeof id !== "string" || !SESSION_ID_PATTERN.test(id)) {
    const shown = typeof id === "string" ? JSON.stringify(id.length > 140 ? `${id.slice(0, 140)}…` : id) : typeof id;
    throw new ValidationError(
      `${shown} is not a valid NoxRunner session id: use 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit`,
      { field: "id", backend: BACKEND_NAME, operation },
    );
  }
  return id;
}

/**
 * The URL path of a sandbox (and of one of its sub-resources). The id is checked, then
 * percent-encoded, so that no id can reach another path even on a server that accepts more than
 * {@link SESSION_ID_PATTERN}.
 */
export function sandboxPath(id: string, operation: string, suffix = ""): string {
  return `/v1/sandboxes/${encodeURIComponent(checkSessionId(id, operation))}${suffix}`;
}
