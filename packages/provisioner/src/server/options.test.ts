import { Secret, ValidationError } from "@sandkit/core";
import { describe, expect, it } from "vitest";
import { ApiKeyCheck } from "./auth.js";
import { resolveProvisionerOptions } from "./options.js";

describe("resolveProvisionerOptions", () => {
  it("fills the defaults", () => {
    const o = resolveProvisionerOptions({});
    expect(o).toMatchObject({ host: "127.0.0.1", port: 0, readyDelayMs: 0, dataPlaneHost: "127.0.0.1", apiKey: undefined });
  });

  it("takes dataPlaneHost from host unless given", () => {
    expect(resolveProvisionerOptions({ host: "::1" }).dataPlaneHost).toBe("::1");
    expect(resolveProvisionerOptions({ host: "0.0.0.0", dataPlaneHost: "127.0.0.1" }).dataPlaneHost).toBe("127.0.0.1");
  });

  it("treats an empty key as no key (fail-closed) and wraps strings in Secret", () => {
    expect(resolveProvisionerOptions({ apiKey: "" }).apiKey).toBeUndefined();
    expect(resolveProvisionerOptions({ apiKey: new Secret("") }).apiKey).toBeUndefined();
    expect(resolveProvisionerOptions({ apiKey: "k" }).apiKey?.reveal()).toBe("k");
  });

  it("refuses bad values with a ValidationError naming the field", () => {
    for (const [options, field] of [
      [{ port: -1 }, "port"],
      [{ port: 1.5 }, "port"],
      [{ readyDelayMs: -5 }, "readyDelayMs"],
      [{ host: "" }, "host"],
      [{ apiKey: 5 as unknown as string }, "apiKey"],
    ] as const) {
      try {
        resolveProvisionerOptions(options);
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as ValidationError & { field?: string }).message).toContain(field);
      }
    }
  });
});

describe("ApiKeyCheck", () => {
  it("accepts only the exact key", () => {
    const check = new ApiKeyCheck(new Secret("s3cret"));
    expect(check.accepts({ "x-api-key": "s3cret" })).toBe(true);
    expect(check.accepts({ "x-api-key": "s3cret " })).toBe(false);
    expect(check.accepts({ "x-api-key": "" })).toBe(false);
    expect(check.accepts({})).toBe(false);
    expect(check.accepts({ "x-api-key": "sé" })).toBe(false);
  });

  it("accepts nothing when no key is configured", () => {
    const check = new ApiKeyCheck(undefined);
    expect(check.accepts({ "x-api-key": "" })).toBe(false);
    expect(check.accepts({})).toBe(false);
  });
});
