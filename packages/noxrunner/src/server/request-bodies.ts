import { posix } from "node:path";
import { isWithin } from "@sandkit/core";
import { badRequest, ERROR_CODES, HttpError } from "./http-error.js";

/** The sandbox path every NoxRunner path lives under. */
export const WORKSPACE = "/workspace";

/** Environment variable names the reference server accepts: upper-case letters, digits and `_`, not starting with a digit. */
export const ENV_KEY_PATTERN: RegExp = /^[A-Z_][A-Z0-9_]*$/;

/** What `PUT /v1/sandboxes/{id}` asked for, checked. */
export interface CreateBody {
  /** As sent: 0 means the server default. */
  readonly ttlSeconds: number;
  readonly image: string | undefined;
  /** CPUs, from `cpuLimit` (`"500m"` is 0.5). */
  readonly cpus: number | undefined;
  /** MiB, from `memoryLimit`. */
  readonly memoryMiB: number | undefined;
  /** MiB, from `ephemeralStorageLimit`. */
  readonly diskMiB: number | undefined;
  readonly env: Readonly<Record<string, string>> | undefined;
}

/** What `POST .../exec` asked for, checked in the reference server's order (§2.4). */
export interface ExecBody {
  readonly cmd: readonly string[];
  /** Normalised, under `/workspace`. */
  readonly workdir: string;
  /** As sent: 0 or less means the default. */
  readonly timeoutSeconds: number;
  readonly env: Readonly<Record<string, string>>;
}

/**
 * Checks a create body. Types are checked first (`400`, as Go's decoder would); then `env` keys
 * (`422 INVALID_ENV_KEY`), `workdir` (`422 INVALID_WORKDIR`), and the resource quantities, which
 * must be Kubernetes quantities (`400`, where the reference server's parser panics and drops the
 * connection). A negative `ttlSeconds` is refused (`400`) rather than giving an expiry in the past.
 */
export function parseCreateBody(body: Readonly<Record<string, unknown>>): CreateBody {
  const ttlSeconds = optionalInteger(body.ttlSeconds, "ttlSeconds") ?? 0;
  const image = optionalString(body.image, "image");
  const cpuLimit = optionalString(body.cpuLimit, "cpuLimit");
  const memoryLimit = optionalString(body.memoryLimit, "memoryLimit");
  const storageLimit = optionalString(body.ephemeralStorageLimit, "ephemeralStorageLimit");
  optionalString(body.containerName, "containerName");
  const workdir = optionalString(body.workdir, "workdir");
  const env = optionalEnv(body.env);
  if (env !== undefined) checkEnvKeys(env);
  if (workdir !== undefined && workdir !== "") workspacePath(workdir, ERROR_CODES.INVALID_WORKDIR, "workdir");
  if (ttlSeconds < 0) throw badRequest("ttlSeconds must not be negative");
  return {
    ttlSeconds,
    image: image === "" ? undefined : image,
    cpus: quantity(cpuLimit, "cpuLimit", 1),
    memoryMiB: quantity(memoryLimit, "memoryLimit", 1024 * 1024),
    diskMiB: quantity(storageLimit, "ephemeralStorageLimit", 1024 * 1024),
    env,
  };
}

/** Checks an exec body: `cmd` (`400 "cmd is required"`), then `env` keys (`422`), then `workdir` (`422`). */
export function parseExecBody(body: Readonly<Record<string, unknown>>): ExecBody {
  const cmd = body.cmd;
  if (cmd !== undefined && cmd !== null && (!Array.isArray(cmd) || cmd.some((arg) => typeof arg !== "string"))) {
    throw badRequest("invalid JSON body: cmd must be an array of strings");
  }
  const workdirRaw = optionalString(body.workdir, "workdir");
  const timeoutSeconds = optionalInteger(body.timeoutSeconds, "timeoutSeconds") ?? 0;
  const env = optionalEnv(body.env) ?? {};
  const argv = (cmd ?? []) as string[];
  if (argv.length === 0) throw badRequest("cmd is required");
  if (argv.some((arg) => arg.includes("\0"))) throw badRequest("cmd must not contain NUL bytes");
  if (argv[0] === "") throw badRequest("cmd[0] must not be empty");
  checkEnvKeys(env);
  const workdir = workdirRaw === undefined || workdirRaw === "" ? WORKSPACE : workspacePath(workdirRaw, ERROR_CODES.INVALID_WORKDIR, "workdir");
  return { cmd: argv, workdir, timeoutSeconds, env };
}

/**
 * A NoxRunner path (`workdir`, `dest`, `src`): absolute, without NUL, and under `/workspace`
 * once normalised; otherwise `422` with `code`. Returns the normalised path.
 */
export function workspacePath(value: string, code: typeof ERROR_CODES.INVALID_WORKDIR | typeof ERROR_CODES.INVALID_PATH, field: string): string {
  const shown = JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}...` : value);
  if (!value.startsWith("/") || value.includes("\0")) {
    throw new HttpError(422, code, `${field} must be an absolute path under ${WORKSPACE}, got ${shown}`);
  }
  let normalised = posix.normalize(value);
  if (normalised.length > 1 && normalised.endsWith("/")) normalised = normalised.slice(0, -1);
  if (!isWithin(normalised, WORKSPACE)) {
    throw new HttpError(422, code, `${field} must be under ${WORKSPACE}, got ${shown}`);
  }
  return normalised;
}

function checkEnvKeys(env: Readonly<Record<string, string>>): void {
  for (const key of Object.keys(env)) {
    if (!ENV_KEY_PATTERN.test(key)) {
      const shown = JSON.stringify(key.length > 100 ? `${key.slice(0, 100)}...` : key);
      throw new HttpError(422, ERROR_CODES.INVALID_ENV_KEY, `invalid env key ${shown}: names must match ${ENV_KEY_PATTERN.source}`);
    }
  }
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw badRequest(`invalid JSON body: ${field} must be a string`);
  return value;
}

function optionalInteger(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value)) throw badRequest(`invalid JSON body: ${field} must be an integer`);
  return value;
}

function optionalEnv(value: unknown): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) throw badRequest("invalid JSON body: env must be an object of strings");
  const env: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== "string") throw badRequest("invalid JSON body: env values must be strings");
    if (item.includes("\0")) throw badRequest("env values must not contain NUL bytes");
    env[key] = item;
  }
  return env;
}

const QUANTITY = /^(\d+(?:\.\d*)?|\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/;
const SUFFIXES: Readonly<Record<string, number>> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/**
 * Parses a non-negative Kubernetes quantity (`"500m"`, `"1Gi"`, `"2e3"`) and divides it by
 * `unit`; an empty string is "not given". Anything else is `400 BAD_REQUEST`.
 */
export function quantity(value: string | undefined, field: string, unit: number): number | undefined {
  if (value === undefined || value === "") return undefined;
  const match = value.length <= 64 ? QUANTITY.exec(value) : null;
  if (match === null) throw badRequest(`${field} is not a valid quantity, e.g. "500m" or "1Gi"`);
  const base = Number(match[1]);
  const scale = match[2] !== undefined ? 10 ** Number(match[2].slice(1)) : match[3] !== undefined ? SUFFIXES[match[3]]! : 1;
  const amount = (base * scale) / unit;
  if (!Number.isFinite(amount)) throw badRequest(`${field} is too large`);
  return amount;
}
