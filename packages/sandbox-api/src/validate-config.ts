import { ValidationError } from "@sandkit/core";
import { BACKEND_NAME, ENVIRONMENT_ID_PATTERN } from "./constants.js";
import type { ExecuteConfig, WireConfig } from "./protocol-types.js";

/** The answer of {@link validateConfig}: the wire config, or the first problem and the field it concerns. */
export type ConfigCheck = { readonly ok: true; readonly wire: WireConfig } | { readonly ok: false; readonly field: string; readonly message: string };

const COMMAND_KEYS = new Set(["command", "timeoutSeconds"]);

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Checks an execute config locally, in the order the server checks it (the base environment
 * first, then `commands`, `env`, the command items, `resultPath`, `save`), plus what the upstream
 * server turns into a 500 or a surprise: unknown keys in a command object, time limits that are
 * not a finite number above 0 (upstream: `0` means *unlimited*, `true` means 1 s), non-string
 * variable values (upstream sends Python reprs), a `resultPath` that is absolute or climbs with
 * `..` (upstream reads it on the server host), and a base environment that is not a lowercase UUID.
 * Returns the config in wire form, or the first problem.
 */
export function validateConfig(config: ExecuteConfig): ConfigCheck {
  const fail = (field: string, message: string): ConfigCheck => ({ ok: false, field, message });
  if (!isPlainObject(config)) return fail("config", `config must be an object, not ${typeName(config)}`);
  const wire: WireConfig = { commands: [] };
  const base: unknown = config.baseEnvironment;
  if (base !== undefined && base !== null) {
    if (typeof base !== "string" || !ENVIRONMENT_ID_PATTERN.test(base)) return fail("baseEnvironment", "baseEnvironment must be a saved environment's lowercase UUID");
    wire.environment = base;
  }
  const commands: unknown = config.commands;
  if (commands === undefined) return fail("commands", "commands is missing");
  if (!Array.isArray(commands)) return fail("commands", `commands must be an array, not ${typeName(commands)}`);
  const env: unknown = config.env;
  if (env !== undefined) {
    if (!isPlainObject(env)) return fail("env", `env must be an object, not ${typeName(env)}`);
    const environ: Record<string, string> = {};
    for (const [name, value] of Object.entries(env)) {
      if (typeof value !== "string") return fail(`env.${name}`, `env.${name} must be a string, not ${typeName(value)} (the server would send a Python repr)`);
      if (name === "" || name.includes("=") || name.includes("\0") || value.includes("\0")) return fail(`env.${name}`, `env ${JSON.stringify(name)} is not a valid variable (a name without = or NUL, a value without NUL)`);
      environ[name] = value;
    }
    wire.environ = environ;
  }
  if (commands.length === 0) return fail("commands", "commands must not be empty");
  for (const [index, item] of (commands as unknown[]).entries()) {
    const field = `commands[${index}]`;
    if (typeof item === "string") {
      wire.commands.push(item);
      continue;
    }
    if (!isPlainObject(item)) return fail(field, `${field} must be a string or { command, timeoutSeconds? }, not ${typeName(item)}`);
    const unknown = Object.keys(item).filter((key) => !COMMAND_KEYS.has(key));
    if (unknown.length > 0) return fail(field, `${field} has unknown keys ${unknown.map((key) => JSON.stringify(key)).join(", ")} (the server answers 500 to them)`);
    if (typeof item["command"] !== "string") return fail(`${field}.command`, `${field}.command must be a string`);
    const timeout = item["timeoutSeconds"];
    if (timeout === undefined) {
      wire.commands.push({ command: item["command"] });
      continue;
    }
    if (typeof timeout !== "number" || !Number.isFinite(timeout) || timeout <= 0) {
      return fail(`${field}.timeoutSeconds`, `${field}.timeoutSeconds must be a finite number of seconds above 0 (the server takes 0 as no limit at all)`);
    }
    wire.commands.push({ command: item["command"], timeout });
  }
  const resultPath: unknown = config.resultPath;
  if (resultPath !== undefined) {
    if (typeof resultPath !== "string") return fail("resultPath", `resultPath must be a string, not ${typeName(resultPath)}`);
    if (resultPath === "" || resultPath.startsWith("/") || resultPath.includes("\0") || resultPath.split("/").includes("..")) {
      return fail("resultPath", "resultPath must be a non-empty relative path without .. (upstream resolves it on the server host)");
    }
    wire.result_path = resultPath;
  }
  const save: unknown = config.save;
  if (save !== undefined) {
    if (typeof save !== "boolean") return fail("save", `save must be a boolean, not ${typeName(save)}`);
    wire.save = save;
  }
  return { ok: true, wire };
}

/** {@link validateConfig}, throwing the problem as a `ValidationError` naming the field. */
export function toWireConfig(config: ExecuteConfig, operation = "execute"): WireConfig {
  const check = validateConfig(config);
  if (!check.ok) throw new ValidationError(check.message, { field: check.field, backend: BACKEND_NAME, operation });
  return check.wire;
}
