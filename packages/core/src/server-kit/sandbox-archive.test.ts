import { describe, expect, it } from "vitest";
import { staysInside } from "./sandbox-archive.ts";

describe("staysInside", () => {
  it("accepts relative targets that resolve inside the archive root", () => {
    expect(staysInside("a/link", "b")).toBe(true);
    expect(staysInside("a/link", "../top")).toBe(true);
    expect(staysInside("a/b/link", "./../../x")).toBe(true);
  });

  it("refuses absolute targets and targets that climb out", () => {
    expect(staysInside("link", "/etc/passwd")).toBe(false);
    expect(staysInside("link", "../x")).toBe(false);
    expect(staysInside("a/link", "../../x")).toBe(false);
    expect(staysInside("a/link", "b/../../../x")).toBe(false);
  });
});
