import { ValidationError } from "@sandkit/core";
import { describe, expect, it } from "vitest";
import { checkSessionId, generateSessionId, SESSION_ID_PATTERN, sandboxPath } from "./session-id.ts";

describe("session ids", () => {
  it("generates distinct ids that match the pattern", () => {
    const ids = new Set(Array.from({ length: 200 }, generateSessionId));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(SESSION_ID_PATTERN);
  });

  it("accepts ids of the later reference server's pattern", () => {
    for (const id of ["s1", "my-session", "A.b_c-9", "x".repeat(128), "0"]) expect(checkSessionId(id, "create")).toBe(id);
  });

  it.each([
    ["a#b", "would truncate the path at #"],
    ["a/b", "would add a path segment"],
    ["a?b", "would start a query"],
    ["..", "would reach the parent path"],
    [".hidden", "starts with a dot"],
    ["-x", "starts with a dash"],
    ["", "is empty"],
    ["a b", "has a space"],
    ["ünï", "is not ASCII"],
    ["x".repeat(129), "is too long"],
    ["a%2Fb", "has a percent sign"],
  ])("refuses %j (%s) with ValidationError", (id) => {
    const error = (() => {
      try {
        checkSessionId(id, "destroy");
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(ValidationError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ field: "id", backend: "noxrunner", operation: "destroy" });
  });

  it("refuses values that are not strings", () => {
    expect(() => checkSessionId(42, "attach")).toThrow(ValidationError);
    expect(() => checkSessionId(undefined, "attach")).toThrow(ValidationError);
  });

  it("builds sandbox paths only from checked ids", () => {
    expect(sandboxPath("s1", "exec", "/exec")).toBe("/v1/sandboxes/s1/exec");
    expect(sandboxPath("a.b-c_d", "destroy")).toBe("/v1/sandboxes/a.b-c_d");
    expect(() => sandboxPath("a#b", "destroy")).toThrow(ValidationError);
  });
});
