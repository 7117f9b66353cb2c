import {
  AuthenticationError,
  FileNotFoundError,
  type HttpErrorInfo,
  ProtocolError,
  RateLimitError,
  SandboxNotFoundError,
  Secret,
  ServerError,
  ValidationError,
} from "@sandkit/core";
import { describe, expect, it } from "vitest";
import { mapNoxRunnerError, parseWireError } from "./wire-errors.ts";

function info(status: number, body: string, extra: Partial<HttpErrorInfo> = {}): HttpErrorInfo {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return {
    operation: "exec",
    backend: "noxrunner",
    sandboxId: "s1",
    method: "POST",
    url: "http://127.0.0.1:1/v1/sandboxes/s1/exec",
    status,
    headers: {},
    bodyText: body,
    json,
    excerpt: body.slice(0, 50),
    retryAfterMs: undefined,
    summary: `noxrunner exec: POST /v1/sandboxes/s1/exec answered ${status}`,
    context: { backend: "noxrunner", operation: "exec", sandboxId: "s1" },
    ...extra,
  };
}

const nested = (code: string, message = "m", requestId?: string): string => JSON.stringify({ error: { code, message, ...(requestId === undefined ? {} : { requestId }) } });

describe("parseWireError", () => {
  it("reads the reference server's nested error object", () => {
    expect(parseWireError(JSON.parse(nested("POD_NOT_FOUND", "pod missing", "req-1")), "")).toEqual({
      code: "POD_NOT_FOUND",
      message: "pod missing",
      requestId: "req-1",
      json: true,
    });
  });

  it("reads the flat shape of SPECS.md and later servers", () => {
    expect(parseWireError({ error: "sandbox not found" }, "")).toEqual({ code: undefined, message: "sandbox not found", requestId: undefined, json: true });
  });

  it("reads plain text", () => {
    expect(parseWireError(undefined, "404 page not found\n")).toEqual({ code: undefined, message: "404 page not found", requestId: undefined, json: false });
  });

  it("treats every field as hostile: odd codes and ids are dropped, messages flattened and cut", () => {
    const wire = parseWireError({ error: { code: "pod not found; rm -rf", message: `line1\nline2\u0007${"x".repeat(1000)}`, requestId: "id with spaces" } }, "");
    expect(wire.code).toBeUndefined();
    expect(wire.requestId).toBeUndefined();
    expect(wire.message).not.toMatch(/[\n\u0007]/);
    expect(wire.message!.length).toBeLessThanOrEqual(301);
  });

  it("redacts a secret the server echoes", () => {
    const key = new Secret("sk-echoed-by-server-123456");
    const wire = parseWireError({ error: { code: "SERVICE_KEY_INVALID", message: `bad key ${key.reveal()}` } }, "");
    expect(wire.message).not.toContain(key.reveal());
  });
});

describe("mapNoxRunnerError", () => {
  it.each([
    [404, nested("POD_NOT_FOUND"), SandboxNotFoundError],
    [401, nested("SERVICE_KEY_MISSING"), AuthenticationError],
    [403, nested("SERVICE_KEY_INVALID"), AuthenticationError],
    [400, nested("SERVICE_KEY_INVALID"), AuthenticationError],
    [400, nested("BAD_REQUEST"), ValidationError],
    [422, nested("INVALID_ENV_KEY"), ValidationError],
    [422, nested("INVALID_WORKDIR"), ValidationError],
    [422, nested("INVALID_PATH"), ValidationError],
    [422, nested("UPLOAD_VALIDATION_FAILED"), ValidationError],
    [413, nested("UPLOAD_TOO_LARGE"), ValidationError],
    [404, nested("PATH_NOT_FOUND"), FileNotFoundError],
    [503, nested("POD_NOT_READY"), ServerError],
    [503, nested("NOT_READY"), ServerError],
    [504, nested("POD_READY_TIMEOUT"), ServerError],
    [504, nested("EXEC_TIMEOUT"), ServerError],
    [500, nested("POD_CREATE_FAILED"), ServerError],
    [500, nested("UPLOAD_EXEC_FAILED"), ServerError],
    [404, JSON.stringify({ error: "sandbox nope not found" }), SandboxNotFoundError],
    [404, "404 page not found", ProtocolError],
    [429, "slow down", RateLimitError],
    [401, "", AuthenticationError],
    [422, JSON.stringify({ error: "bad" }), ValidationError],
    [502, "bad gateway", ServerError],
    [418, "teapot", ProtocolError],
  ] as const)("maps %i %s to %o", (status, body, expected) => {
    const error = mapNoxRunnerError(info(status, body));
    expect(error).toBeInstanceOf(expected);
    expect(error).toMatchObject({ backend: "noxrunner", operation: "exec", sandboxId: "s1" });
  });

  it("keeps the protocol code on server errors and marks the not-ready ones retryable", () => {
    const notReady = mapNoxRunnerError(info(503, nested("POD_NOT_READY")));
    expect(notReady).toMatchObject({ protocolCode: "POD_NOT_READY", status: 503, retryable: true });
    const failed = mapNoxRunnerError(info(500, nested("POD_CREATE_FAILED")));
    expect(failed).toMatchObject({ protocolCode: "POD_CREATE_FAILED", status: 500, retryable: false });
  });

  it("names the field a validation code points at", () => {
    expect(mapNoxRunnerError(info(422, nested("INVALID_ENV_KEY")))).toMatchObject({ field: "env" });
    expect(mapNoxRunnerError(info(422, nested("INVALID_WORKDIR")))).toMatchObject({ field: "cwd" });
    expect(mapNoxRunnerError(info(413, nested("UPLOAD_TOO_LARGE")))).toMatchObject({ field: "archive" });
  });

  it("puts the code, the message and the request id in the message", () => {
    const error = mapNoxRunnerError(info(404, nested("POD_NOT_FOUND", "pod sbx-1 not found", "rid-42")));
    expect(error!.message).toContain("POD_NOT_FOUND");
    expect(error!.message).toContain("pod sbx-1 not found");
    expect(error!.message).toContain("rid-42");
  });

  it("takes a missing path from the request's query", () => {
    const error = mapNoxRunnerError(info(404, nested("PATH_NOT_FOUND"), { url: "http://h/v1/sandboxes/s1/files/download?src=%2Fworkspace%2Fnope" }));
    expect(error).toMatchObject({ path: "/workspace/nope" });
  });

  it("honours Retry-After on a 503 without a code", () => {
    const error = mapNoxRunnerError(info(503, "busy", { retryAfterMs: 2000 }));
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({ retryAfterMs: 2000 });
  });
});
