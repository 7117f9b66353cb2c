import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { ALL_CASES, CONFORMANCE_CASES } from "./cases.ts";

describe("the case registry", () => {
  it("gives every case a group-prefixed id, a title and a body", () => {
    const ids = Object.keys(CONFORMANCE_CASES);
    expect(ids.length).toBeGreaterThanOrEqual(45);
    for (const [id, entry] of Object.entries(ALL_CASES)) {
      expect(id).toMatch(/^(exec|sh|files|transfer|paths|lifecycle|capabilities|concurrency|isolation)\.[a-z0-9-]+$/);
      expect(entry.title.length, id).toBeGreaterThan(10);
      expect(typeof entry.run, id).toBe("function");
      expect(CONFORMANCE_CASES[id as keyof typeof CONFORMANCE_CASES]).toBe(entry.title);
    }
  });

  it("is documented: the README lists every case id, and no other", async () => {
    const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
    const listed = [...readme.matchAll(/^\| `([a-z]+\.[a-z0-9-]+)` \|/gm)].map((match) => match[1]);
    expect(listed).toEqual(Object.keys(CONFORMANCE_CASES));
  });
});
