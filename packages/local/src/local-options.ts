import { tmpdir } from "node:os";
import { isAbsolute, resolve } from "node:path";
import type { LocalBackendOptions } from "@sandkit/core";
import { BACKEND_NAME, invalid } from "./local-errors.js";

/** The isolation a `local` backend is asked for. */
export type LocalIsolation = "none" | "bubblewrap" | "auto";

/**
 * Options of `local()`: the {@link LocalBackendOptions} that `createSandbox({ backend: "local" })`
 * also accepts, plus hooks that only make sense in code.
 */
export interface LocalOptions extends LocalBackendOptions {
  /**
   * Called after a sandbox expired (idle past its TTL) and was destroyed. Lets tests and servers
   * observe expiry without polling. Errors it throws are ignored.
   */
  readonly onExpire?: ((id: string) => void) | undefined;
  /** The bubblewrap binary. Default: the first of `/usr/bin/bwrap`, `/usr/local/bin/bwrap`, `/bin/bwrap` that exists. */
  readonly bubblewrapPath?: string | undefined;
}

/** Environment variables the `local` backend reads when the matching option is absent. */
export const LOCAL_ENV = {
  /** Where workspaces are made. */
  root: "SANDKIT_LOCAL_ROOT",
  /** `none`, `bubblewrap` or `auto`. */
  isolation: "SANDKIT_LOCAL_ISOLATION",
} as const;

/** Options after validation, with defaults applied. */
export interface ResolvedLocalOptions {
  readonly root: string;
  readonly isolation: LocalIsolation;
  readonly inheritEnv: boolean;
  readonly ttlMs: number | undefined;
  readonly killGraceMs: number;
  readonly onExpire: ((id: string) => void) | undefined;
  readonly bubblewrapPath: string | undefined;
}

/** Default grace between SIGTERM and SIGKILL, in milliseconds. */
export const DEFAULT_KILL_GRACE_MS = 200;

const ISOLATIONS: readonly LocalIsolation[] = ["none", "bubblewrap", "auto"];
const SITE = { operation: "configure" } as const;

type Checker = (value: unknown, field: string) => void;

const CHECKS: Readonly<Record<keyof LocalOptions, Checker>> = {
  root: (value, field) => {
    if (typeof value !== "string" || value.length === 0 || value.includes("\0")) {
      throw invalid(`${field} must be a non-empty path`, field, SITE);
    }
  },
  isolation: (value, field) => {
    if (typeof value !== "string" || !(ISOLATIONS as readonly string[]).includes(value)) {
      throw invalid(`${field} must be one of ${ISOLATIONS.join(", ")}, got ${JSON.stringify(value)}`, field, SITE);
    }
  },
  inheritEnv: (value, field) => {
    if (typeof value !== "boolean") throw invalid(`${field} must be a boolean`, field, SITE);
  },
  ttlMs: (value, field) => {
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      throw invalid(`${field} must be a positive number of milliseconds`, field, SITE);
    }
  },
  killGraceMs: (value, field) => {
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw invalid(`${field} must be a number of milliseconds, 0 or more`, field, SITE);
    }
  },
  onExpire: (value, field) => {
    if (typeof value !== "function") throw invalid(`${field} must be a function`, field, SITE);
  },
  bubblewrapPath: (value, field) => {
    if (typeof value !== "string" || !isAbsolute(value) || value.includes("\0")) {
      throw invalid(`${field} must be an absolute path`, field, SITE);
    }
  },
};

/** The keys `createBackend` accepts: those of {@link LocalBackendOptions}. */
const CONFIG_KEYS = new Set<string>(["root", "isolation", "inheritEnv", "ttlMs", "killGraceMs"] satisfies (keyof LocalBackendOptions)[]);

/**
 * Validates options given in code (`local(options)`) and fills in defaults. Unknown keys and
 * values of the wrong type are a `ValidationError` naming the field.
 */
export function resolveLocalOptions(
  options: LocalOptions = {},
  env: Readonly<Record<string, string | undefined>> = {},
  allowed: ReadonlySet<string> = new Set(Object.keys(CHECKS)),
): ResolvedLocalOptions {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw invalid(`the ${BACKEND_NAME} backend's options must be an object`, "options", SITE);
  }
  for (const [key, value] of Object.entries(options)) {
    if (!allowed.has(key)) {
      throw invalid(`unknown option ${JSON.stringify(key)} for the ${BACKEND_NAME} backend; known: ${[...allowed].join(", ")}`, key, SITE);
    }
    if (value !== undefined) CHECKS[key as keyof LocalOptions](value, key);
  }
  const envRoot = nonEmpty(env[LOCAL_ENV.root]);
  const envIsolation = nonEmpty(env[LOCAL_ENV.isolation]);
  if (options.root === undefined && envRoot !== undefined) CHECKS.root(envRoot, LOCAL_ENV.root);
  if (options.isolation === undefined && envIsolation !== undefined) CHECKS.isolation(envIsolation, LOCAL_ENV.isolation);
  return {
    root: resolve(options.root ?? envRoot ?? tmpdir()),
    isolation: options.isolation ?? (envIsolation as LocalIsolation | undefined) ?? "auto",
    inheritEnv: options.inheritEnv ?? false,
    ttlMs: options.ttlMs,
    killGraceMs: options.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
    onExpire: options.onExpire,
    bubblewrapPath: options.bubblewrapPath,
  };
}

/**
 * Validates options that came from configuration (`createSandbox({ backend: "local", ... })`):
 * only the keys of {@link LocalBackendOptions}, with `SANDKIT_LOCAL_ROOT` and
 * `SANDKIT_LOCAL_ISOLATION` read from `env` when the option is absent.
 */
export function resolveConfiguredOptions(options: Record<string, unknown>, env: Readonly<Record<string, string | undefined>>): ResolvedLocalOptions {
  return resolveLocalOptions(options as LocalOptions, env, CONFIG_KEYS);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.length === 0 ? undefined : value;
}
