import { ValidationError } from "@sandkit/core";
import { describe, expect, it } from "vitest";
import { checkSandboxId, generateSandboxId, SANDBOX_ID_PATTERN } from "./sandbox-id.js";

describe("sandbox ids", () => {
  it.each(["a", "A1", "sbx-1.2_3", "9".repeat(128)])("accepts %j", (id) => {
    expect(checkSandboxId(id, "create")).toBe(id);
  });

  it.each(["", "-a", ".hidden", "a/b", "../x", "a b", "é", "9".repeat(129), "a\0"])("refuses %j", (id) => {
    expect(() => checkSandboxId(id, "create")).toThrow(ValidationError);
  });

  it("refuses non-strings and names the field", () => {
    try {
      checkSandboxId(42, "attach");
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ field: "id", operation: "attach", backend: "local" });
    }
  });

  it("generates ids that match the pattern and differ", () => {
    const a = generateSandboxId();
    const b = generateSandboxId();
    expect(a).toMatch(SANDBOX_ID_PATTERN);
    expect(a).not.toBe(b);
  });
});
