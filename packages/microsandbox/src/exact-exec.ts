import { ProtocolError } from "@sandkit/core";
import type { OutputLine } from "./client.js";
import { BACKEND_NAME } from "./constants.js";

/**
 * The wrapper `exec` runs commands in unless `exactOutput: false` (an adapter-side choice, not
 * upstream behaviour). microsandbox returns output as lines with the newline removed, so a last
 * line without a newline, `\r`, NUL and invalid UTF-8 cannot be told apart on the wire. The
 * wrapper sends each stream base64-encoded instead, so output arrives byte for byte, and caps each
 * stream at `$1` bytes inside the sandbox (the rest is read and dropped, so the command never
 * sees a broken pipe and no more than the cap travels). The command's exit status comes back as
 * the wrapper's; a missing program is 127, as in a shell. Needs `sh`, `head`, `cat` and `base64`
 * in the image (core's emulated file operations need them too).
 *
 * Usage: `sh -c EXACT_EXEC_SCRIPT sh <capBytes> <argv...>`.
 */
export const EXACT_EXEC_SCRIPT = `m=$1
shift
exec 3>&1 4>&2
st=$( { { { "$@" 3>&- 4>&- 5>&-; echo $? >&5; } | { head -c "$m" | base64 >&3; cat >/dev/null; }; } 2>&1 | { head -c "$m" | base64 >&4; cat >/dev/null; }; } 5>&1 )
exit "\${st:-1}"`;

/** The argv that runs `argv` in {@link EXACT_EXEC_SCRIPT} with a per-stream cap of `capBytes`. */
export function exactArgv(argv: readonly string[], capBytes: number): string[] {
  return ["sh", "-c", EXACT_EXEC_SCRIPT, "sh", String(capBytes), ...argv];
}

const BASE64_LINE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes one stream of the wrapper's output (base64 lines) to bytes. Anything else is a `ProtocolError`. */
export function decodeStream(lines: readonly OutputLine[], stream: "stdout" | "stderr", sandboxId: string): Uint8Array {
  let text = "";
  for (const line of lines) {
    if (line.stream !== stream) continue;
    const piece = line.text.trim();
    if (!BASE64_LINE.test(piece)) {
      throw new ProtocolError(
        `the exec wrapper's ${stream} is not base64: the sandbox's image may lack sh, head or base64 (set exactOutput: false to run commands without the wrapper)`,
        { backend: BACKEND_NAME, operation: "exec", sandboxId },
      );
    }
    text += piece;
  }
  return Buffer.from(text, "base64");
}

/** Decodes bytes as UTF-8, cut to `maxBytes` without splitting a character. */
export function decodeCapped(bytes: Uint8Array, maxBytes: number): { readonly text: string; readonly truncated: boolean } {
  if (bytes.byteLength <= maxBytes) return { text: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"), truncated: false };
  let end = Math.max(0, Math.floor(maxBytes));
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end -= 1;
  return { text: Buffer.from(bytes.buffer, bytes.byteOffset, end).toString("utf8"), truncated: true };
}

/**
 * The largest response an exec through the wrapper can give for a cap: two streams of base64
 * (4/3), plus about 40 bytes of JSON per 76-character line, plus room for the envelope; at most 1 GiB.
 */
export function exactResponseLimit(capBytes: number): number {
  const base64 = Math.ceil((capBytes * 4) / 3);
  return Math.min(2 * Math.ceil(base64 * (1 + 40 / 76)) + 256 * 1024, 2 ** 30);
}
