import { describe, expect, it } from "vitest";
import { ValidationError } from "@sandkit/core";
import type { ExecuteConfig } from "./protocol-types.ts";
import { toWireConfig, validateConfig } from "./validate-config.ts";

const UUID = "dae5f9a3-a911-4df4-82f8-b9343241ece5";

function problem(config: unknown): string | undefined {
  const check = validateConfig(config as ExecuteConfig);
  return check.ok ? undefined : check.field;
}

describe("validateConfig", () => {
  it("turns the TS names into the wire names", () => {
    expect(toWireConfig({ commands: ["true", { command: "-false", timeoutSeconds: 0.5 }], env: { A: "1" }, baseEnvironment: UUID, resultPath: "r.txt", save: true })).toEqual({
      commands: ["true", { command: "-false", timeout: 0.5 }],
      environ: { A: "1" },
      environment: UUID,
      result_path: "r.txt",
      save: true,
    });
  });

  it("checks in the server's order: the base environment before the commands", () => {
    expect(problem({ commands: [], baseEnvironment: "nope" })).toBe("baseEnvironment");
    expect(problem({ commands: "x", env: [] })).toBe("commands");
    expect(problem({ commands: [], env: [] })).toBe("env");
    expect(problem({ commands: [], save: "yes" })).toBe("commands");
    expect(problem({ commands: [{}], resultPath: 1 })).toBe("commands[0].command");
    expect(problem({ commands: ["true"], resultPath: 1, save: "yes" })).toBe("resultPath");
  });

  it("refuses what the server rejects (C19)", () => {
    expect(problem("Definitely not json")).toBe("config");
    expect(problem(null)).toBe("config");
    expect(problem({})).toBe("commands");
    expect(problem({ commands: [] })).toBe("commands");
    expect(problem({ commands: [{ timeoutSeconds: 1 }] })).toBe("commands[0].command");
    expect(problem({ commands: ["true"], save: "true" })).toBe("save");
    expect(problem({ commands: "true" })).toBe("commands");
    expect(problem({ commands: [42] })).toBe("commands[0]");
  });

  it("refuses what upstream turns into a 500 or a surprise", () => {
    expect(problem({ commands: [{ command: "true", environ: {} }] })).toBe("commands[0]");
    expect(problem({ commands: [{ command: "true", timeout: 1 }] })).toBe("commands[0]");
    for (const timeoutSeconds of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, true, null]) {
      expect(problem({ commands: [{ command: "true", timeoutSeconds }] })).toBe("commands[0].timeoutSeconds");
    }
    expect(problem({ commands: ["true"], env: { A: 1 } })).toBe("env.A");
    expect(problem({ commands: ["true"], env: { "A=B": "x" } })).toBe("env.A=B");
    for (const resultPath of ["", "/etc/passwd", "../x", "a/../../x"]) expect(problem({ commands: ["true"], resultPath })).toBe("resultPath");
    expect(problem({ commands: ["true"], baseEnvironment: UUID.toUpperCase() })).toBe("baseEnvironment");
  });

  it("toWireConfig throws a ValidationError naming the field", () => {
    const error = (() => {
      try {
        toWireConfig({ commands: [] });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe("commands");
  });
});
