import { describe, expect, it } from "vitest";
import { checkSymlinkTarget, showName, splitEntryName, splitHardlinkTarget } from "./entry-name.ts";

describe("splitEntryName", () => {
  it.each([
    ["a/b/c", ["a", "b", "c"]],
    ["./a//b/", ["a", "b"]],
    ["./", []],
    [".", []],
    ["..a/b..", ["..a", "b.."]],
    ["日本/ü", ["日本", "ü"]],
  ])("splits %j", (name, segments) => {
    expect(splitEntryName(name)).toEqual(segments);
  });

  it.each([
    ["/etc/passwd", "absolute-path"],
    ["//x", "absolute-path"],
    ["..", "path-traversal"],
    ["a/../b", "path-traversal"],
    ["a/..", "path-traversal"],
    ["a\0b", "invalid-name"],
    [`${"x".repeat(256)}`, "invalid-name"],
    [`${"x/".repeat(2048)}`, "invalid-name"],
  ])("refuses %j as %s", (name, reason) => {
    expect(splitEntryName(name)).toMatchObject({ reason });
  });

  it("accepts a 255-byte segment (multi-byte characters counted as bytes)", () => {
    expect(splitEntryName("é".repeat(127))).toHaveLength(1);
    expect(splitEntryName("é".repeat(128))).toMatchObject({ reason: "invalid-name" });
  });
});

describe("checkSymlinkTarget", () => {
  it.each([
    [[], "a"],
    [["a", "b"], "../c"],
    [["a", "b"], "../../c"],
    [["a"], "./b/../c"],
  ])("accepts %j -> %j", (parent, target) => {
    expect(checkSymlinkTarget(parent, target)).toBeUndefined();
  });

  it.each([
    [[], "/", "link-escape"],
    [[], "..", "link-escape"],
    [["a"], "../..", "link-escape"],
    [["a", "b"], "c/../../../../d", "link-escape"],
    [[], "", "invalid-name"],
    [[], "a\0", "invalid-name"],
  ])("refuses %j -> %j as %s", (parent, target, reason) => {
    expect(checkSymlinkTarget(parent, target)).toMatchObject({ reason });
  });
});

describe("splitHardlinkTarget", () => {
  it("reads targets from the archive root and calls escapes link-escape", () => {
    expect(splitHardlinkTarget("a/b")).toEqual(["a", "b"]);
    expect(splitHardlinkTarget("../x")).toMatchObject({ reason: "link-escape" });
    expect(splitHardlinkTarget("/etc/passwd")).toMatchObject({ reason: "link-escape" });
    expect(splitHardlinkTarget("./")).toMatchObject({ reason: "link-escape" });
    expect(splitHardlinkTarget("")).toMatchObject({ reason: "invalid-name" });
  });
});

describe("showName", () => {
  it("escapes control, invisible and direction characters and bounds the length", () => {
    expect(showName("a\nb\u0000c\u007f\u200b\u202e\u2066")).toBe("a\\nb\\u0000c\\u007f\\u200b\\u202e\\u2066");
    expect(showName('quote" and \\')).toBe('quote\\" and \\\\');
    expect(showName("x".repeat(1000))).toHaveLength(259);
  });
});
