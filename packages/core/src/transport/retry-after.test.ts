import { describe, expect, it } from "vitest";
import { parseRetryAfter } from "./retry-after.ts";

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-11-22T10:00:00Z");

  it("reads delay-seconds (and a lenient decimal)", () => {
    expect(parseRetryAfter("0", now)).toBe(0);
    expect(parseRetryAfter("120", now)).toBe(120_000);
    expect(parseRetryAfter(" 2 ", now)).toBe(2_000);
    expect(parseRetryAfter("1.5", now)).toBe(1_500);
    expect(parseRetryAfter(["3", "9"], now)).toBe(3_000);
  });

  it("reads the three HTTP-date forms, relative to now; a past date is 0", () => {
    expect(parseRetryAfter("Sun, 22 Nov 2026 10:00:05 GMT", now)).toBe(5_000);
    expect(parseRetryAfter("Sunday, 22-Nov-26 10:00:07 GMT", now)).toBe(7_000);
    expect(parseRetryAfter("Sun Nov 22 10:00:09 2026", now)).toBe(9_000);
    expect(parseRetryAfter("Sun, 22 Nov 2026 09:00:00 GMT", now)).toBe(0);
  });

  it("ignores what it cannot read, and clamps absurd values to a day", () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter("", now)).toBeUndefined();
    expect(parseRetryAfter("-5", now)).toBeUndefined();
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter("2026-11-22", now)).toBeUndefined();
    expect(parseRetryAfter("99999999999", now)).toBe(86_400_000);
  });
});
