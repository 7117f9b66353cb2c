import { CapabilityUnsupportedError, FileNotFoundError, SandboxError, ValidationError } from "@sandkit/core";
import { describe, expect, it } from "vitest";
import { expectSandboxError, expectUnsupported, pollUntil } from "./assertions.ts";

describe("expectSandboxError", () => {
  it("returns the error for a rejected promise, a function that throws and one that rejects", async () => {
    const error = new ValidationError("bad path", { field: "path" });
    expect(await expectSandboxError(Promise.reject(error), ValidationError)).toBe(error);
    expect(
      await expectSandboxError(() => {
        throw error;
      }, ValidationError),
    ).toBe(error);
    expect(await expectSandboxError(async () => Promise.reject(error), SandboxError)).toBe(error);
  });

  it("fails when the operation succeeds", async () => {
    await expect(expectSandboxError(Promise.resolve(42), ValidationError, "reading")).rejects.toThrow(/reading should have failed with ValidationError, but it succeeded with 42/);
  });

  it("fails for another class, and for errors that are not sandkit errors", async () => {
    await expect(expectSandboxError(Promise.reject(new FileNotFoundError("gone", { path: "/x" })), ValidationError)).rejects.toThrow(
      /failed with FileNotFoundError \(FILE_NOT_FOUND\): gone/,
    );
    await expect(expectSandboxError(Promise.reject(new TypeError("nope")), ValidationError)).rejects.toThrow(/failed with TypeError: nope/);
  });
});

describe("expectUnsupported", () => {
  it("checks the capability the error names", async () => {
    const error = new CapabilityUnsupportedError("no stdin", { capability: "exec.stdin", backend: "test" });
    await expectUnsupported(Promise.reject(error), "exec.stdin");
    await expect(expectUnsupported(Promise.reject(error), "metrics")).rejects.toThrow();
  });
});

describe("pollUntil", () => {
  it("returns true as soon as the condition holds", async () => {
    let calls = 0;
    expect(await pollUntil(() => ++calls === 3, { timeoutMs: 5_000, intervalMs: 1 })).toBe(true);
    expect(calls).toBe(3);
  });

  it("returns false once the bound has passed", async () => {
    const started = Date.now();
    expect(await pollUntil(() => false, { timeoutMs: 50, intervalMs: 10 })).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(50);
  });
});
