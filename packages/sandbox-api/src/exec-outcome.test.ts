import { describe, expect, it } from "vitest";
import { ProtocolError, ServerError } from "@sandkit/core";
import { toExecuteStatus } from "./client.ts";
import { exactArgv } from "./exact-output.ts";
import { cutText, toExecResult } from "./exec-outcome.ts";
import type { ExecuteResult } from "./protocol-types.ts";

function answer(status: number, entry: Partial<ExecuteResult["execution"][number]> = {}): ExecuteResult {
  return {
    ...toExecuteStatus(status),
    execution: [{ command: "x", exitCode: status > 0 ? status : 0, stdout: "", stderr: "", timeSeconds: 0.25, ...entry }],
    totalTimeSeconds: 0.3,
  };
}

const options = { maxOutputBytes: 1024, sandboxId: "s", exact: false };

describe("the status table", () => {
  it("is a typed union", () => {
    expect(toExecuteStatus(0)).toEqual({ outcome: "success", status: 0 });
    expect(toExecuteStatus(137)).toEqual({ outcome: "command-failed", status: 137 });
    expect(toExecuteStatus(-1).outcome).toBe("unknown-error");
    expect(toExecuteStatus(-2).outcome).toBe("timed-out");
    expect(toExecuteStatus(-3).outcome).toBe("result-not-found");
    expect(toExecuteStatus(-4).outcome).toBe("result-not-utf8");
    expect(() => toExecuteStatus(-5)).toThrow(ProtocolError);
  });
});

describe("toExecResult", () => {
  it("maps success and failures to exit codes, and times to milliseconds", () => {
    expect(toExecResult(answer(0, { stdout: "hi" }), options)).toMatchObject({ exitCode: 0, stdout: "hi", timedOut: false, durationMs: 250 });
    expect(toExecResult(answer(2), options)).toMatchObject({ exitCode: 2, timedOut: false });
  });

  it("maps -2 to timedOut with no exit code, keeping the server's texts even with the wrapper", () => {
    const r = toExecResult(answer(-2, { exitCode: -2, stderr: "Command timed out after 1 seconds\n" }), { ...options, exact: true });
    expect(r).toMatchObject({ timedOut: true, exitCode: null, stderr: "Command timed out after 1 seconds\n" });
  });

  it("maps -1 to a ServerError and -3/-4 (no result file was asked) to a ProtocolError", () => {
    expect(() => toExecResult(answer(-1, { exitCode: -1 }), options)).toThrow(ServerError);
    expect(() => toExecResult(answer(-3), options)).toThrow(ProtocolError);
    expect(() => toExecResult(answer(-4), options)).toThrow(ProtocolError);
  });

  it("decodes the wrapper's base64 streams and refuses anything else", () => {
    const stdout = Buffer.from("  exact\n\n").toString("base64");
    expect(toExecResult(answer(0, { stdout, stderr: "" }), { ...options, exact: true }).stdout).toBe("  exact\n\n");
    expect(() => toExecResult(answer(0, { stdout: "not base64!" }), { ...options, exact: true })).toThrow(ProtocolError);
  });

  it("cuts at maxOutputBytes on a character boundary and flags it", () => {
    expect(cutText("日本語", 4)).toEqual({ text: "日", truncated: true });
    expect(cutText("abc", 3)).toEqual({ text: "abc", truncated: false });
    expect(toExecResult(answer(0, { stdout: "abcdef" }), { ...options, maxOutputBytes: 3 })).toMatchObject({ stdout: "abc", stdoutTruncated: true });
  });

  it("calls onOutput once per non-empty stream", () => {
    const chunks: string[] = [];
    toExecResult(answer(0, { stdout: "o", stderr: "" }), { ...options, onOutput: (chunk) => chunks.push(`${chunk.stream}:${Buffer.from(chunk.data).toString()}`) });
    expect(chunks).toEqual(["stdout:o"]);
  });

  it("wraps argv in the exact-output script with the cap first", () => {
    expect(exactArgv(["echo", "hi"], 10).slice(3)).toEqual(["sh", "10", "echo", "hi"]);
  });
});
