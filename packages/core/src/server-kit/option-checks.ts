import { ValidationError } from "../errors/index.js";

/** Where a server reports what clients cannot see (failures, expiries). Never given secrets. */
export interface ServerLogger {
  /** Routine events. */
  info?(message: string, fields?: Readonly<Record<string, unknown>>): void;
  /** Events worth a look. */
  warn?(message: string, fields?: Readonly<Record<string, unknown>>): void;
  /** Failures. */
  error?(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

/**
 * Checks of a server's options, each filling in a default for `undefined` and throwing a
 * `ValidationError` that names the field (and the operation the checks were made for) otherwise.
 */
export interface OptionChecks {
  /** The `ValidationError` for a bad `field`. */
  invalid(message: string, field: string): ValidationError;
  /** Throws unless `options` is an object. */
  object(options: unknown): void;
  /** A string that is not empty and holds no NUL. */
  nonEmptyString(value: unknown, fallback: string, field: string): string;
  /** A safe integer from `min` to `max` (default `Number.MAX_SAFE_INTEGER`), both included. */
  integer(value: unknown, fallback: number, field: string, min: number, max?: number): number;
  /** One of `allowed`. */
  oneOf<const T extends string | number>(value: unknown, fallback: T, field: string, allowed: readonly T[]): T;
  /** An object taken as a {@link ServerLogger}; `{}` (logs nothing) when left out. */
  logger(value: unknown): ServerLogger;
}

/** The option checks of one server; their errors carry `operation` (e.g. `"createNoxRunnerServer"`). */
export function optionChecks(operation: string): OptionChecks {
  const invalid = (message: string, field: string): ValidationError => new ValidationError(message, { field, operation });
  return {
    invalid,
    object(options) {
      if (typeof options !== "object" || options === null) throw invalid("options must be an object", "options");
    },
    nonEmptyString(value, fallback, field) {
      if (value === undefined) return fallback;
      if (typeof value !== "string" || value.length === 0 || value.includes("\0")) throw invalid(`${field} must be a non-empty string`, field);
      return value;
    },
    integer(value, fallback, field, min, max = Number.MAX_SAFE_INTEGER) {
      if (value === undefined) return fallback;
      if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
        throw invalid(`${field} must be a whole number from ${min} to ${max}`, field);
      }
      return value;
    },
    oneOf<const T extends string | number>(value: unknown, fallback: T, field: string, allowed: readonly T[]): T {
      if (value === undefined) return fallback;
      if (!allowed.includes(value as T)) throw invalid(`${field} must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`, field);
      return value as T;
    },
    logger(value) {
      if (value === undefined) return {};
      if (typeof value !== "object" || value === null) throw invalid("logger must be an object with info, warn and error methods", "logger");
      return value as ServerLogger;
    },
  };
}
