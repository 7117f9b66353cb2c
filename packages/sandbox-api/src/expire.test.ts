import { describe, expect, it } from "vitest";
import { parseExpire } from "./expire.ts";

describe("parseExpire", () => {
  it("reads the three formats servers have sent", () => {
    expect(parseExpire("2020-10-01T12:19:36.123456+00:00")?.toISOString()).toBe("2020-10-01T12:19:36.123Z");
    expect(parseExpire("2020-10-01T12:19:36+02:00")?.toISOString()).toBe("2020-10-01T10:19:36.000Z");
    expect(parseExpire("2020-10-01T12:19:36.5")?.toISOString()).toBe("2020-10-01T12:19:36.500Z");
    expect(parseExpire("20190705T130535Z")?.toISOString()).toBe("2019-07-05T13:05:35.000Z");
  });

  it("gives undefined for anything else", () => {
    for (const text of ["", "tomorrow", "2020-13-45T99:99:99", "2020-10-01 12:19:36"]) expect(parseExpire(text)).toBeUndefined();
  });
});
