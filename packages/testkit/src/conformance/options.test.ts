import type { BackendCapabilitiesV1 } from "@sandkit/core";
import { describe, expect, it } from "vitest";
import { capabilityMismatches, DEFAULT_CODE_SAMPLES, expectedCapabilities, resolveConformanceOptions } from "./options.ts";

const actual: BackendCapabilitiesV1 = {
  exec: { stream: "live", stdin: true, env: true, cwd: true },
  files: "per-file",
  ttl: "keep-alive",
  metrics: true,
  codeLanguages: ["python", "javascript"],
  attach: true,
  isolation: "namespace",
};

describe("resolveConformanceOptions", () => {
  it("applies defaults", () => {
    const resolved = resolveConformanceOptions({});
    expect(resolved).toMatchObject({ timeScale: 1, confinedToWorkdir: false, capabilities: {}, skipCases: {} });
    expect(resolved.codeSamples).toEqual(DEFAULT_CODE_SAMPLES);
  });

  it("adds code samples over the built-in ones", () => {
    const resolved = resolveConformanceOptions({ codeSamples: { lua: { code: "print(6*7)", stdout: "42" }, python: { code: "print(42)", stdout: "42" } } });
    expect(resolved.codeSamples.lua?.code).toBe("print(6*7)");
    expect(resolved.codeSamples.python?.code).toBe("print(42)");
    expect(resolved.codeSamples.ruby).toEqual(DEFAULT_CODE_SAMPLES.ruby);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])("refuses timeScale %s", (timeScale) => {
    expect(() => resolveConformanceOptions({ timeScale })).toThrow(TypeError);
  });
});

describe("expectedCapabilities", () => {
  it("takes the sandbox's capabilities when nothing is declared", () => {
    expect(expectedCapabilities(actual, {})).toEqual(actual);
  });

  it("lets declared fields win, field by field", () => {
    const expected = expectedCapabilities(actual, { exec: { stdin: false, stream: "buffered" }, files: "emulated", codeLanguages: [] });
    expect(expected.exec).toEqual({ stream: "buffered", stdin: false, env: true, cwd: true });
    expect(expected.files).toBe("emulated");
    expect(expected.codeLanguages).toEqual([]);
    expect(expected.metrics).toBe(true);
  });
});

describe("capabilityMismatches", () => {
  it("is empty when nothing is declared or everything agrees", () => {
    expect(capabilityMismatches(actual, {})).toEqual([]);
    expect(capabilityMismatches(actual, { exec: { stdin: true }, files: "per-file", codeLanguages: ["javascript", "python"] })).toEqual([]);
  });

  it("names every declared field that differs", () => {
    const mismatches = capabilityMismatches(actual, { exec: { stdin: false }, metrics: false, codeLanguages: ["python"] });
    expect(mismatches).toHaveLength(3);
    expect(mismatches[0]).toMatch(/^exec\.stdin: declared false, sandbox says true$/);
    expect(mismatches.join("\n")).toMatch(/metrics/);
    expect(mismatches.join("\n")).toMatch(/codeLanguages/);
  });
});
