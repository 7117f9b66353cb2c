import type { OutputChunkV1 } from "@sandkit/core";
import { describe, expect, it } from "vitest";
import { cutUtf8, joinLines, REPL_TIMEOUT_LINE, toExecResult } from "./output.ts";

const lines = [
  { stream: "stdout", text: "  a" },
  { stream: "stderr", text: "e" },
  { stream: "stdout", text: "b  " },
  { stream: "stdout", text: "" },
] as const;

describe("joinLines", () => {
  it("follows upstream's rule for runCode (lines, trailing whitespace stripped, leading kept)", () => {
    expect(joinLines(lines, "stdout", "upstream")).toBe("  a\nb");
    expect(joinLines(lines, "stderr", "upstream")).toBe("e");
    expect(joinLines([], "stdout", "upstream")).toBe("");
  });
  it("restores one newline per line for exec", () => {
    expect(joinLines(lines, "stdout", "lines")).toBe("  a\nb  \n\n");
  });
});

describe("cutUtf8 and toExecResult", () => {
  it("never splits a character", () => {
    expect(cutUtf8("héllo", 2)).toEqual({ text: "h", truncated: true });
    expect(cutUtf8("héllo", 3)).toEqual({ text: "hé", truncated: true });
    expect(cutUtf8("héllo", 6)).toEqual({ text: "héllo", truncated: false });
  });
  it("cuts per stream and reports once per stream", () => {
    const chunks: OutputChunkV1[] = [];
    const r = toExecResult({ stdout: "abcdef", stderr: "xy", exitCode: 0, timedOut: false, durationMs: 1, maxOutputBytes: 3, onOutput: (c) => chunks.push(c) });
    expect(r).toMatchObject({ stdout: "abc", stderr: "xy", stdoutTruncated: true, stderrTruncated: false });
    expect(chunks.map((c) => [c.stream, Buffer.from(c.data).toString()])).toEqual([
      ["stdout", "abc"],
      ["stderr", "xy"],
    ]);
  });
  it("recognises the portal's timeout line only in its exact form", () => {
    expect(REPL_TIMEOUT_LINE.test("Error: Execution timed out after 1 seconds")).toBe(true);
    expect(REPL_TIMEOUT_LINE.test("x Error: Execution timed out after 1 seconds")).toBe(false);
  });
});
