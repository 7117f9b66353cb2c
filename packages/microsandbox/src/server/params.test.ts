import { describe, expect, it } from "vitest";
import { checkName, checkNamespace, parseStartConfig, timeoutSeconds } from "./params.js";
import { HttpAppError } from "./wire-errors.js";

function failure(fn: () => unknown): { status: number; code: number; message: string } {
  try {
    fn();
  } catch (error) {
    if (error instanceof HttpAppError) return { status: error.status, code: error.code, message: error.message };
    throw error;
  }
  throw new Error("expected a failure");
}

describe("start params", () => {
  it("keep a config only when it has an image, with every field typed", () => {
    expect(parseStartConfig(undefined)).toBeUndefined();
    expect(parseStartConfig({ memory: 512 })).toBeUndefined();
    expect(parseStartConfig({ image: "microsandbox/python", memory: 512, cpus: 1, envs: ["A=1"], extra: true })).toMatchObject({
      image: "microsandbox/python",
      memory: 512,
      cpus: 1,
      envs: ["A=1"],
    });
  });

  it("refuse what serde refuses, with its wording", () => {
    expect(failure(() => parseStartConfig({ image: "i", cpus: 1.5 }))).toEqual({
      status: 400,
      code: 2001,
      message: "Invalid params for sandbox.start: invalid type: floating point `1.5`, expected u8",
    });
    expect(failure(() => parseStartConfig({ image: "i", cpus: 256 })).message).toBe("Invalid params for sandbox.start: invalid value: integer `256`, expected u8");
    expect(failure(() => parseStartConfig({ image: "i", memory: "512" })).message).toBe('Invalid params for sandbox.start: invalid type: string "512", expected u32');
    expect(failure(() => parseStartConfig({ image: "i", envs: null })).message).toBe("Invalid params for sandbox.start: invalid type: null, expected a sequence");
    expect(failure(() => parseStartConfig({ image: "i", scripts: { a: 1 } })).message).toBe("Invalid params for sandbox.start: invalid type: integer `1`, expected a string");
  });

  it("check names as upstream, in upstream's order", () => {
    expect(failure(() => checkName("Sandbox", "")).message).toBe("Sandbox name cannot be empty");
    expect(failure(() => checkName("Sandbox", "a".repeat(64))).message).toBe("Sandbox name cannot exceed 63 characters");
    expect(failure(() => checkName("Namespace", "a b")).message).toBe("Namespace name can only contain alphanumeric characters, hyphens, or underscores");
    expect(failure(() => checkName("Namespace", "_a")).message).toBe("Namespace name must start with an alphanumeric character");
    expect(failure(() => checkNamespace("*")).message).toBe("Wildcard namespace (*) is not valid for sandbox creation");
    expect(() => checkName("Sandbox", "a".repeat(63))).not.toThrow();
  });

  it("take whole, non-negative timeouts only", () => {
    expect(timeoutSeconds(undefined)).toBeUndefined();
    expect(timeoutSeconds(3)).toBe(3);
    expect(timeoutSeconds(1.5)).toBeNaN();
    expect(timeoutSeconds(-1)).toBeNaN();
    expect(timeoutSeconds("1")).toBeNaN();
  });
});
