import { ValidationError } from "@sandkit/core";
import { describe, expect, it } from "vitest";
import { execTimeoutSeconds } from "./connection.ts";

const limits = { execTimeoutSeconds: 30, maxExecTimeoutSeconds: 300 };

describe("execTimeoutSeconds", () => {
  it("sends the configured default when the call sets no limit", () => {
    expect(execTimeoutSeconds(undefined, limits, "s1")).toBe(30);
    expect(execTimeoutSeconds(undefined, { execTimeoutSeconds: 7, maxExecTimeoutSeconds: 300 }, "s1")).toBe(7);
  });

  it("rounds milliseconds up to whole seconds, never down to zero", () => {
    expect(execTimeoutSeconds(1, limits, "s1")).toBe(1);
    expect(execTimeoutSeconds(300, limits, "s1")).toBe(1);
    expect(execTimeoutSeconds(1000, limits, "s1")).toBe(1);
    expect(execTimeoutSeconds(1001, limits, "s1")).toBe(2);
    expect(execTimeoutSeconds(300_000, limits, "s1")).toBe(300);
  });

  it("refuses a limit above the server's maximum, naming timeoutMs", () => {
    expect(() => execTimeoutSeconds(300_001, limits, "s1")).toThrow(ValidationError);
    try {
      execTimeoutSeconds(301_000, limits, "s1");
    } catch (error) {
      expect(error).toMatchObject({ field: "timeoutMs", operation: "exec", sandboxId: "s1", backend: "noxrunner" });
    }
  });

  it("refuses limits that are not positive numbers", () => {
    for (const value of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => execTimeoutSeconds(value, limits, "s1")).toThrow(ValidationError);
  });
});
