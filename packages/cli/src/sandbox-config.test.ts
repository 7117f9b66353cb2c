import { Secret } from "@sandkit/core";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { sandboxConfigFrom } from "./sandbox-config.ts";
import { UsageError } from "./usage-error.ts";

describe("sandboxConfigFrom", () => {
  it("leaves the choice to createSandbox when no flag is given", () => {
    expect(sandboxConfigFrom({}, {})).toEqual({});
    expect(sandboxConfigFrom({}, { SANDKIT_BACKEND: "noxrunner", SANDKIT_URL: "http://h" })).toEqual({});
  });

  it("passes --isolation to the local backend", () => {
    expect(sandboxConfigFrom({ isolation: "bubblewrap" }, {})).toEqual({ isolation: "bubblewrap" });
    expect(sandboxConfigFrom({ backend: "local", isolation: "none" }, { SANDKIT_URL: "http://ignored" })).toEqual({ backend: "local", isolation: "none" });
  });

  it("fills url and key from the environment when --backend names a remote backend, keeping the key secret", () => {
    const config = sandboxConfigFrom({ backend: "noxrunner" }, { SANDKIT_URL: "http://h:1", SANDKIT_API_KEY: "sk-cli-test-key" }) as Record<string, unknown>;
    expect(config.backend).toBe("noxrunner");
    expect(config.url).toBe("http://h:1");
    expect(config.apiKey).toBeInstanceOf(Secret);
    expect((config.apiKey as Secret).reveal()).toBe("sk-cli-test-key");
    expect(inspect(config)).not.toContain("sk-cli-test-key");
    const flagged = sandboxConfigFrom({ backend: "noxrunner", url: "http://flag", apiKey: "k2" }, { SANDKIT_URL: "http://env" }) as Record<string, unknown>;
    expect(flagged.url).toBe("http://flag");
    expect((flagged.apiKey as Secret).reveal()).toBe("k2");
  });

  it("refuses flags that cannot apply to the chosen backend", () => {
    expect(() => sandboxConfigFrom({ url: "http://h" }, {})).toThrow(UsageError);
    expect(() => sandboxConfigFrom({ backend: "local", apiKey: "k" }, {})).toThrow(/--api-key applies to remote backends/);
    expect(() => sandboxConfigFrom({ isolation: "none" }, { SANDKIT_BACKEND: "noxrunner" })).toThrow(/--isolation applies to the local backend/);
    expect(() => sandboxConfigFrom({ backend: "noxrunner", isolation: "auto" }, {})).toThrow(UsageError);
  });
});
