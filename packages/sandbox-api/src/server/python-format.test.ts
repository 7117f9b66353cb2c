import { describe, expect, it } from "vitest";
import { pythonClass, pythonFloat, pythonRepr } from "./python-format.js";

describe("python-format", () => {
  it("names JSON values by their Python class", () => {
    expect([{}, [], "s", 1, 1.5, true, null].map(pythonClass)).toEqual([
      "<class 'dict'>",
      "<class 'list'>",
      "<class 'str'>",
      "<class 'int'>",
      "<class 'float'>",
      "<class 'bool'>",
      "<class 'NoneType'>",
    ]);
  });

  it("writes repr() of items and str() of floats", () => {
    expect(pythonRepr({ timeout: 1, command: null, x: [true, "it's", 'a"b\n'] })).toBe(`{'timeout': 1, 'command': None, 'x': [True, "it's", 'a"b\\n']}`);
    expect([10, 0.2, 9.71234, 1e-7].map(pythonFloat)).toEqual(["10.0", "0.2", "9.71234", "1e-07"]);
  });
});
