import { AuthenticationError, type HttpErrorInfo, ProtocolError, ServerError, ValidationError } from "@sandkit/core";
import { describe, expect, it } from "vitest";
import { mapMicrosandboxError, parseWireError } from "./wire-errors.ts";

function info(status: number, body: string, operation = "start"): HttpErrorInfo {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return {
    operation,
    backend: "microsandbox",
    sandboxId: undefined,
    method: "POST",
    url: "http://127.0.0.1:5555/api/v1/rpc",
    status,
    headers: {},
    bodyText: body,
    json,
    excerpt: body.slice(0, 100),
    retryAfterMs: undefined,
    summary: `microsandbox ${operation}: POST http://127.0.0.1:5555/api/v1/rpc answered ${status}`,
    context: { backend: "microsandbox", operation, sandboxId: undefined },
  };
}

describe("parseWireError", () => {
  it("reads both shapes and nothing else", () => {
    expect(parseWireError({ jsonrpc: "2.0", error: { code: -32601, message: "Method not found: x" }, id: 1 })).toEqual({ shape: "rpc", code: -32601, message: "Method not found: x" });
    expect(parseWireError({ error: "Access denied", code: 3001 })).toEqual({ shape: "app", code: 3001, message: "Access denied" });
    expect(parseWireError({ error: "x" })).toBeUndefined();
    expect(parseWireError({ error: { code: "x" } })).toBeUndefined();
    expect(parseWireError([1])).toBeUndefined();
    expect(parseWireError("text")).toBeUndefined();
  });
});

describe("mapMicrosandboxError", () => {
  it("maps the application codes", () => {
    const unauth = mapMicrosandboxError(info(401, '{"error":"Invalid credentials","code":1001}'));
    expect(unauth).toBeInstanceOf(AuthenticationError);
    expect((unauth as AuthenticationError).reason).toBe("unauthenticated");
    expect(mapMicrosandboxError(info(401, '{"error":"Invalid or expired token","code":1004}'))).toBeInstanceOf(AuthenticationError);
    const forbidden = mapMicrosandboxError(info(403, '{"error":"Access denied","code":3001}'));
    expect(forbidden).toBeInstanceOf(AuthenticationError);
    expect((forbidden as AuthenticationError).reason).toBe("forbidden");
    expect(mapMicrosandboxError(info(400, '{"error":"Sandbox name cannot be empty","code":2001}'))).toBeInstanceOf(ValidationError);
  });

  it("says a 5002 has an unknown cause, per method", () => {
    const error = mapMicrosandboxError(info(500, '{"error":"Internal server error","code":5002}', "command.run"));
    expect(error).toBeInstanceOf(ServerError);
    expect((error as ServerError).protocolCode).toBe(5002);
    expect(error!.message).toMatch(/cause unknown: not found, timed out or spawn error/);
  });

  it("maps JSON-RPC errors and non-JSON rejections to ProtocolError", () => {
    const notFound = mapMicrosandboxError(info(404, '{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found: sandbox.nope"},"id":"1"}'));
    expect(notFound).toBeInstanceOf(ProtocolError);
    expect((notFound as ProtocolError).protocolCode).toBe(-32601);
    expect(mapMicrosandboxError(info(400, '{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid"},"id":"1"}'))).toBeInstanceOf(ProtocolError);
    expect(mapMicrosandboxError(info(400, "Failed to parse the request body as JSON"))).toBeInstanceOf(ProtocolError);
    expect(mapMicrosandboxError(info(422, "Failed to deserialize"))).toBeInstanceOf(ProtocolError);
    expect(mapMicrosandboxError(info(404, "Not Found"))).toBeInstanceOf(ProtocolError);
    expect(mapMicrosandboxError(info(413, "too large"))).toBeInstanceOf(ValidationError);
    // Left to the transport's table: plain 5xx and a 401 without a code.
    expect(mapMicrosandboxError(info(502, "bad gateway"))).toBeUndefined();
    expect(mapMicrosandboxError(info(401, ""))).toBeUndefined();
  });
});
