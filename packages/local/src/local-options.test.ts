import { tmpdir } from "node:os";
import { ValidationError } from "@sandkit/core";
import { describe, expect, it } from "vitest";
import { createBackend, local } from "./index.js";
import { resolveConfiguredOptions, resolveLocalOptions } from "./local-options.js";

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(ValidationError.isInstance(error)).toBe(true);
    return (error as ValidationError).field;
  }
  throw new Error("expected a ValidationError");
}

describe("local options", () => {
  it("has defaults: the OS temp dir, auto isolation, no inherited env, no TTL, 200 ms grace", () => {
    expect(resolveLocalOptions({})).toMatchObject({ root: tmpdir(), isolation: "auto", inheritEnv: false, ttlMs: undefined, killGraceMs: 200 });
  });

  it.each([
    [{ root: "" }, "root"],
    [{ root: 5 }, "root"],
    [{ isolation: "docker" }, "isolation"],
    [{ inheritEnv: "yes" }, "inheritEnv"],
    [{ ttlMs: 0 }, "ttlMs"],
    [{ ttlMs: Number.POSITIVE_INFINITY }, "ttlMs"],
    [{ killGraceMs: -1 }, "killGraceMs"],
    [{ onExpire: "x" }, "onExpire"],
    [{ bubblewrapPath: "bwrap" }, "bubblewrapPath"],
    [{ rooot: "/tmp" }, "rooot"],
  ])("local(%j) is a ValidationError on %s", (options, field) => {
    expect(fieldOf(() => local(options as never))).toBe(field);
  });

  it("createBackend accepts only the configuration keys", () => {
    expect(fieldOf(() => createBackend({ onExpire: () => undefined }, {}))).toBe("onExpire");
    expect(fieldOf(() => createBackend({ url: "http://x" }, {}))).toBe("url");
    expect(fieldOf(() => createBackend({ ttlMs: "10" }, {}))).toBe("ttlMs");
  });

  it("createBackend reads SANDKIT_LOCAL_ROOT and SANDKIT_LOCAL_ISOLATION when the options are absent", () => {
    expect(resolveConfiguredOptions({}, { SANDKIT_LOCAL_ROOT: "/var/tmp/sk", SANDKIT_LOCAL_ISOLATION: "none" })).toMatchObject({
      root: "/var/tmp/sk",
      isolation: "none",
    });
    expect(resolveConfiguredOptions({ root: "/srv/x", isolation: "auto" }, { SANDKIT_LOCAL_ROOT: "/var/tmp/sk", SANDKIT_LOCAL_ISOLATION: "none" })).toMatchObject({
      root: "/srv/x",
      isolation: "auto",
    });
    expect(fieldOf(() => createBackend({}, { SANDKIT_LOCAL_ISOLATION: "vm" }))).toBe("SANDKIT_LOCAL_ISOLATION");
    const backend = createBackend({}, { SANDKIT_LOCAL_ROOT: "/var/tmp/sk", SANDKIT_LOCAL_ISOLATION: "none" });
    expect(backend.name).toBe("local");
    expect(backend.capabilities.isolation).toBe("none");
  });

  it("local() does not read the environment", () => {
    const saved = process.env.SANDKIT_LOCAL_ROOT;
    process.env.SANDKIT_LOCAL_ROOT = "/var/tmp/from-env";
    try {
      expect(local().root).toBe(tmpdir());
    } finally {
      if (saved === undefined) delete process.env.SANDKIT_LOCAL_ROOT;
      else process.env.SANDKIT_LOCAL_ROOT = saved;
    }
  });
});
