import { describe, expect, it } from "vitest";
import { parseRoute, queryParam, SESSION_ID_PATTERN } from "./routes.js";

describe("parseRoute", () => {
  it("finds the ops routes and leaves everything outside /v1/ unrouted", () => {
    expect(parseRoute("/healthz")).toEqual({ kind: "healthz" });
    expect(parseRoute("/readyz?x=1")).toEqual({ kind: "readyz" });
    for (const path of ["/", "/healthz/", "/v1", "/metrics", "http://host/v1/sandboxes/s1"]) expect(parseRoute(path), path).toBeUndefined();
    expect(parseRoute("/v1/other")).toEqual({ kind: "v1", target: { kind: "not-found" } });
    expect(parseRoute("/v1/sandboxes")).toEqual({ kind: "v1", target: { kind: "not-found" } });
  });

  it("reads each sandbox action and its session id", () => {
    expect(parseRoute("/v1/sandboxes/s1")).toEqual({ kind: "v1", target: { kind: "sandbox", action: "sandbox", sessionId: "s1" } });
    expect(parseRoute("/v1/sandboxes/s1/touch")).toMatchObject({ target: { action: "touch", sessionId: "s1" } });
    expect(parseRoute("/v1/sandboxes/s1/exec")).toMatchObject({ target: { action: "exec" } });
    expect(parseRoute("/v1/sandboxes/s1/files/upload?dest=%2Fworkspace")).toMatchObject({ target: { action: "upload" } });
    expect(parseRoute("/v1/sandboxes/s1/files/download")).toMatchObject({ target: { action: "download" } });
    expect(parseRoute("/v1/sandboxes/my.id_x-1")).toMatchObject({ target: { sessionId: "my.id_x-1" } });
    expect(parseRoute("/v1/sandboxes/%41bc")).toMatchObject({ target: { sessionId: "Abc" } });
  });

  it("refuses ids outside the pattern after decoding, so a%23b, a%2Fb, .. and %2e%2e never address another session", () => {
    for (const path of [
      "/v1/sandboxes/a%23b",
      "/v1/sandboxes/a%2Fb",
      "/v1/sandboxes/a%2fb/touch",
      "/v1/sandboxes/..",
      "/v1/sandboxes/%2e%2e",
      "/v1/sandboxes/.hidden",
      "/v1/sandboxes/%00",
      "/v1/sandboxes/%",
      "/v1/sandboxes/",
      "/v1/sandboxes//exec",
      "/v1/sandboxes/s1/",
      "/v1/sandboxes/s1/files/",
      "/v1/sandboxes/s1/touch/",
      "/v1/sandboxes/s1/unknown",
      `/v1/sandboxes/${"a".repeat(129)}`,
    ]) {
      expect(parseRoute(path), path).toEqual({ kind: "v1", target: { kind: "bad-session" } });
    }
  });

  it("SESSION_ID_PATTERN is the later reference server's rule", () => {
    expect(SESSION_ID_PATTERN.test("a".repeat(128))).toBe(true);
    expect(SESSION_ID_PATTERN.test("a".repeat(129))).toBe(false);
    expect(SESSION_ID_PATTERN.test("_x")).toBe(false);
    expect(SESSION_ID_PATTERN.test("x#y")).toBe(false);
  });
});

describe("queryParam", () => {
  it("form-decodes like the Python client encodes (space as +, / and & escaped)", () => {
    expect(queryParam("/x?dest=%2Fworkspace%2Fmy+dir%26x%3D1", "dest")).toBe("/workspace/my dir&x=1");
    expect(queryParam("/x?src=", "src")).toBe("");
    expect(queryParam("/x", "src")).toBeUndefined();
    expect(queryParam("/x?other=1", "src")).toBeUndefined();
  });
});
