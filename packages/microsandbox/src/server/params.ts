import { validation } from "./wire-errors.js";

/** A sandbox definition from `sandbox.start`'s `config` (protocol §5.1). Only kept when `image` is given. */
export interface StartConfig {
  readonly image: string;
  /** MiB (u32). */
  readonly memory?: number | undefined;
  /** vCPUs (u8). */
  readonly cpus?: number | undefined;
  readonly volumes?: readonly string[] | undefined;
  readonly ports?: readonly string[] | undefined;
  readonly envs?: readonly string[] | undefined;
  readonly depends_on?: readonly string[] | undefined;
  readonly workdir?: string | undefined;
  readonly shell?: string | undefined;
  readonly scripts?: Readonly<Record<string, string>> | undefined;
  readonly exec?: string | undefined;
}

type Params = Record<string, unknown>;

/** `params` as an object, or the upstream "Invalid params" 400. */
export function paramsObject(method: string, params: unknown): Params {
  if (typeof params !== "object" || params === null || Array.isArray(params)) {
    throw validation(`Invalid params for ${method}: invalid type: ${serdeType(params)}, expected struct params`);
  }
  return params as Params;
}

/** A required string field, with serde's wording when missing or mistyped. */
export function requiredString(method: string, params: Params, field: string): string {
  const value = params[field];
  if (value === undefined) throw validation(`Invalid params for ${method}: missing field \`${field}\``);
  if (typeof value !== "string") throw validation(`Invalid params for ${method}: invalid type: ${serdeType(value)}, expected a string`);
  return value;
}

/** An optional string field (`null` reads as absent). */
export function optionalString(method: string, params: Params, field: string): string | undefined {
  const value = params[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw validation(`Invalid params for ${method}: invalid type: ${serdeType(value)}, expected a string`);
  return value;
}

/** Upstream's name rules for sandboxes (`kind` "Sandbox") and namespaces (`kind` "Namespace"). */
export function checkName(kind: "Sandbox" | "Namespace", name: string): void {
  if (name.length === 0) throw validation(`${kind} name cannot be empty`);
  if (name.length > 63) throw validation(`${kind} name cannot exceed 63 characters`);
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw validation(`${kind} name can only contain alphanumeric characters, hyphens, or underscores`);
  if (!/^[A-Za-z0-9]/.test(name)) throw validation(`${kind} name must start with an alphanumeric character`);
}

/** A namespace for start/stop: the name rules plus no wildcard. */
export function checkNamespace(namespace: string): void {
  if (namespace === "*") throw validation("Wildcard namespace (*) is not valid for sandbox creation");
  checkName("Namespace", namespace);
}

/**
 * Parses `config` as upstream's serde does: unknown keys ignored, every field typed (`memory` u32,
 * `cpus` u8, arrays of strings, `null` arrays refused as in v0.2.6). Returns `undefined` when
 * there is no config or it has no `image` (then upstream ignores every other field).
 */
export function parseStartConfig(value: unknown): StartConfig | undefined {
  const method = "sandbox.start";
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) {
    throw validation(`Invalid params for ${method}: invalid type: ${serdeType(value)}, expected struct SandboxConfig`);
  }
  const config = value as Params;
  const fail = (what: unknown, expected: string): never => {
    throw validation(`Invalid params for ${method}: invalid type: ${serdeType(what)}, expected ${expected}`);
  };
  const str = (field: string): string | undefined => {
    const v = config[field];
    if (v === undefined || v === null) return undefined;
    return typeof v === "string" ? v : fail(v, "a string");
  };
  const uint = (field: string, bits: 8 | 32): number | undefined => {
    const v = config[field];
    if (v === undefined || v === null) return undefined;
    const type = bits === 8 ? "u8" : "u32";
    if (typeof v !== "number" || !Number.isInteger(v)) return fail(v, type);
    if (v < 0 || v >= 2 ** bits) {
      throw validation(`Invalid params for ${method}: invalid value: integer \`${v}\`, expected ${type}`);
    }
    return v;
  };
  const list = (field: string): string[] | undefined => {
    const v = config[field];
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) return fail(v, "a sequence");
    return v.map((item) => (typeof item === "string" ? item : fail(item, "a string")));
  };
  const scriptsValue = config["scripts"];
  let scripts: Record<string, string> | undefined;
  if (scriptsValue !== undefined) {
    if (typeof scriptsValue !== "object" || scriptsValue === null || Array.isArray(scriptsValue)) fail(scriptsValue, "a map");
    scripts = {};
    for (const [key, script] of Object.entries(scriptsValue as Params)) scripts[key] = typeof script === "string" ? script : fail(script, "a string");
  }
  const parsed = {
    image: str("image"),
    memory: uint("memory", 32),
    cpus: uint("cpus", 8),
    volumes: list("volumes"),
    ports: list("ports"),
    envs: list("envs"),
    depends_on: list("depends_on"),
    workdir: str("workdir"),
    shell: str("shell"),
    scripts,
    exec: str("exec"),
  };
  if (parsed.image === undefined) return undefined;
  return { ...parsed, image: parsed.image };
}

/** An optional `timeout` in whole seconds (u64 upstream; a fraction is refused). */
export function timeoutSeconds(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) return Number.NaN;
  return value;
}

/** How serde names a JSON value in "invalid type" messages. */
export function serdeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "sequence";
  switch (typeof value) {
    case "string":
      return `string ${JSON.stringify(value)}`;
    case "boolean":
      return `boolean \`${String(value)}\``;
    case "number":
      if (Number.isInteger(value)) return value < 0 ? `integer \`${value}\`` : `integer \`${value}\``;
      return `floating point \`${String(value)}\``;
    case "object":
      return "map";
    default:
      return "unit";
  }
}
