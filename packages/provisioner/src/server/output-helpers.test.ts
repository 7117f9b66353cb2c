import { describe, expect, it } from "vitest";
import { middleTruncate } from "./aio-exec.js";
import { parseSize } from "./aio-grep.js";

describe("middleTruncate", () => {
  it("keeps short text and 0 means no limit", () => {
    expect(middleTruncate("abc", 3)).toBe("abc");
    expect(middleTruncate("x".repeat(100), 0)).toBe("x".repeat(100));
  });

  it("keeps the head and the tail of long text", () => {
    const out = middleTruncate(`${"a".repeat(50)}${"b".repeat(50)}`, 10);
    expect(out.startsWith("aaaaa\n")).toBe(true);
    expect(out.endsWith("\nbbbbb")).toBe(true);
    expect(out).toContain("90 characters truncated");
  });
});

describe("parseSize", () => {
  it("reads grep's max_file_size forms", () => {
    expect(parseSize("1M")).toBe(1024 * 1024);
    expect(parseSize("500K")).toBe(500 * 1024);
    expect(parseSize("100")).toBe(100);
    expect(parseSize("2g")).toBe(2 * 1024 ** 3);
    expect(parseSize("1.5MB")).toBe(1.5 * 1024 * 1024);
  });

  it("refuses what does not parse", () => {
    for (const bad of ["", "M", "-1K", "1T", "1 M x"]) expect(parseSize(bad)).toBeUndefined();
  });
});
