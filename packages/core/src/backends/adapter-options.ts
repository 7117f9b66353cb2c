import { ValidationError } from "../errors/validation-error.js";
import { Secret } from "../secret.js";

/** A check of one adapter option: returns when `value` is acceptable, throws `ValidationError` naming `field` otherwise. */
export type OptionCheck = (value: unknown, field: string) => void;

/** The option checks every adapter factory needs; errors carry the backend's name and operation `"configure"`. */
export interface AdapterOptionChecks {
  /** The `ValidationError` for a bad `field`. */
  invalid(message: string, field: string): ValidationError;
  /** A positive, finite number of milliseconds. */
  readonly positiveMs: OptionCheck;
  /** A positive safe integer. */
  readonly positiveInt: OptionCheck;
  /** A non-empty string without NUL, CR or LF (safe in a header or a URL). */
  readonly singleLine: OptionCheck;
  /** A credential: a `Secret`, or a non-empty single-line string. */
  readonly secret: OptionCheck;
  /** A plain object (not `null`, not an array). */
  readonly object: OptionCheck;
  /** An HTTP header name (an RFC 9110 token). */
  readonly headerName: OptionCheck;
  /** A map of header names to single-line string values. */
  readonly headers: OptionCheck;
  /**
   * Checks a base URL (`http:` or `https:`, no query or fragment) and returns it, without trailing
   * slashes unless `keepTrailingSlash`. Credentials in it are kept: the transport sends them as
   * Basic auth and never shows them.
   */
  baseUrl(value: string, field: string, options?: { readonly keepTrailingSlash?: boolean }): string;
  /** Checks every key of `options` with `checks`: unknown keys and bad values are a `ValidationError`. */
  known<T extends object>(options: T, checks: Readonly<Record<keyof T, OptionCheck>>): void;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const SINGLE_LINE_BREAKS = /[\0\r\n]/;

/** The option checks of one adapter, e.g. `adapterOptionChecks("noxrunner")`. */
export function adapterOptionChecks(backend: string): AdapterOptionChecks {
  const invalid = (message: string, field: string): ValidationError => new ValidationError(message, { field, backend, operation: "configure" });
  const singleLine: OptionCheck = (value, field) => {
    if (typeof value !== "string" || value === "" || SINGLE_LINE_BREAKS.test(value)) throw invalid(`${field} must be a non-empty single-line string`, field);
  };
  const object: OptionCheck = (value, field) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid(`${field} must be an object`, field);
  };
  return {
    invalid,
    positiveMs(value, field) {
      if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) throw invalid(`${field} must be a positive number of milliseconds`, field);
    },
    positiveInt(value, field) {
      if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) throw invalid(`${field} must be a positive integer`, field);
    },
    singleLine,
    secret(value, field) {
      if (!(value instanceof Secret) && (typeof value !== "string" || value === "" || SINGLE_LINE_BREAKS.test(value))) {
        throw invalid(`${field} must be a non-empty single-line string or a Secret`, field);
      }
    },
    object,
    headerName(value, field) {
      if (typeof value !== "string" || !HEADER_NAME.test(value)) throw invalid(`${field} must be an HTTP header name`, field);
    },
    headers(value, field) {
      object(value, field);
      for (const [name, header] of Object.entries(value as Record<string, unknown>)) {
        if (!HEADER_NAME.test(name)) throw invalid(`${field} has an invalid header name ${JSON.stringify(name)}`, field);
        if (typeof header !== "string" || SINGLE_LINE_BREAKS.test(header)) throw invalid(`${field}.${name} must be a single-line string`, field);
      }
    },
    baseUrl(value, field, options = {}) {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        throw invalid(`${field} is not a valid URL`, field);
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") throw invalid(`${field} must be an http: or https: URL, got ${url.protocol}`, field);
      if (url.search !== "" || url.hash !== "") throw invalid(`${field} must not have a query or a fragment`, field);
      return options.keepTrailingSlash === true ? value : value.replace(/\/+$/, "");
    },
    known(options, checks) {
      for (const [key, value] of Object.entries(options)) {
        const check = (checks as Readonly<Record<string, OptionCheck>>)[key];
        if (check === undefined) throw invalid(`unknown option ${JSON.stringify(key)} for the ${backend} backend; known: ${Object.keys(checks).join(", ")}`, key);
        if (value !== undefined) check(value, key);
      }
    },
  };
}

/** The first of `names` that is set (and not blank) in `env`, trimmed, with the name it came from. */
export function firstEnv(env: Readonly<Record<string, string | undefined>>, names: readonly string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value.trim() !== "") return { name, value: value.trim() };
  }
  return undefined;
}
