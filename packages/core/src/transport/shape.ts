import { ProtocolError } from "../errors/protocol-error.js";

/**
 * A validator of a value from the wire. It returns the value, typed (objects are rebuilt with
 * only the declared keys), or throws a {@link ProtocolError} whose message names the JSON path
 * (`$.data.exit_code`) and what was expected. It never puts the offending value in the message:
 * what a server sends is hostile input and may echo secrets.
 *
 * ```ts
 * const execResult = obj({ exitCode: int, stdout: str, stderr: str, durationMs: optional(num) });
 * type ExecResult = ShapeType<typeof execResult>;
 * const parsed = parseShape(execResult, JSON.parse(text));
 * ```
 */
export type Shape<T> = (value: unknown, path: string) => T;

/** The type a {@link Shape} produces. */
export type ShapeType<S> = S extends Shape<infer T> ? T : never;

/** Validates `value` against `shape`, starting the JSON path at `$`. */
export function parseShape<T>(shape: Shape<T>, value: unknown): T {
  return shape(value, "$");
}

/** Describes a value's JSON kind (never the value itself). */
export function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "string":
      return "a string";
    case "number":
      return Number.isInteger(value) ? "an integer" : "a number";
    case "boolean":
      return "a boolean";
    case "object":
      return "an object";
    default:
      return typeof value;
  }
}

/** Throws the {@link ProtocolError} a shape raises on a mismatch. */
export function shapeMismatch(path: string, expected: string, value: unknown): never {
  throw new ProtocolError(`${path}: expected ${expected}, got ${kindOf(value)}`);
}

/** A string. */
export const str: Shape<string> = (value, path) => (typeof value === "string" ? value : shapeMismatch(path, "a string", value));

/** A finite number. */
export const num: Shape<number> = (value, path) =>
  typeof value === "number" && Number.isFinite(value) ? value : shapeMismatch(path, "a finite number", value);

/** A safe integer (a JSON number with no fraction, within ±2^53). */
export const int: Shape<number> = (value, path) =>
  typeof value === "number" && Number.isSafeInteger(value) ? value : shapeMismatch(path, "an integer", value);

/** A boolean. */
export const bool: Shape<boolean> = (value, path) => (typeof value === "boolean" ? value : shapeMismatch(path, "a boolean", value));

/** Anything at all, left as `unknown` for the caller to narrow. */
export const unknownValue: Shape<unknown> = (value) => value;

/** One of the given string or number literals. */
export function literal<const L extends readonly (string | number | boolean)[]>(...values: L): Shape<L[number]> {
  const expected = values.map((v) => JSON.stringify(v)).join(" | ");
  return (value, path) => (values.includes(value as L[number]) ? (value as L[number]) : shapeMismatch(path, `one of ${expected}`, value));
}

/** The value, or `undefined` when the key is missing or `null` (servers differ on which they send). */
export function optional<T>(shape: Shape<T>): Shape<T | undefined> {
  return (value, path) => (value === undefined || value === null ? undefined : shape(value, path));
}

/** The value, or `null` when it is `null`. A missing key is still a mismatch. */
export function nullable<T>(shape: Shape<T>): Shape<T | null> {
  return (value, path) => (value === null ? null : shape(value, path));
}

/** An array whose every element passes `item`. */
export function array<T>(item: Shape<T>): Shape<T[]> {
  return (value, path) => {
    if (!Array.isArray(value)) return shapeMismatch(path, "an array", value);
    const out: T[] = new Array<T>(value.length);
    for (let i = 0; i < value.length; i += 1) out[i] = item(value[i], `${path}[${i}]`);
    return out;
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** How a key is appended to a JSON path: `.name`, or `["odd key"]`. */
function keySuffix(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** An object with string keys whose every value passes `item`. Returned as a prototype-less copy. */
export function record<T>(item: Shape<T>): Shape<Record<string, T>> {
  return (value, path) => {
    if (!isPlainObject(value)) return shapeMismatch(path, "an object", value);
    const out = Object.create(null) as Record<string, T>;
    for (const key of Object.keys(value)) out[key] = item(value[key], path + keySuffix(key));
    return out;
  };
}

/** The object type an {@link obj} shape produces; keys whose shape admits `undefined` become optional. */
export type ObjType<P extends Readonly<Record<string, Shape<unknown>>>> = {
  [K in keyof P as undefined extends ShapeType<P[K]> ? never : K]: ShapeType<P[K]>;
} & {
  [K in keyof P as undefined extends ShapeType<P[K]> ? K : never]?: ShapeType<P[K]>;
};

/**
 * An object with the given keys. Unknown keys are dropped, so nothing undeclared travels further
 * in; a key is read only if it is the object's own (never from its prototype).
 */
export function obj<const P extends Readonly<Record<string, Shape<unknown>>>>(props: P): Shape<ObjType<P>> {
  const keys = Object.keys(props);
  const shapes = keys.map((key) => props[key]!);
  const suffixes = keys.map(keySuffix);
  return (value, path) => {
    if (!isPlainObject(value)) return shapeMismatch(path, "an object", value);
    const out: Record<string, unknown> = {};
    for (let i = 0; i < keys.length; i += 1) {
      const key = keys[i]!;
      const field = Object.hasOwn(value, key) ? value[key] : undefined;
      const parsed = shapes[i]!(field, path + suffixes[i]!);
      if (parsed !== undefined) out[key] = parsed;
    }
    return out as ObjType<P>;
  };
}

/** The first of `shapes` that accepts the value; a mismatch names all of them. */
export function oneOf<const S extends readonly Shape<unknown>[]>(expected: string, ...shapes: S): Shape<ShapeType<S[number]>> {
  return (value, path) => {
    for (const shape of shapes) {
      try {
        return shape(value, path) as ShapeType<S[number]>;
      } catch (error) {
        if (!ProtocolError.isInstance(error)) throw error;
      }
    }
    return shapeMismatch(path, expected, value);
  };
}

/** Applies `shape`, then maps the typed value (e.g. seconds to milliseconds). */
export function map<T, U>(shape: Shape<T>, fn: (value: T) => U): Shape<U> {
  return (value, path) => fn(shape(value, path));
}
