import { ValidationError } from "@sandkit/core";
import { BACKEND_NAME } from "./constants.js";

/** Words a POSIX shell reads as themselves, with no quoting. */
const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** A POSIX shell word for `value`: as is when it is safe, else in single quotes. */
export function shellQuote(value: string): string {
  if (value !== "" && SAFE_WORD.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command line for an argv: every word quoted, so the sandbox's shell runs exactly
 * `argv[0]` with `argv.slice(1)` (the AIO API takes one command string, not an argv).
 */
export function commandLine(argv: readonly string[], sandboxId: string): string {
  const [program] = argv;
  if (program === undefined || program === "") {
    throw new ValidationError("argv must name a program", { field: "argv", backend: BACKEND_NAME, operation: "exec", sandboxId });
  }
  for (const word of argv) {
    if (typeof word !== "string" || word.includes("\0")) {
      throw new ValidationError("argv words must be strings without NUL", { field: "argv", backend: BACKEND_NAME, operation: "exec", sandboxId });
    }
  }
  return argv.map(shellQuote).join(" ");
}

/** Environment variable names the sandbox's shell can take. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Checks an environment map (names a shell accepts, string values without NUL). */
export function checkEnv(env: Readonly<Record<string, string>> | undefined, sandboxId: string, operation: string): Readonly<Record<string, string>> {
  if (env === undefined) return {};
  if (typeof env !== "object" || env === null || Array.isArray(env)) {
    throw new ValidationError("env must be an object of strings", { field: "env", backend: BACKEND_NAME, operation, sandboxId });
  }
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!ENV_NAME.test(name) || typeof value !== "string" || value.includes("\0")) {
      throw new ValidationError(`env ${JSON.stringify(name.slice(0, 80))} is not a valid variable (a name of letters, digits and _, not starting with a digit; a string value without NUL)`, {
        field: "env",
        backend: BACKEND_NAME,
        operation,
        sandboxId,
      });
    }
    out[name] = value;
  }
  return Object.freeze(out);
}

/**
 * The command line for the PTY shell endpoint, which has no `env` field: `env NAME=value ... argv`
 * so that the variables reach this command only (the shell session outlives it).
 */
export function shellCommandLine(argv: readonly string[], env: Readonly<Record<string, string>>, sandboxId: string): string {
  const command = commandLine(argv, sandboxId);
  const names = Object.keys(env);
  if (names.length === 0) return command;
  return `env ${names.map((name) => shellQuote(`${name}=${env[name]!}`)).join(" ")} ${command}`;
}

/**
 * Text cut to at most `maxBytes` UTF-8 bytes (never in the middle of a character). Output that
 * reaches `maxBytes` exactly counts as truncated too: the sandbox may have cut it there itself
 * without saying so (the AIO API has no truncation flag when its own limit applies).
 */
export function capText(text: string, maxBytes: number): { readonly text: string; readonly truncated: boolean } {
  if (text.length < maxBytes / 3) return { text, truncated: false };
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length < maxBytes) return { text, truncated: false };
  if (bytes.length === maxBytes) return { text, truncated: maxBytes > 0 };
  let end = Math.max(0, Math.floor(maxBytes));
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end -= 1;
  return { text: bytes.subarray(0, end).toString("utf8"), truncated: true };
}
