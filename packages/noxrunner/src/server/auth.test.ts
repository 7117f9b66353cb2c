import { Secret } from "@sandkit/core";
import { describe, expect, it } from "vitest";
import { ServiceKeyCheck } from "./auth.js";
import { HttpError } from "./http-error.js";

function outcome(check: ServiceKeyCheck, headers: Record<string, string>): string {
  try {
    check.check(headers);
    return "ok";
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    return `${error.status} ${error.code}`;
  }
}

describe("ServiceKeyCheck", () => {
  it("is off without keys", () => {
    const check = new ServiceKeyCheck([], 401);
    expect(check.enabled).toBe(false);
    expect(outcome(check, {})).toBe("ok");
  });

  it("accepts any configured key, in X-Service-Key or Authorization: ServiceKey, and nothing else", () => {
    const check = new ServiceKeyCheck([new Secret("first-key"), new Secret("second-key")], 403);
    expect(outcome(check, { "x-service-key": "first-key" })).toBe("ok");
    expect(outcome(check, { "x-service-key": "second-key" })).toBe("ok");
    expect(outcome(check, { authorization: "ServiceKey second-key" })).toBe("ok");
    expect(outcome(check, {})).toBe("403 SERVICE_KEY_MISSING");
    expect(outcome(check, { "x-service-key": "" })).toBe("403 SERVICE_KEY_MISSING");
    expect(outcome(check, { authorization: "Bearer first-key" })).toBe("403 SERVICE_KEY_MISSING");
    expect(outcome(check, { "x-service-key": "first-ke" })).toBe("403 SERVICE_KEY_INVALID");
    expect(outcome(check, { "x-service-key": "first-key-and-more" })).toBe("403 SERVICE_KEY_INVALID");
    // X-Service-Key wins over Authorization.
    expect(outcome(check, { "x-service-key": "wrong", authorization: "ServiceKey first-key" })).toBe("403 SERVICE_KEY_INVALID");
  });

  it("never puts the key in its errors", () => {
    const check = new ServiceKeyCheck([new Secret("the-real-key")], 401);
    try {
      check.check({ "x-service-key": "guess-one" });
      expect.fail("should have refused");
    } catch (error) {
      expect(String((error as Error).message)).not.toContain("guess-one");
      expect(String((error as Error).message)).not.toContain("the-real-key");
    }
  });
});
