import { parseArgs } from "node:util";
import { interpreterFor } from "./interpreters.js";
import { UsageError } from "./usage-error.js";

/** How the local backend isolates commands (`--isolation`). */
export type IsolationFlag = "none" | "bubblewrap" | "auto";

/** The flags that choose and configure the backend. Absent flags leave the choice to the environment. */
export interface BackendFlags {
  readonly backend?: string | undefined;
  readonly url?: string | undefined;
  readonly apiKey?: string | undefined;
  readonly isolation?: IsolationFlag | undefined;
}

/** The flags that shape one command. */
export interface CommandFlags {
  readonly timeoutMs?: number | undefined;
  /** Output kept (and passed through) per stream; the backend drops the rest. */
  readonly maxOutputBytes?: number | undefined;
  readonly cwd?: string | undefined;
  readonly env: Readonly<Record<string, string>>;
}

/** What a command line asks for. */
export type CliInvocation =
  | { readonly action: "help" }
  | { readonly action: "version" }
  | { readonly action: "exec"; readonly argv: readonly string[]; readonly backend: BackendFlags; readonly command: CommandFlags }
  | { readonly action: "sh"; readonly script: string; readonly backend: BackendFlags; readonly command: CommandFlags }
  | {
      readonly action: "run";
      readonly file: string;
      readonly interpreter: readonly string[];
      readonly args: readonly string[];
      readonly backend: BackendFlags;
      readonly command: CommandFlags;
    };

/** The subcommands, in the order help lists them. */
export const COMMANDS = ["exec", "sh", "run"] as const;

const OPTIONS = {
  backend: { type: "string" },
  url: { type: "string" },
  "api-key": { type: "string" },
  isolation: { type: "string" },
  timeout: { type: "string" },
  "max-output": { type: "string" },
  cwd: { type: "string" },
  env: { type: "string", short: "e", multiple: true },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
} as const;

const ISOLATIONS: readonly IsolationFlag[] = ["none", "bubblewrap", "auto"];
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parses the CLI's arguments (without `node` and the script). Flags come before the command's own
 * arguments; for `exec` and `run` the first argument that is not a flag (or a `--`) starts the
 * command, so `sandkit exec python3 -c 1` and `sandkit exec -- python3 -c 1` mean the same. Leading
 * `--` arguments, which some script runners add, are ignored. Throws {@link UsageError}.
 */
export function parseCommandLine(argv: readonly string[]): CliInvocation {
  const args = [...argv];
  while (args[0] === "--") args.shift();

  const { tokens } = parseArgs({ args, options: OPTIONS, strict: false, allowPositionals: true, tokens: true });
  const subToken = tokens.find((token) => token.kind === "positional" || token.kind === "option-terminator");
  if (subToken?.kind === "option-terminator") throw new UsageError("expected a command (exec, sh or run) before --");
  if (subToken === undefined) {
    const flags = parseFlags(args);
    if (flags.values.version === true && flags.values.help !== true) return { action: "version" };
    if (flags.values.help === true) return { action: "help" };
    throw new UsageError("missing command: exec, sh or run");
  }
  const sub = args[subToken.index]!;
  if (sub === "help") return { action: "help" };
  if (!(COMMANDS as readonly string[]).includes(sub)) {
    throw new UsageError(`unknown command ${JSON.stringify(sub)}; commands: ${COMMANDS.join(", ")}`);
  }
  const after = tokens.filter((token) => token.index > subToken.index);

  if (sub === "sh") {
    const terminator = after.find((token) => token.kind === "option-terminator");
    const flags = parseFlags(terminator === undefined ? args : args.slice(0, terminator.index));
    if (flags.values.help === true) return { action: "help" };
    const parts = [...flags.positionals.slice(1), ...(terminator === undefined ? [] : args.slice(terminator.index + 1))];
    if (parts.length === 0 || parts.join("").length === 0) throw new UsageError('sh needs a command line, e.g. sandkit sh "ls -l | wc -l"');
    return { action: "sh", script: parts.join(" "), backend: backendFlags(flags.values), command: commandFlags(flags.values) };
  }

  // exec and run: the command starts at the first positional (or after the first "--").
  const start = after.find((token) => token.kind === "positional" || token.kind === "option-terminator");
  const flags = parseFlags(start === undefined ? args : args.slice(0, start.index));
  if (flags.values.help === true) return { action: "help" };
  let rest = start === undefined ? [] : args.slice(start.kind === "option-terminator" ? start.index + 1 : start.index);
  const backend = backendFlags(flags.values);
  const command = commandFlags(flags.values);
  if (sub === "exec") {
    if (rest.length === 0) throw new UsageError("exec needs a program to run, e.g. sandkit exec -- python3 -c 'print(6*7)'");
    return { action: "exec", argv: rest, backend, command };
  }
  const file = rest[0];
  if (file === undefined || file === "") throw new UsageError("run needs a file, e.g. sandkit run script.py -- arg1 arg2");
  rest = rest.slice(1);
  if (rest[0] === "--") rest = rest.slice(1);
  return { action: "run", file, interpreter: interpreterFor(file), args: rest, backend, command };
}

type ParsedValues = ReturnType<typeof parseFlags>["values"];

function parseFlags(args: string[]) {
  try {
    return parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function backendFlags(values: ParsedValues): BackendFlags {
  const isolation = values.isolation;
  if (isolation !== undefined && !(ISOLATIONS as readonly string[]).includes(isolation)) {
    throw new UsageError(`--isolation must be one of ${ISOLATIONS.join(", ")}, got ${JSON.stringify(isolation)}`);
  }
  for (const [flag, value] of [
    ["--backend", values.backend],
    ["--url", values.url],
    ["--api-key", values["api-key"]],
  ] as const) {
    if (value === "") throw new UsageError(`${flag} needs a value`);
  }
  return {
    backend: values.backend,
    url: values.url,
    apiKey: values["api-key"],
    isolation: isolation as IsolationFlag | undefined,
  };
}

function commandFlags(values: ParsedValues): CommandFlags {
  let timeoutMs: number | undefined;
  if (values.timeout !== undefined) {
    timeoutMs = /^[0-9]+$/.test(values.timeout) ? Number(values.timeout) : Number.NaN;
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) {
      throw new UsageError(`--timeout takes a positive whole number of milliseconds, got ${JSON.stringify(values.timeout)}`);
    }
  }
  const maxOutputBytes = values["max-output"] === undefined ? undefined : parseBytes(values["max-output"]);
  if (values.cwd === "") throw new UsageError("--cwd needs a directory");
  const env: Record<string, string> = {};
  for (const entry of values.env ?? []) {
    const eq = entry.indexOf("=");
    const name = eq === -1 ? entry : entry.slice(0, eq);
    if (eq === -1 || !ENV_NAME.test(name)) {
      throw new UsageError(`--env takes NAME=value with a NAME of letters, digits and _, got ${JSON.stringify(entry)}`);
    }
    env[name] = entry.slice(eq + 1);
  }
  return { timeoutMs, maxOutputBytes, cwd: values.cwd, env };
}

const BYTE_UNITS: Readonly<Record<string, number>> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `65536`, `512k`, `16M`, `1g` (binary units) as a number of bytes. */
function parseBytes(text: string): number {
  const match = /^([0-9]+)([kmg]?)i?b?$/i.exec(text);
  const bytes = match === null ? Number.NaN : Number(match[1]) * BYTE_UNITS[match[2]!.toLowerCase()]!;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new UsageError(`--max-output takes a positive size in bytes, such as 1048576 or 16M; got ${JSON.stringify(text)}`);
  }
  return bytes;
}
