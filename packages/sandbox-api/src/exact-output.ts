import { ProtocolError } from "@sandkit/core";
import { BACKEND_NAME } from "./constants.js";

/**
 * The wrapper a session's `exec` runs commands in unless `exactOutput: false` (an adapter-side
 * choice, not upstream behaviour; the same one as `@sandkit/microsandbox`'s). The server trims
 * stdout and stderr and refuses output that is not UTF-8 (status -1), so the wrapper sends each
 * stream base64-encoded instead: output arrives byte for byte, and each stream is capped at `$1`
 * bytes inside the sandbox (the rest is read and dropped, so the command never sees a broken
 * pipe). The command's exit status comes back as the wrapper's. Needs `sh`, `head`, `cat` and
 * `base64` in the image (all in the upstream `pl:latest` image).
 *
 * Usage: `sh -c EXACT_OUTPUT_SCRIPT sh <capBytes> <argv...>`.
 */
export const EXACT_OUTPUT_SCRIPT = `m=$1
shift
exec 3>&1 4>&2
st=$( { { { "$@" 3>&- 4>&- 5>&-; echo $? >&5; } | { head -c "$m" | base64 >&3; cat >/dev/null; }; } 2>&1 | { head -c "$m" | base64 >&4; cat >/dev/null; }; } 5>&1 )
exit "\${st:-1}"`;

/** The argv that runs `argv` in {@link EXACT_OUTPUT_SCRIPT} with a per-stream cap of `capBytes`. */
export function exactArgv(argv: readonly string[], capBytes: number): string[] {
  return ["sh", "-c", EXACT_OUTPUT_SCRIPT, "sh", String(capBytes), ...argv];
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes one stream of the wrapper's output (base64, whitespace anywhere) to bytes. Anything else is a `ProtocolError`. */
export function decodeStream(text: string, stream: "stdout" | "stderr", sandboxId: string): Uint8Array {
  const compact = text.replace(/\s+/g, "");
  if (!BASE64.test(compact)) {
    throw new ProtocolError(
      `the exec wrapper's ${stream} is not base64: the sandbox's image may lack sh, head or base64 (set exactOutput: false to run commands without the wrapper)`,
      { backend: BACKEND_NAME, operation: "exec", sandboxId },
    );
  }
  return Buffer.from(compact, "base64");
}

/** Decodes bytes as UTF-8, cut to `maxBytes` without splitting a character. */
export function decodeCapped(bytes: Uint8Array, maxBytes: number): { readonly text: string; readonly truncated: boolean } {
  if (bytes.byteLength <= maxBytes) return { text: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"), truncated: false };
  let end = Math.max(0, Math.floor(maxBytes));
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end -= 1;
  return { text: Buffer.from(bytes.buffer, bytes.byteOffset, end).toString("utf8"), truncated: true };
}

/** The largest execute response a wrapped command can give for a cap: two base64 streams (4/3, with line breaks), JSON escaping and the envelope; at most 1 GiB. */
export function exactResponseLimit(capBytes: number): number {
  const base64 = Math.ceil((capBytes * 4) / 3);
  return Math.min(2 * Math.ceil(base64 * (1 + 2 / 76)) + 256 * 1024, 2 ** 30);
}
