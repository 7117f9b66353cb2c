import { SANDKIT_ENV, Secret, type SandboxConfig } from "@sandkit/core";
import type { BackendFlags } from "./parse-args.js";
import { UsageError } from "./usage-error.js";

/** The environment the CLI reads its defaults from. */
export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * The `createSandbox` configuration for the CLI's backend flags. Flags win over the environment;
 * without `--backend`, `createSandbox` itself reads `SANDKIT_BACKEND`, `SANDKIT_URL` and
 * `SANDKIT_API_KEY`. Flags that cannot apply to the chosen backend are a {@link UsageError}
 * rather than silently ignored.
 */
export function sandboxConfigFrom(flags: BackendFlags, env: Environment): SandboxConfig {
  const chosen = flags.backend ?? nonEmpty(env[SANDKIT_ENV.backend]) ?? "local";
  if (chosen === "local") {
    if (flags.url !== undefined) throw new UsageError("--url applies to remote backends; the local backend runs on this machine");
    if (flags.apiKey !== undefined) throw new UsageError("--api-key applies to remote backends; the local backend runs on this machine");
  } else if (flags.isolation !== undefined) {
    throw new UsageError(`--isolation applies to the local backend, not to ${chosen}`);
  }
  const config: Record<string, unknown> = {};
  if (flags.backend !== undefined) {
    config.backend = flags.backend;
    if (chosen !== "local") {
      // createSandbox reads these variables only when it chooses the backend itself.
      config.url = flags.url ?? nonEmpty(env[SANDKIT_ENV.url]);
      config.apiKey = Secret.from(flags.apiKey ?? nonEmpty(env[SANDKIT_ENV.apiKey]));
    }
  } else {
    config.url = flags.url;
    config.apiKey = Secret.from(flags.apiKey);
  }
  config.isolation = flags.isolation;
  for (const key of Object.keys(config)) if (config[key] === undefined) delete config[key];
  // The backend name is only known at run time; core checks it and its options when it loads it.
  return config as SandboxConfig;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
