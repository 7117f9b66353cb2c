import { ValidationError } from "@sandkit/core";
import { describe, expect, it } from "vitest";
import { buildEnvironment, checkEnvironment, DEFAULT_PATH } from "./command-env.js";

const host = { PATH: "/host/bin:/usr/bin", LANG: "fr_FR.UTF-8", SECRET_TOKEN: "s3cret", HOME: "/root" };

describe("buildEnvironment", () => {
  it("is clean by default: PATH, HOME (the workspace), LANG, then sandbox and call variables", () => {
    const env = buildEnvironment({ home: "/workspace", inheritHost: false, hostEnv: host, sandboxEnv: { A: "sandbox", B: "sandbox" }, callEnv: { B: "call" } });
    expect(env).toEqual({ PATH: "/host/bin:/usr/bin", HOME: "/workspace", LANG: "C.UTF-8", A: "sandbox", B: "call" });
  });

  it("falls back to a standard PATH", () => {
    expect(buildEnvironment({ home: "/w", inheritHost: false, hostEnv: {}, sandboxEnv: {}, callEnv: {} }).PATH).toBe(DEFAULT_PATH);
  });

  it("passes the host's variables only with inheritHost, HOME still the workspace", () => {
    const env = buildEnvironment({ home: "/workspace", inheritHost: true, hostEnv: host, sandboxEnv: {}, callEnv: { LANG: "C" } });
    expect(env).toMatchObject({ SECRET_TOKEN: "s3cret", HOME: "/workspace", LANG: "C" });
  });

  it("lets the caller override PATH and HOME", () => {
    const env = buildEnvironment({ home: "/workspace", inheritHost: false, hostEnv: host, sandboxEnv: {}, callEnv: { PATH: "/only", HOME: "/elsewhere" } });
    expect(env).toMatchObject({ PATH: "/only", HOME: "/elsewhere" });
  });
});

describe("checkEnvironment", () => {
  it.each([{ "A=B": "x" }, { "": "x" }, { "1A": "x" }, { A: "x\0y" }, { A: 1 }, ["A"], "A=B"])("refuses %j", (env) => {
    expect(() => checkEnvironment(env, "env", { operation: "exec" })).toThrow(ValidationError);
  });

  it("accepts undefined and ordinary names", () => {
    expect(checkEnvironment(undefined, "env", { operation: "exec" })).toEqual({});
    expect(checkEnvironment({ _A1: "", b: "x=y" }, "env", { operation: "exec" })).toEqual({ _A1: "", b: "x=y" });
  });
});
