import { type ErrorSite, invalid } from "./local-errors.js";

/** The PATH commands get when this process has none. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Refuses environment variables that could not be passed to a process. */
export function checkEnvironment(env: unknown, field: string, site: ErrorSite): Readonly<Record<string, string>> {
  if (env === undefined) return {};
  if (typeof env !== "object" || env === null || Array.isArray(env)) throw invalid(`${field} must be an object of strings`, field, site);
  for (const [name, value] of Object.entries(env)) {
    if (!ENV_NAME.test(name)) throw invalid(`environment variable name ${JSON.stringify(name)} is not valid`, field, site);
    if (typeof value !== "string" || value.includes("\0")) {
      throw invalid(`environment variable ${name} must be a string without NUL bytes`, field, site);
    }
  }
  return env as Readonly<Record<string, string>>;
}

/** What a command's environment is made of, lowest precedence first. */
export interface EnvironmentParts {
  /** The HOME commands see (the workspace, as they see it). */
  readonly home: string;
  /** Pass this process's variables through (`inheritEnv`). */
  readonly inheritHost: boolean;
  /** This process's environment. */
  readonly hostEnv: Readonly<Record<string, string | undefined>>;
  /** The sandbox's variables from create. */
  readonly sandboxEnv: Readonly<Record<string, string>>;
  /** The call's variables. */
  readonly callEnv: Readonly<Record<string, string>>;
}

/**
 * Builds a command's complete environment. By default it is clean: `PATH` (this process's, so
 * that the same programs are found), `HOME` (the workspace) and `LANG=C.UTF-8`, then the
 * sandbox's variables, then the call's. With `inheritHost`, this process's variables come first
 * (HOME is still the workspace).
 */
export function buildEnvironment(parts: EnvironmentParts): Record<string, string> {
  const env: Record<string, string> = {};
  if (parts.inheritHost) {
    for (const [name, value] of Object.entries(parts.hostEnv)) if (value !== undefined) env[name] = value;
  }
  env.PATH = nonEmpty(parts.hostEnv.PATH) ?? DEFAULT_PATH;
  env.HOME = parts.home;
  env.LANG = parts.inheritHost ? (nonEmpty(parts.hostEnv.LANG) ?? "C.UTF-8") : "C.UTF-8";
  Object.assign(env, parts.sandboxEnv, parts.callEnv);
  return env;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.length === 0 ? undefined : value;
}
