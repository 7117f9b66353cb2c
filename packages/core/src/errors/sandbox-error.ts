import { redactCauseChain, redactSecrets } from "../internal/redact.js";

const BASE_MARKER = Symbol.for("sandkit.error");

/** The fields every sandkit error can be built with. */
export interface SandboxErrorOptions {
  /** The backend name, e.g. `"noxrunner"`, when the error concerns one. */
  readonly backend?: string | undefined;
  /** The operation that failed, e.g. `"exec"` or `"files.read"`. */
  readonly operation?: string | undefined;
  /** The sandbox concerned, when known. */
  readonly sandboxId?: string | undefined;
  /** Whether repeating the operation as-is may succeed. Each subclass has its own default. */
  readonly retryable?: boolean | undefined;
  /** A hint for people and for models on what to do next. */
  readonly suggestion?: string | undefined;
  /** The underlying error. It is kept, but secrets in its message are redacted when shown. */
  readonly cause?: unknown;
}

/**
 * The base of every error sandkit throws. Branch on the subclass (or on the stable `code`),
 * never on the message text.
 *
 * `instanceof` and `isInstance()` work across duplicate copies of `@sandkit/core` (two versions in
 * one `node_modules`, or another realm): both look for a `Symbol.for` marker rather than the class
 * identity.
 */
export class SandboxError extends Error {
  /** A stable, machine-readable code, e.g. `"SANDBOX_NOT_FOUND"`. */
  readonly code: string;
  readonly backend: string | undefined;
  readonly operation: string | undefined;
  readonly sandboxId: string | undefined;
  readonly retryable: boolean;
  readonly suggestion: string | undefined;
  declare readonly cause: unknown;

  /** The code instances of this class carry. */
  static readonly code: string = "SANDKIT_ERROR";

  constructor(message: string, options: SandboxErrorOptions = {}, code?: string) {
    super(redactSecrets(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    if (options.cause !== undefined) redactCauseChain(options.cause);
    this.code = code ?? (new.target as typeof SandboxError).code;
    this.backend = options.backend;
    this.operation = options.operation;
    this.sandboxId = options.sandboxId;
    this.retryable = options.retryable ?? false;
    this.suggestion = options.suggestion;
  }

  /** Whether `value` is a sandkit error of this class (or a subclass), from any copy of the package. */
  static isInstance<T extends abstract new (...args: never[]) => SandboxError>(this: T, value: unknown): value is InstanceType<T> {
    return hasMarker(value, markerOf(this));
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return hasMarker(value, markerOf(this));
  }

  /** A plain object for logs: code, fields and message, with no stack and no secrets. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { name: this.name, code: this.code, message: this.message };
    for (const [key, value] of Object.entries(this)) {
      if (key === "cause" || value === undefined) continue;
      out[key] = value;
    }
    return out;
  }
}

/** Marks `SandboxError` instances; each subclass adds its own marker in `defineErrorMarker`. */
Object.defineProperty(SandboxError.prototype, BASE_MARKER, { value: true });

const markers = new WeakMap<object, symbol>([[SandboxError, BASE_MARKER]]);

function markerOf(ctor: object): symbol {
  const marker = markers.get(ctor);
  if (marker === undefined) {
    throw new TypeError("sandkit: error class was not registered with defineErrorMarker");
  }
  return marker;
}

function hasMarker(value: unknown, marker: symbol): boolean {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[marker] === true;
}

/**
 * Registers a subclass so that `instanceof` and `isInstance` recognise it across package copies.
 * The marker is `Symbol.for("sandkit.error.<Name>")`, so two copies of the same class agree.
 */
export function defineErrorMarker(ctor: abstract new (...args: never[]) => SandboxError, name: string): void {
  const marker = Symbol.for(`sandkit.error.${name}`);
  markers.set(ctor, marker);
  Object.defineProperty(ctor.prototype, marker, { value: true });
}
