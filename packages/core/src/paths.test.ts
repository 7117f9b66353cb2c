import { describe, expect, it } from "vitest";
import { ValidationError } from "./errors/validation-error.js";
import { isWithin, resolveSandboxPath } from "./paths.js";

describe("resolveSandboxPath", () => {
  it.each([
    ["main.py", "/workspace/main.py"],
    ["./src//a.ts", "/workspace/src/a.ts"],
    ["dir/", "/workspace/dir"],
    [".", "/workspace"],
    ["/tmp/x", "/tmp/x"],
    ["/tmp//x/./y/", "/tmp/x/y"],
    ["/", "/"],
    ["name with spaces\nand newline", "/workspace/name with spaces\nand newline"],
  ])("%j resolves to %j", (input, expected) => {
    expect(resolveSandboxPath(input, "/workspace")).toBe(expected);
  });

  it.each([["../etc/passwd"], ["a/../../b"], ["/workspace/.."], [".."], ["a/.."], ["a\0b"], [""]])("refuses %j with ValidationError", (input) => {
    let caught: unknown;
    try {
      resolveSandboxPath(input, "/workspace", "cwd");
    } catch (error) {
      caught = error;
    }
    expect(ValidationError.isInstance(caught)).toBe(true);
    expect((caught as ValidationError).field).toBe("cwd");
  });

  it("refuses a non-string", () => {
    expect(() => resolveSandboxPath(42 as unknown as string, "/workspace")).toThrow(ValidationError);
  });
});

describe("isWithin", () => {
  it.each([
    ["/workspace", "/workspace", true],
    ["/workspace/a/b", "/workspace", true],
    ["/workspace2/a", "/workspace", false],
    ["/work", "/workspace", false],
    ["/anything", "/", true],
  ])("isWithin(%j, %j) is %s", (path, root, expected) => {
    expect(isWithin(path, root)).toBe(expected);
  });
});
