import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import type { OutputLine } from "./client.ts";
import { decodeCapped, decodeStream, exactArgv, exactResponseLimit } from "./exact-exec.ts";

/** Runs the wrapper with this host's `sh` and splits its output into lines, as the server does. */
function run(argv: readonly string[], cap: number): { lines: OutputLine[]; status: number | null } {
  const [program, ...args] = exactArgv(argv, cap);
  const result = spawnSync(program!, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const lines: OutputLine[] = [];
  for (const stream of ["stdout", "stderr"] as const) {
    for (const text of result[stream].split("\n").filter((line) => line !== "")) lines.push({ stream, text });
  }
  return { lines, status: result.status };
}

describe("the exact-output wrapper", () => {
  it("returns both streams byte for byte and the command's exit status", () => {
    const { lines, status } = run(["sh", "-c", "printf 'a\\r\\nb'; printf 'e\\0x' >&2; exit 7"], 1000);
    expect(status).toBe(7);
    expect(Buffer.from(decodeStream(lines, "stdout", "t")).toString("latin1")).toBe("a\r\nb");
    expect(Buffer.from(decodeStream(lines, "stderr", "t")).toString("latin1")).toBe("e\0x");
  });

  it("passes argv verbatim and reports 127 for a missing program", () => {
    const { lines } = run(["printf", "[%s]", "a b", "$HOME", "*"], 1000);
    expect(Buffer.from(decodeStream(lines, "stdout", "t")).toString()).toBe("[a b][$HOME][*]");
    expect(run(["definitely-not-a-cmd"], 1000).status).toBe(127);
  });

  it("caps each stream in the sandbox and lets the command finish", () => {
    const { lines, status } = run(["sh", "-c", "yes abc | head -c 100000; echo done >&2"], 11);
    expect(status).toBe(0);
    const out = decodeCapped(decodeStream(lines, "stdout", "t"), 10);
    expect(out).toEqual({ text: "abc\nabc\nab", truncated: true });
    expect(decodeCapped(decodeStream(lines, "stderr", "t"), 10)).toEqual({ text: "done\n", truncated: false });
  });

  it("refuses output that is not base64 and bounds the response size", () => {
    expect(() => decodeStream([{ stream: "stdout", text: "sh: base64: not found" }], "stdout", "t")).toThrow(/not base64/);
    expect(exactResponseLimit(1024 * 1024)).toBeGreaterThan(2 * (4 / 3) * 1024 * 1024);
    expect(exactResponseLimit(Number.MAX_SAFE_INTEGER)).toBe(2 ** 30);
  });
});
