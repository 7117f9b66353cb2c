import { describe, expect, it } from "vitest";
import { ValidationError } from "@sandkit/core";
import { SandboxApiClient } from "./client.ts";
import { isResolvedOptions, resolveOptions } from "./options.ts";

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).field;
  }
  return undefined;
}

describe("resolveOptions", () => {
  it("fills in the defaults", () => {
    expect(resolveOptions({ url: "http://127.0.0.1:7000/" })).toMatchObject({
      url: "http://127.0.0.1:7000",
      budgetMs: 10_000,
      workdir: "/home/student",
      exactOutput: true,
      baseEnvironment: undefined,
    });
  });

  it("reads SANDBOX_API_URL, then SANDKIT_URL, when url is absent", () => {
    expect(resolveOptions({}, { SANDBOX_API_URL: "http://a:1", SANDKIT_URL: "http://b:2" }).url).toBe("http://a:1");
    expect(resolveOptions({}, { SANDKIT_URL: "http://b:2" }).url).toBe("http://b:2");
    expect(resolveOptions({ url: "http://c:3" }, { SANDBOX_API_URL: "http://a:1" }).url).toBe("http://c:3");
  });

  it("a look-alike of resolved options is still validated by the client", () => {
    const resolved = resolveOptions({ url: "http://127.0.0.1:9" });
    expect(isResolvedOptions(resolved)).toBe(true);
    expect(isResolvedOptions({ ...resolved })).toBe(false);
    expect(() => new SandboxApiClient({ ...resolved, url: "ftp://x" } as never)).toThrow(ValidationError);
  });

  it("refuses bad values, naming the field", () => {
    expect(fieldOf(() => resolveOptions({}))).toBe("url");
    expect(fieldOf(() => resolveOptions({ url: "ftp://x" }))).toBe("url");
    expect(fieldOf(() => resolveOptions({}, { SANDBOX_API_URL: "not a url" }))).toBe("SANDBOX_API_URL");
    expect(fieldOf(() => resolveOptions({ url: "http://x", budgetMs: 0 }))).toBe("budgetMs");
    expect(fieldOf(() => resolveOptions({ url: "http://x", workdir: "rel" }))).toBe("workdir");
    expect(fieldOf(() => resolveOptions({ url: "http://x", baseEnvironment: "nope" }))).toBe("baseEnvironment");
    expect(fieldOf(() => resolveOptions({ url: "http://x", headers: { "bad name": "v" } }))).toBe("headers");
    expect(fieldOf(() => resolveOptions({ url: "http://x", nope: 1 } as never))).toBe("nope");
  });
});
