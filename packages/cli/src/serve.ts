import { parseArgs } from "node:util";
import { createBackend } from "@sandkit/core";
import type { TextSink } from "./output.js";
import { reportError } from "./report-error.js";
import type { Environment } from "./sandbox-config.js";
import { UsageError } from "./usage-error.js";

/** A running protocol server, as every adapter's `./server` subpath returns it. */
export interface RunningServer {
  readonly url: string;
  close(): Promise<void>;
  /** Mints a client credential, on servers whose keys are tokens (microsandbox). */
  issueApiKey?(): string;
}

/** How `sandkit serve <protocol>` starts one protocol's server. */
interface ServeTarget {
  /** The module that exports the server factory. */
  readonly module: string;
  /** Builds the server from the parsed flags. */
  start(loaded: Record<string, unknown>, flags: ServeFlags): Promise<RunningServer>;
}

/** The flags of `sandkit serve`. */
export interface ServeFlags {
  readonly protocol: string;
  readonly host: string;
  readonly port: number;
  /** The credential clients must present (`--service-key` / `--api-key`), when given. */
  readonly key?: string | undefined;
  /** Accept requests without credentials (`--dev`). */
  readonly dev: boolean;
  readonly isolation?: string | undefined;
}

function factory(loaded: Record<string, unknown>, name: string, module: string): (options: Record<string, unknown>) => Promise<RunningServer> {
  const fn = loaded[name];
  if (typeof fn !== "function") throw new UsageError(`${module} does not export ${name}; is it a sandkit adapter of a matching version?`);
  return fn as (options: Record<string, unknown>) => Promise<RunningServer>;
}

const TARGETS: Readonly<Record<string, ServeTarget>> = {
  noxrunner: {
    module: "@sandkit/noxrunner/server",
    start: (loaded, flags) =>
      factory(loaded, "createNoxRunnerServer", "@sandkit/noxrunner/server")({
        host: flags.host,
        port: flags.port,
        serviceKey: flags.key,
        local: flags.isolation === undefined ? undefined : { isolation: flags.isolation },
      }),
  },
  provisioner: {
    module: "@sandkit/provisioner/server",
    start: (loaded, flags) =>
      factory(loaded, "createProvisionerServer", "@sandkit/provisioner/server")({
        host: flags.host,
        port: flags.port,
        apiKey: flags.key,
        local: flags.isolation === undefined ? undefined : { isolation: flags.isolation },
      }),
  },
  "sandbox-api": {
    module: "@sandkit/sandbox-api/server",
    start: async (loaded, flags) => {
      if (flags.key !== undefined) throw new UsageError("the sandbox-api protocol has no credentials; put a proxy in front of it for auth");
      const create = factory(loaded, "createSandboxApiServer", "@sandkit/sandbox-api/server");
      const backend =
        flags.isolation === undefined ? undefined : await createBackend("local", { isolation: flags.isolation as "none" | "bubblewrap" | "auto" });
      const server = await create({ host: flags.host, port: flags.port, backend });
      return {
        url: `${server.url.replace(/\/+$/, "")}/`,
        async close() {
          await server.close();
          await backend?.close();
        },
      };
    },
  },
  microsandbox: {
    module: "@sandkit/microsandbox/server",
    start: async (loaded, flags) => {
      const create = factory(loaded, "createMicrosandboxServer", "@sandkit/microsandbox/server");
      const backend =
        flags.isolation === undefined ? undefined : await createBackend("local", { isolation: flags.isolation as "none" | "bubblewrap" | "auto" });
      // microsandbox keys are tokens signed by the server's secret: the key flag is that secret.
      const server = await create({ host: flags.host, port: flags.port, dev: flags.dev, apiKeySecret: flags.key, backend });
      return {
        url: server.url,
        issueApiKey: server.issueApiKey?.bind(server),
        async close() {
          await server.close();
          await backend?.close();
        },
      };
    },
  },
};

/** The protocols `sandkit serve` can speak. */
export const SERVE_PROTOCOLS: readonly string[] = Object.keys(TARGETS);

const OPTIONS = {
  host: { type: "string" },
  port: { type: "string" },
  "service-key": { type: "string" },
  "api-key": { type: "string" },
  dev: { type: "boolean" },
  isolation: { type: "string" },
} as const;

/** Parses `serve <protocol> [--host h] [--port p] [--service-key k | --api-key k] [--dev] [--isolation i]`. */
export function parseServeArgs(args: readonly string[], env: Environment): ServeFlags {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: OPTIONS, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const [protocol, ...rest] = parsed.positionals;
  if (protocol === undefined) throw new UsageError(`serve needs a protocol: ${SERVE_PROTOCOLS.join(", ")}`);
  if (TARGETS[protocol] === undefined) throw new UsageError(`serve cannot speak ${JSON.stringify(protocol)}; it speaks ${SERVE_PROTOCOLS.join(", ")}`);
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
  const { values } = parsed;
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError(`--port must be a port number, got ${JSON.stringify(values.port)}`);
  if (values["service-key"] !== undefined && values["api-key"] !== undefined) throw new UsageError("give --service-key or --api-key, not both");
  const key = values["service-key"] ?? values["api-key"] ?? env.SANDKIT_SERVE_KEY;
  if (values.dev === true && key !== undefined) throw new UsageError("--dev accepts requests without a key; do not also give a key");
  if (values.isolation !== undefined && !["none", "bubblewrap", "auto"].includes(values.isolation)) {
    throw new UsageError("--isolation must be none, bubblewrap or auto");
  }
  return { protocol, host: values.host ?? "127.0.0.1", port, key, dev: values.dev === true, isolation: values.isolation };
}

/**
 * Runs a protocol server until `signal` aborts (Ctrl-C), then closes it, which removes the
 * sandboxes it made. Prints `listening on <url>` once it accepts connections.
 */
export async function serve(flags: ServeFlags, io: { readonly stdout: TextSink; readonly stderr: TextSink; readonly signal?: AbortSignal | undefined; readonly env: Environment }): Promise<number> {
  const target = TARGETS[flags.protocol]!;
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(target.module)) as Record<string, unknown>;
  } catch (error) {
    io.stderr.write(`sandkit: cannot load ${target.module} (${(error as NodeJS.ErrnoException).code ?? "error"}); install the adapter package\n`);
    return 1;
  }
  let server: RunningServer;
  try {
    server = await target.start(loaded, flags);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`sandkit: ${error.message}\n`);
      return UsageError.exitCode;
    }
    return reportError(error, io.stderr, io.env.SANDKIT_DEBUG === "1");
  }
  io.stdout.write(`listening on ${server.url}\n`);
  if (flags.key === undefined && flags.protocol === "noxrunner") {
    io.stderr.write("sandkit: warning: no service key given; any local process can use this server (--service-key)\n");
  }
  if (flags.key === undefined && flags.protocol === "provisioner") {
    io.stderr.write("sandkit: warning: no API key given; the provisioner refuses every /api request until one is set (--api-key)\n");
  }
  if (!flags.dev && server.issueApiKey !== undefined) {
    // The operator needs one key to hand to clients; it is printed once, on stderr, never logged elsewhere.
    io.stderr.write(`sandkit: API key for clients (MSB_API_KEY), valid 24 h: ${server.issueApiKey()}\n`);
  }
  await new Promise<void>((resolve) => {
    if (io.signal === undefined) return;
    if (io.signal.aborted) resolve();
    else io.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  try {
    await server.close();
  } catch (error) {
    return reportError(error, io.stderr, io.env.SANDKIT_DEBUG === "1");
  }
  io.stderr.write("sandkit: server stopped; its sandboxes were removed\n");
  return 0;
}
