import { describe, expect, it } from "vitest";
import { INTERPRETERS, interpreterFor } from "./interpreters.ts";
import { UsageError } from "./usage-error.ts";

describe("interpreterFor", () => {
  it("names the interpreter of each known extension, in any case", () => {
    expect(interpreterFor("a.py")).toEqual(["python3"]);
    expect(interpreterFor("/x/y/a.JS")).toEqual(["node"]);
    expect(interpreterFor("a.mjs")).toEqual(["node"]);
    expect(interpreterFor("a.sh")).toEqual(["sh"]);
    expect(interpreterFor("a.rb")).toEqual(["ruby"]);
    expect(interpreterFor("a.pl")).toEqual(["perl"]);
    expect(Object.keys(INTERPRETERS).every((ext) => ext.startsWith(".") && ext === ext.toLowerCase())).toBe(true);
  });

  it("refuses unknown and missing extensions with a usage error", () => {
    expect(() => interpreterFor("a.exe")).toThrow(UsageError);
    expect(() => interpreterFor(".bashrc")).toThrow(/has no extension/);
  });
});
