import { REDACTED, registerSecret } from "./internal/redact.js";

const inspectSymbol = Symbol.for("nodejs.util.inspect.custom");

/**
 * A credential (API key, service key, token) that never shows itself: `String()`, JSON and
 * `util.inspect` all give `[redacted]`, and sandkit's error messages hide its value even when a
 * server echoes it. Read it with `reveal()` at the one place it goes on the wire.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
    registerSecret(value);
  }

  /** Wraps a string (or passes a `Secret` through); `undefined` and empty strings stay `undefined`. */
  static from(value: string | Secret | undefined): Secret | undefined {
    if (value instanceof Secret) return value;
    return value === undefined || value === "" ? undefined : new Secret(value);
  }

  /** The secret's value, for the request header that needs it. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspectSymbol](): string {
    return `Secret(${REDACTED})`;
  }
}
