import {
  AuthenticationError,
  FileNotFoundError,
  type HttpErrorInfo,
  ProtocolError,
  RateLimitError,
  SandboxNotFoundError,
  ServerError,
  ValidationError,
} from "@sandkit/core";
import { describe, expect, it } from "vitest";
import { detailOf, envelopeFailure, mapProvisionerError, mapSandboxApiError } from "./wire-errors.ts";

function info(status: number, body: string, sandboxId?: string, retryAfterMs?: number): HttpErrorInfo {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return {
    operation: "create",
    backend: "provisioner",
    sandboxId,
    method: "GET",
    url: "http://p/api/sandboxes/x",
    status,
    headers: {},
    bodyText: body,
    json,
    excerpt: body.slice(0, 100),
    retryAfterMs,
    summary: `provisioner create: GET http://p/api/sandboxes/x answered ${status}`,
    context: { backend: "provisioner", operation: "create", sandboxId },
  } as HttpErrorInfo;
}

describe("control-plane errors", () => {
  it("401 text Unauthorized is AuthenticationError with a hint about the key", () => {
    const error = mapProvisionerError(info(401, "Unauthorized"));
    expect(AuthenticationError.isInstance(error)).toBe(true);
    expect(error?.suggestion).toContain("PROVISIONER_API_KEY");
  });

  it("404 with the provisioner's own body is SandboxNotFoundError; any other 404 is ProtocolError (a wrong URL)", () => {
    expect(SandboxNotFoundError.isInstance(mapProvisionerError(info(404, JSON.stringify({ detail: "Sandbox 'abc' not found" }), "abc")))).toBe(true);
    expect(ProtocolError.isInstance(mapProvisionerError(info(404, JSON.stringify({ detail: "Not Found" }), "abc")))).toBe(true);
    expect(ProtocolError.isInstance(mapProvisionerError(info(404, "<html>nginx</html>", "abc")))).toBe(true);
  });

  it("400 and 422 are ValidationError with the server's words; 500 is ServerError; 503 retryable; 429 RateLimitError", () => {
    const bad = mapProvisionerError(info(400, JSON.stringify({ detail: "Unsupported extra mount path: /etc" })));
    expect(ValidationError.isInstance(bad) && bad.message.includes("Unsupported extra mount path: /etc")).toBe(true);
    const unprocessable = mapProvisionerError(info(422, JSON.stringify({ detail: [{ loc: ["body", "thread_id"], msg: "String should match pattern" }] })));
    expect(ValidationError.isInstance(unprocessable) && unprocessable.message.includes("body.thread_id")).toBe(true);
    const partial = mapProvisionerError(info(500, JSON.stringify({ detail: "Partial cleanup: pod: Forbidden" })));
    expect(ServerError.isInstance(partial) && !partial.retryable).toBe(true);
    expect(ServerError.isInstance(mapProvisionerError(info(500, "Internal Server Error")))).toBe(true);
    expect(mapProvisionerError(info(503, "x"))?.retryable).toBe(true);
    expect(RateLimitError.isInstance(mapProvisionerError(info(429, "", undefined, 1000)))).toBe(true);
  });
});

describe("data-plane errors", () => {
  it("a 404 is an unsupported route, 401 needs a sandbox token, 422 is ValidationError", () => {
    const missing = mapSandboxApiError(info(404, JSON.stringify({ success: false, message: "Not Found", data: null })));
    expect(ProtocolError.isInstance(missing) && missing.protocolCode === "UNSUPPORTED_ROUTE").toBe(true);
    expect(AuthenticationError.isInstance(mapSandboxApiError(info(401, "")))).toBe(true);
    expect(ValidationError.isInstance(mapSandboxApiError(info(422, JSON.stringify({ detail: [{ loc: ["body", "command"], msg: "Field required" }] }))))).toBe(true);
  });

  it("success: false is typed by error_type, never a success", () => {
    const site = { operation: "files.read", sandboxId: "s", path: "/tmp/missing" };
    const notFound = envelopeFailure({ success: false, message: "nope", data: { error_type: "not_found", retryable: false } }, site);
    expect(FileNotFoundError.isInstance(notFound) && notFound.path === "/tmp/missing").toBe(true);
    expect(ValidationError.isInstance(envelopeFailure({ success: false, data: { error_type: "invalid_path" } }, site))).toBe(true);
    const io = envelopeFailure({ success: false, data: { error_type: "io_error", retryable: true } }, site);
    expect(ServerError.isInstance(io) && io.protocolCode === "io_error" && io.retryable).toBe(true);
    const bare = envelopeFailure({ success: false, message: "boom" }, site);
    expect(ServerError.isInstance(bare) && bare.protocolCode === "SUCCESS_FALSE" && bare.message.includes("boom")).toBe(true);
    const hostile = envelopeFailure({ success: false, data: { error_type: "<script>\n" } }, site);
    expect(ServerError.isInstance(hostile) && hostile.protocolCode === "SUCCESS_FALSE").toBe(true);
  });

  it("server words are cut to one short line", () => {
    expect(detailOf({ detail: `a\nb${"x".repeat(1000)}` }, "")!.length).toBeLessThanOrEqual(301);
    expect(detailOf(undefined, "  Unauthorized \n")).toBe("Unauthorized");
  });
});
