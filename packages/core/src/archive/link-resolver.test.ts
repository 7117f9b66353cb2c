import { describe, expect, it } from "vitest";
import { type LinkLookup, resolvesInside } from "./link-resolver.ts";

/** A lookup over a fixed set of links. */
function links(map: Record<string, string>): LinkLookup {
  return async (path) => map[path];
}

describe("resolvesInside", () => {
  it("follows links the way the kernel would", async () => {
    const tree = links({ "x/y": "..", a: "x/y", deep: "x/y/x/y/x/y" });
    expect(await resolvesInside([], "a", tree)).toBe(true);
    expect(await resolvesInside([], "a/..", tree)).toBe(false);
    expect(await resolvesInside([], "deep/x", tree)).toBe(true);
    expect(await resolvesInside(["x"], "y/..", tree)).toBe(false);
  });

  it("refuses absolute targets, also reached through another link", async () => {
    expect(await resolvesInside([], "/tmp", links({}))).toBe(false);
    expect(await resolvesInside([], "p/etc", links({ p: "/" }))).toBe(false);
  });

  it("looks up segments below a missing one", async () => {
    expect(await resolvesInside([], "missing/../evil", links({ evil: "/" }))).toBe(false);
  });

  it("refuses loops and chains longer than 40 hops", async () => {
    expect(await resolvesInside([], "a", links({ a: "b", b: "a" }))).toBe(false);
    const chain: Record<string, string> = {};
    for (let i = 1; i <= 41; i += 1) chain[`l${i}`] = `l${i - 1}`;
    expect(await resolvesInside([], "l40", links(chain))).toBe(true);
    expect(await resolvesInside([], "l41", links(chain))).toBe(false);
  });
});
