import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import { describe, expect, it } from "vitest";
import { sendEmpty, sendJson, sendText } from "./responses.ts";

/** A stand-in response that records the status, headers and body written. */
function recorder(): { res: ServerResponse; sent: { status?: number; headers?: OutgoingHttpHeaders; body?: string } } {
  const sent: { status?: number; headers?: OutgoingHttpHeaders; body?: string } = {};
  const res = {
    writeHead(status: number, headers: OutgoingHttpHeaders) {
      sent.status = status;
      sent.headers = headers;
      return res;
    },
    end(body?: Buffer) {
      sent.body = body === undefined ? "" : body.toString("utf8");
    },
  };
  return { res: res as unknown as ServerResponse, sent };
}

describe("sendJson", () => {
  it("writes JSON with its length, with a newline only when asked", () => {
    const plain = recorder();
    sendJson(plain.res, 201, { a: "é" }, { headers: { "X-Extra": "1", "Content-Type": "text/html" } });
    expect(plain.sent).toEqual({ status: 201, headers: { "X-Extra": "1", "Content-Type": "application/json", "Content-Length": "10" }, body: '{"a":"é"}' });
    const newline = recorder();
    sendJson(newline.res, 200, [1], { trailingNewline: true });
    expect(newline.sent.body).toBe("[1]\n");
    expect(newline.sent.headers?.["Content-Length"]).toBe("4");
  });
});

describe("sendText", () => {
  it("sends text/plain with nosniff by default, neither with contentType false", () => {
    const typed = recorder();
    sendText(typed.res, 400, "bad", { headers: { Connection: "close" } });
    expect(typed.sent.headers).toEqual({ Connection: "close", "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff", "Content-Length": "3" });
    const bare = recorder();
    sendText(bare.res, 401, "Unauthorized", { contentType: false });
    expect(bare.sent.headers).toEqual({ "Content-Length": "12" });
    expect(bare.sent.body).toBe("Unauthorized");
  });
});

describe("sendEmpty", () => {
  it("sends no Content-Length on 204 and Content-Length 0 otherwise", () => {
    const noContent = recorder();
    sendEmpty(noContent.res, 204);
    expect(noContent.sent.headers).toEqual({});
    const ok = recorder();
    sendEmpty(ok.res, 200, { Allow: "GET" });
    expect(ok.sent.headers).toEqual({ Allow: "GET", "Content-Length": "0" });
  });
});
