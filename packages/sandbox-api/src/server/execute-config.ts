import { HttpError } from "./http-io.js";
import { pythonClass, pythonRepr } from "./python-format.js";

/** One command of the chain, checked. */
export interface ChainCommand {
  /** The command given to `bash -c`, without the leading `-`. */
  readonly command: string;
  /** Whether a failure or timeout is ignored (the command had a leading `-`). */
  readonly ignoreFailure: boolean;
  /** Its own timeout in seconds, when it gave one (`true` counts as 1, `false` as 0, as in Python). */
  readonly timeoutSeconds: number | undefined;
}

/** An execute `config`, checked. */
export interface ExecuteConfig {
  readonly commands: readonly ChainCommand[];
  /** Environment variables of every command (`environ`). */
  readonly env: Readonly<Record<string, string>>;
  /** The file whose text goes into `result`, relative to the working directory. */
  readonly resultPath: string | undefined;
  readonly save: boolean;
}

/** Environment variable names a command may be given. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parses the `config` form field up to the environment lookup (§3.1 steps 1–3): missing,
 * not JSON, not an object, each a `400` with the upstream text.
 */
export function parseConfigObject(config: string | undefined): Record<string, unknown> {
  if (config === undefined) throw new HttpError(400, "Missing argument 'config'");
  let value: unknown;
  try {
    value = JSON.parse(config);
  } catch (error) {
    throw new HttpError(400, `'config' json is invalid - ${jsonErrorText(config, error)}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HttpError(400, `config must be an object, not ${pythonClass(value)}`);
  }
  return value as Record<string, unknown>;
}

/**
 * Checks the rest of the config in the upstream order (§4.2), with its `400` texts, plus what
 * upstream lets through to a `500` or a surprise: extra keys in a command object, a `null`
 * timeout, `environ` values that are not strings or names that are not variable names, and a
 * `result_path` that is not a relative path inside the working directory.
 */
export function checkConfig(config: Record<string, unknown>): ExecuteConfig {
  if (!Object.hasOwn(config, "commands")) throw new HttpError(400, "Missing field 'commands' in config");
  const commands = config.commands;
  if (!Array.isArray(commands)) throw new HttpError(400, `commands must be a list, not ${pythonClass(commands)}`);
  const environ = Object.hasOwn(config, "environ") ? config.environ : {};
  if (typeof environ !== "object" || environ === null || Array.isArray(environ)) {
    throw new HttpError(400, `environ must be an object, not ${pythonClass(config.environ)}`);
  }
  if (commands.length === 0) throw new HttpError(400, "Command list cannot be empty");
  const chain = commands.map((item: unknown) => chainCommand(item));
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(environ as Record<string, unknown>)) {
    if (!ENV_NAME.test(name)) throw new HttpError(400, `environ names must be variable names, not ${pythonRepr(name)}`);
    if (typeof value !== "string") throw new HttpError(400, `environ values must be strings, not ${pythonClass(value)} (for ${pythonRepr(name)})`);
    if (value.includes("\0")) throw new HttpError(400, `environ values must not contain NUL (for ${pythonRepr(name)})`);
    env[name] = value;
  }
  let resultPath: string | undefined;
  if (Object.hasOwn(config, "result_path")) {
    if (typeof config.result_path !== "string") throw new HttpError(400, `result_path must be a string, not ${pythonClass(config.result_path)}`);
    resultPath = relativePath(config.result_path);
  }
  const save = config.save ?? false;
  if (Object.hasOwn(config, "save") && typeof config.save !== "boolean") throw new HttpError(400, `save must be a boolean, not ${pythonClass(config.save)}`);
  return { commands: chain, env, resultPath, save: save === true };
}

function chainCommand(item: unknown): ChainCommand {
  const bad = (): HttpError => new HttpError(400, `Command badly formatted : '${pythonRepr(item)}'`);
  let text: string;
  let timeoutSeconds: number | undefined;
  if (typeof item === "string") {
    text = item;
  } else if (typeof item === "object" && item !== null && !Array.isArray(item)) {
    const object = item as Record<string, unknown>;
    if (!Object.hasOwn(object, "command") || typeof object.command !== "string") throw bad();
    // Upstream passes other keys to a constructor and answers 500; here they are a 400.
    if (Object.keys(object).some((key) => key !== "command" && key !== "timeout")) throw bad();
    text = object.command;
    if (Object.hasOwn(object, "timeout")) {
      const timeout = object.timeout;
      if (typeof timeout === "boolean") timeoutSeconds = timeout ? 1 : 0;
      else if (typeof timeout === "number" && Number.isFinite(timeout)) timeoutSeconds = timeout;
      else throw bad();
    }
  } else {
    throw bad();
  }
  if (text.includes("\0")) throw bad();
  const ignoreFailure = text.startsWith("-");
  return { command: ignoreFailure ? text.slice(1) : text, ignoreFailure, timeoutSeconds };
}

/** `result_path` as a normalised relative path; absolute paths and `..` are refused (upstream read them on the host). */
function relativePath(path: string): string {
  const segments = path.split("/").filter((segment) => segment !== "" && segment !== ".");
  if (path.startsWith("/") || path.includes("\0") || segments.includes("..") || segments.length === 0) {
    throw new HttpError(400, `result_path must be a relative path inside the working directory, not ${pythonRepr(path)}`);
  }
  return segments.join("/");
}

/** A JSON error in the words of Python's `JSONDecodeError` where they are easy to tell, else JavaScript's. */
function jsonErrorText(text: string, error: unknown): string {
  if (text.trim().length === 0) return `Expecting value: line 1 column ${text.length + 1} (char ${text.length})`;
  const first = text.search(/\S/);
  if (!/[[{"\-0-9tfn]/.test(text[first]!)) {
    const line = text.slice(0, first).split("\n").length;
    const column = first - text.lastIndexOf("\n", first - 1);
    return `Expecting value: line ${line} column ${column} (char ${first})`;
  }
  return error instanceof Error ? error.message : "invalid JSON";
}
