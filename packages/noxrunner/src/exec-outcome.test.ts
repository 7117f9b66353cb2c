import type { OutputChunkV1 } from "@sandkit/core";
import { describe, expect, it } from "vitest";
import type { ExecAnswer } from "./client.ts";
import { cutUtf8, isTimeoutExit, timedOutResult, toExecResult } from "./exec-outcome.ts";

const answer = (overrides: Partial<ExecAnswer> = {}): ExecAnswer => ({
  exitCode: 0,
  stdout: "",
  stderr: "",
  durationMs: 5,
  stdoutTruncated: false,
  stderrTruncated: false,
  ...overrides,
});

describe("cutUtf8", () => {
  it("keeps text within the limit", () => {
    expect(cutUtf8("héllo", 6)).toEqual({ text: "héllo", truncated: false });
  });

  it("cuts at a character boundary, never inside a character", () => {
    expect(cutUtf8("日本語", 7)).toEqual({ text: "日本", truncated: true });
    expect(cutUtf8("🎉🎉", 5)).toEqual({ text: "🎉", truncated: true });
    expect(cutUtf8("ab", 0)).toEqual({ text: "", truncated: true });
  });
});

describe("telling a timeout from an exit 124", () => {
  it("counts 124 at (or just under) the limit as a timeout", () => {
    expect(isTimeoutExit(124, 2000, 2)).toBe(true);
    expect(isTimeoutExit(124, 1800, 2)).toBe(true);
    expect(isTimeoutExit(124, 5000, 2)).toBe(true);
  });

  it("counts 124 well before the limit as the command's own exit", () => {
    expect(isTimeoutExit(124, 20, 2)).toBe(false);
    expect(isTimeoutExit(124, 1700, 2)).toBe(false);
  });

  it("never counts another exit code as a timeout", () => {
    expect(isTimeoutExit(137, 5000, 2)).toBe(false);
    expect(isTimeoutExit(0, 5000, 2)).toBe(false);
  });
});

describe("toExecResult", () => {
  it("keeps exit codes as sent, negative ones included", () => {
    const result = toExecResult(answer({ exitCode: -1 }), { timeoutSeconds: 30, elapsedMs: 10, maxOutputBytes: 100 });
    expect(result).toMatchObject({ exitCode: -1, timedOut: false, stdoutTruncated: false, stderrTruncated: false });
  });

  it("reports a 124 at the limit as timedOut with no exit code, keeping the output", () => {
    const result = toExecResult(answer({ exitCode: 124, stdout: "partial", stderr: "Command timed out after 2 seconds", durationMs: 2003 }), {
      timeoutSeconds: 2,
      elapsedMs: 2100,
      maxOutputBytes: 100,
    });
    expect(result).toMatchObject({ exitCode: null, timedOut: true, stdout: "partial", durationMs: 2003 });
  });

  it("uses the request's time when the server sends no durationMs", () => {
    const timedOut = toExecResult(answer({ exitCode: 124, durationMs: undefined }), { timeoutSeconds: 1, elapsedMs: 1010, maxOutputBytes: 10 });
    expect(timedOut.timedOut).toBe(true);
    const quick = toExecResult(answer({ exitCode: 124, durationMs: undefined }), { timeoutSeconds: 1, elapsedMs: 40, maxOutputBytes: 10 });
    expect(quick).toMatchObject({ timedOut: false, exitCode: 124, durationMs: 40 });
  });

  it("cuts each stream at maxOutputBytes, flags it, and hands the kept bytes to onOutput once", () => {
    const chunks: OutputChunkV1[] = [];
    const result = toExecResult(answer({ stdout: "x".repeat(50), stderr: "é".repeat(10) }), {
      timeoutSeconds: 30,
      elapsedMs: 10,
      maxOutputBytes: 9,
      onOutput: (chunk) => chunks.push(chunk),
    });
    expect(result).toMatchObject({ stdout: "x".repeat(9), stderr: "éééé", stdoutTruncated: true, stderrTruncated: true });
    expect(chunks.map((c) => [c.stream, Buffer.from(c.data).toString("utf8")])).toEqual([
      ["stdout", "x".repeat(9)],
      ["stderr", "éééé"],
    ]);
  });

  it("passes on the server's own truncation flags", () => {
    const result = toExecResult(answer({ stdout: "abc", stdoutTruncated: true }), { timeoutSeconds: 30, elapsedMs: 10, maxOutputBytes: 100 });
    expect(result).toMatchObject({ stdout: "abc", stdoutTruncated: true, stderrTruncated: false });
  });

  it("builds the result of a 504 timeout", () => {
    expect(timedOutResult(2003.6)).toEqual({
      exitCode: null,
      signal: null,
      stdout: "",
      stderr: "",
      stdoutTruncated: false,
      stderrTruncated: false,
      durationMs: 2004,
      timedOut: true,
    });
  });
});
