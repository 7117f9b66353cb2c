import { ValidationError } from "@sandkit/core";
import { describe, expect, it } from "vitest";
import { generateSandboxName, microsandboxCapabilities, startConfig, startOutcome } from "./backend.ts";
import { NAME_PATTERN } from "./constants.ts";
import { toMetrics } from "./connection.ts";
import { resolveOptions } from "./options.ts";

const options = resolveOptions({});

describe("startConfig", () => {
  it("sends the backend's image, memory and cpus, and the sandbox env as envs", () => {
    expect(startConfig({}, options, "s1")).toEqual({ image: "microsandbox/python", memory: 512, cpus: 1 });
    expect(startConfig({ image: "my/img", resources: { cpus: 2, memoryMiB: 1024 }, env: { A: "1=2" } }, options, "s1")).toEqual({
      image: "my/img",
      memory: 1024,
      cpus: 2,
      envs: ["A=1=2"],
    });
  });
  it.each([
    [{ resources: { cpus: 1.5 } }, "resources.cpus"],
    [{ resources: { memoryMiB: 0.5 } }, "resources.memoryMiB"],
    [{ resources: { diskMiB: 10 } }, "resources.diskMiB"],
    [{ ttlMs: 1000 }, "ttlMs"],
    [{ env: { "A=B": "x" } }, "env"],
  ])("refuses %o", (request, field) => {
    let error: unknown;
    try {
      startConfig(request, options, "s1");
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
  });
});

describe("the rest of the backend's pure parts", () => {
  it("reads start's three result strings", () => {
    expect(startOutcome("Sandbox s1 started successfully")).toBe("started");
    expect(startOutcome("Sandbox s1 was started, but timed out waiting for it to be fully running. It may still be initializing.")).toBe("timed-out-waiting");
    expect(startOutcome("Sandbox s1 was started, but couldn't verify it's running: x")).toBe("unverified");
  });
  it("generates names the server accepts", () => {
    const a = generateSandboxName();
    expect(a).toMatch(NAME_PATTERN);
    expect(generateSandboxName()).not.toBe(a);
  });
  it("declares capabilities per language", () => {
    expect(microsandboxCapabilities("javascript").codeLanguages).toEqual(["javascript"]);
    expect(microsandboxCapabilities("python")).toMatchObject({ files: "emulated", ttl: "none", metrics: true, attach: true, exec: { stdin: false, env: false, cwd: false } });
  });
  it("states metrics in fixed units", () => {
    const at = new Date(0);
    expect(toMetrics({ name: "s", running: true, cpu_usage: 12.5, memory_usage: 3, disk_usage: 4096 }, at)).toEqual({
      cpuPercent: 12.5,
      memoryBytes: 3 * 1024 * 1024,
      diskBytes: 4096,
      running: true,
      takenAt: at,
    });
    expect(toMetrics({ name: "s", running: false }, at)).toEqual({ cpuPercent: undefined, memoryBytes: undefined, diskBytes: undefined, running: false, takenAt: at });
  });
});
