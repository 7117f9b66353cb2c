import { ValidationError } from "@sandkit/core";
import { BACKEND_NAME } from "./constants.js";

/**
 * A Kubernetes resource quantity as the reference server parses it: a non-negative decimal number
 * (`1`, `0.5`, `.5`), then either a binary suffix (`Ki` … `Ei`), a decimal suffix (`n`, `u`, `m`,
 * `k`, `M`, `G`, `T`, `P`, `E`), a decimal exponent (`e3`, `E-2`), or nothing.
 *
 * The reference server parses these with a parser that panics on bad input and then drops the
 * connection without an answer, so sandkit checks them before sending.
 */
const QUANTITY = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$/;

/** Longest quantity string accepted (a sane bound; real ones are a few characters). */
const MAX_LENGTH = 64;

/** Whether `value` is a Kubernetes quantity string (see {@link QUANTITY}). */
export function isQuantity(value: unknown): value is string {
  return typeof value === "string" && value.length <= MAX_LENGTH && QUANTITY.test(value);
}

/** Returns `value` when it is a quantity, else throws a `ValidationError` naming `field`. */
export function checkQuantity(value: unknown, field: string, operation: string): string {
  if (!isQuantity(value)) {
    const shown = typeof value === "string" ? JSON.stringify(value.slice(0, MAX_LENGTH)) : typeof value;
    throw new ValidationError(`${field} must be a Kubernetes quantity such as "500m", "2" or "1Gi", got ${shown}`, {
      field,
      backend: BACKEND_NAME,
      operation,
    });
  }
  return value;
}

/** A CPU count as a quantity: whole CPUs as is (`2`), fractions in millicores (`0.5` → `500m`). */
export function cpuQuantity(cpus: number): string {
  return Number.isInteger(cpus) ? String(cpus) : `${Math.max(1, Math.round(cpus * 1000))}m`;
}

/** A size in MiB as a quantity (`512` → `512Mi`; fractions are rounded up to whole MiB). */
export function mebibyteQuantity(mib: number): string {
  return `${Math.ceil(mib)}Mi`;
}
