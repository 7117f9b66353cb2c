import { randomBytes } from "node:crypto";
import { ValidationError } from "@sandkit/core";
import { BACKEND_NAME } from "./local-errors.js";

/** The ids the local backend accepts: a letter or digit, then up to 127 letters, digits, `.`, `_` or `-`. */
export const SANDBOX_ID_PATTERN: RegExp = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Throws `ValidationError` (field `id`) unless `id` matches {@link SANDBOX_ID_PATTERN}. */
export function checkSandboxId(id: unknown, operation: string): string {
  if (typeof id !== "string" || !SANDBOX_ID_PATTERN.test(id)) {
    throw new ValidationError(
      `sandbox id must match ${SANDBOX_ID_PATTERN.source} (a letter or digit, then up to 127 of [A-Za-z0-9._-]), got ${describeValue(id)}`,
      { field: "id", backend: BACKEND_NAME, operation },
    );
  }
  return id;
}

/** A fresh random id such as `sbx-3f9c0a1b2d4e5f60`. */
export function generateSandboxId(): string {
  return `sbx-${randomBytes(8).toString("hex")}`;
}

function describeValue(value: unknown): string {
  if (typeof value !== "string") return typeof value;
  const shown = value.length > 40 ? `${value.slice(0, 40)}...` : value;
  return JSON.stringify(shown);
}
