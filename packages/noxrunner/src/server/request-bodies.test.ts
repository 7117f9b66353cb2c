import { describe, expect, it } from "vitest";
import { HttpError } from "./http-error.js";
import { parseCreateBody, parseExecBody, quantity, workspacePath } from "./request-bodies.js";

function failure(run: () => unknown): { status: number; code: string; message: string } | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    return { status: error.status, code: error.code, message: error.message };
  }
}

describe("workspacePath", () => {
  it("normalises paths under /workspace and refuses the rest with the given code", () => {
    expect(workspacePath("/workspace", "INVALID_PATH", "dest")).toBe("/workspace");
    expect(workspacePath("/workspace/", "INVALID_PATH", "dest")).toBe("/workspace");
    expect(workspacePath("/workspace//a/./b/../c", "INVALID_PATH", "dest")).toBe("/workspace/a/c");
    for (const bad of ["/etc", "workspace", "", "/workspace/../etc", "/workspacex", "/workspace/\u0000"]) {
      expect(failure(() => workspacePath(bad, "INVALID_WORKDIR", "workdir")), bad).toMatchObject({ status: 422, code: "INVALID_WORKDIR" });
    }
  });
});

describe("quantity", () => {
  it("parses Kubernetes quantities into the unit asked for", () => {
    expect(quantity("500m", "cpuLimit", 1)).toBe(0.5);
    expect(quantity("2", "cpuLimit", 1)).toBe(2);
    expect(quantity("1Gi", "memoryLimit", 1024 * 1024)).toBe(1024);
    expect(quantity("1G", "memoryLimit", 1)).toBe(1e9);
    expect(quantity("2e3", "memoryLimit", 1)).toBe(2000);
    expect(quantity("", "cpuLimit", 1)).toBeUndefined();
    expect(quantity(undefined, "cpuLimit", 1)).toBeUndefined();
    for (const bad of ["lots", "-1", "1 Gi", "1gi", "0x10", "1Gi ", "9".repeat(400)]) {
      expect(failure(() => quantity(bad, "memoryLimit", 1)), bad).toMatchObject({ status: 400, code: "BAD_REQUEST" });
    }
  });
});

describe("parseCreateBody", () => {
  it("reads the Python client's full body", () => {
    expect(parseCreateBody({ ttlSeconds: 0, image: "img", cpuLimit: "500m", memoryLimit: "1Gi", ephemeralStorageLimit: "2Gi" })).toEqual({
      ttlSeconds: 0,
      image: "img",
      cpus: 0.5,
      memoryMiB: 1024,
      diskMiB: 2048,
      env: undefined,
    });
  });

  it("accepts the v0 extras (containerName, workdir, env) and null as absent", () => {
    expect(parseCreateBody({ ttlSeconds: null, containerName: "c", workdir: "/workspace/app", env: { A_B: "1" } })).toMatchObject({ ttlSeconds: 0, env: { A_B: "1" } });
  });
});

describe("parseExecBody", () => {
  it("fills the defaults: workdir /workspace, timeout 0 (server default), no env", () => {
    expect(parseExecBody({ cmd: ["true"] })).toEqual({ cmd: ["true"], workdir: "/workspace", timeoutSeconds: 0, env: {} });
    expect(parseExecBody({ cmd: ["true"], workdir: "" }).workdir).toBe("/workspace");
  });

  it("refuses in the reference order", () => {
    expect(failure(() => parseExecBody({ cmd: [], env: { bad: "x" }, workdir: "/etc" }))).toMatchObject({ status: 400, message: "cmd is required" });
    expect(failure(() => parseExecBody({ cmd: ["x"], env: { bad: "x" }, workdir: "/etc" }))).toMatchObject({ status: 422, code: "INVALID_ENV_KEY" });
    expect(failure(() => parseExecBody({ cmd: ["x"], workdir: "/etc" }))).toMatchObject({ status: 422, code: "INVALID_WORKDIR" });
    expect(failure(() => parseExecBody({ cmd: [""] }))).toMatchObject({ status: 400 });
  });
});
