import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors/validation-error.ts";
import { optionChecks } from "./option-checks.ts";

const check = optionChecks("createTestServer");

/** The error `run` throws. */
function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("optionChecks", () => {
  it("fills in defaults for undefined", () => {
    expect(check.nonEmptyString(undefined, "127.0.0.1", "host")).toBe("127.0.0.1");
    expect(check.integer(undefined, 5, "port", 0)).toBe(5);
    expect(check.oneOf(undefined, "a", "mode", ["a", "b"] as const)).toBe("a");
    expect(check.logger(undefined)).toEqual({});
  });

  it("names the field and the operation in its ValidationError", () => {
    const error = thrown(() => check.integer(70_000, 0, "port", 0, 65_535));
    expect(ValidationError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ field: "port", operation: "createTestServer" });
  });

  it("refuses bad values", () => {
    expect(ValidationError.isInstance(thrown(() => check.nonEmptyString("", "x", "host")))).toBe(true);
    expect(ValidationError.isInstance(thrown(() => check.nonEmptyString("a\0b", "x", "host")))).toBe(true);
    expect(ValidationError.isInstance(thrown(() => check.integer(1.5, 0, "n", 0)))).toBe(true);
    expect(ValidationError.isInstance(thrown(() => check.integer(-1, 0, "n", 0)))).toBe(true);
    expect(ValidationError.isInstance(thrown(() => check.oneOf("c", "a", "mode", ["a", "b"] as const)))).toBe(true);
    expect(ValidationError.isInstance(thrown(() => check.logger("console")))).toBe(true);
    expect(ValidationError.isInstance(thrown(() => check.object(null)))).toBe(true);
    expect(check.integer(65_535, 0, "port", 0, 65_535)).toBe(65_535);
  });
});
