import { type ValidationDetail, unprocessable } from "./http-io.js";

/**
 * Reads the fields of one JSON request body with pydantic-like checks. Every problem is
 * collected, and {@link RequestFields.done} throws one `422 {"detail":[...]}` listing them all.
 */
export class RequestFields {
  readonly #body: Record<string, unknown>;
  readonly #problems: ValidationDetail[] = [];

  constructor(body: Record<string, unknown>) {
    this.#body = body;
  }

  #problem(type: string, field: string, msg: string): undefined {
    this.#problems.push({ type, loc: ["body", field], msg, input: this.#body[field] });
    return undefined;
  }

  /** A required string. */
  requiredString(field: string): string {
    const value = this.#body[field];
    if (value === undefined || value === null) {
      this.#problems.push({ type: "missing", loc: ["body", field], msg: "Field required", input: this.#body });
      return "";
    }
    if (typeof value !== "string") return this.#problem("string_type", field, "Input should be a valid string") ?? "";
    return value;
  }

  /** An optional string (null counts as absent). */
  string(field: string): string | undefined {
    const value = this.#body[field];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "string") return this.#problem("string_type", field, "Input should be a valid string");
    return value;
  }

  /** An optional boolean. */
  boolean(field: string): boolean | undefined {
    const value = this.#body[field];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "boolean") return this.#problem("bool_type", field, "Input should be a valid boolean");
    return value;
  }

  /** An optional finite number within `[min, max]`. */
  number(field: string, min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY): number | undefined {
    const value = this.#body[field];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "number" || !Number.isFinite(value)) return this.#problem("float_type", field, "Input should be a valid number");
    if (value < min) return this.#problem("greater_than_equal", field, `Input should be greater than or equal to ${min}`);
    if (value > max) return this.#problem("less_than_equal", field, `Input should be less than or equal to ${max}`);
    return value;
  }

  /** An optional whole number within `[min, max]`. */
  integer(field: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const value = this.number(field, min, max);
    if (value !== undefined && !Number.isInteger(value)) return this.#problem("int_type", field, "Input should be a valid integer");
    return value;
  }

  /** An optional map of string to string. */
  stringMap(field: string): Record<string, string> | undefined {
    const value = this.#body[field];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "object" || Array.isArray(value)) return this.#problem("dict_type", field, "Input should be a valid dictionary");
    const out: Record<string, string> = {};
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      if (typeof item !== "string") return this.#problem("string_type", field, `Input should be a valid string at key ${JSON.stringify(key)}`);
      out[key] = item;
    }
    return out;
  }

  /** An optional string that must match `pattern`. */
  matching(field: string, pattern: RegExp): string | undefined {
    const value = this.string(field);
    if (value !== undefined && !pattern.test(value)) return this.#problem("string_pattern_mismatch", field, `String should match pattern '${pattern.source}'`);
    return value;
  }

  /** One of `allowed`, or absent. */
  oneOf<const T extends string>(field: string, allowed: readonly T[]): T | undefined {
    const value = this.string(field);
    if (value !== undefined && !allowed.includes(value as T)) {
      return this.#problem("enum", field, `Input should be ${allowed.map((a) => `'${a}'`).join(", ")}`);
    }
    return value as T | undefined;
  }

  /** The raw value of `field`. */
  raw(field: string): unknown {
    return this.#body[field];
  }

  /** Records a problem found by the caller. */
  fail(field: string, type: string, msg: string): void {
    this.#problem(type, field, msg);
  }

  /** Throws `422` when any field was wrong. */
  done(): void {
    if (this.#problems.length > 0) throw unprocessable(this.#problems);
  }
}
