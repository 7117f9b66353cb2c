import { createServer, type IncomingMessage, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { declaredLength, drainBody, readBoundedBody } from "./body-stream.ts";

class TooLarge extends Error {}

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = undefined;
});

/** Starts a server whose handler answers with the text `handle` resolves to, and posts `body` to it. */
async function post(handle: (req: IncomingMessage) => Promise<string>, body: Buffer, headers: Record<string, string> = {}): Promise<string> {
  server = createServer((req, res) => {
    handle(req).then(
      (text) => res.end(text),
      (error: unknown) => res.writeHead(413, { Connection: "close" }).end(error instanceof TooLarge ? "too large" : "failed"),
    );
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return new Promise<string>((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method: "POST", headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("readBoundedBody", () => {
  it("reads a body up to the limit", async () => {
    const text = await post(async (req) => (await readBoundedBody(req, 5, () => new TooLarge())).toString("utf8"), Buffer.from("hello"));
    expect(text).toBe("hello");
  });

  it("refuses a declared length over the limit before reading", async () => {
    const text = await post((req) => readBoundedBody(req, 4, () => new TooLarge()).then(() => "read"), Buffer.from("hello"));
    expect(text).toBe("too large");
  });

  it("refuses a chunked body once it passes the limit", async () => {
    const text = await post((req) => readBoundedBody(req, 4, () => new TooLarge()).then(() => "read"), Buffer.from("hello"), { "Transfer-Encoding": "chunked" });
    expect(text).toBe("too large");
  });
});

describe("drainBody", () => {
  it("is true when the body ends within the limit, false when it is longer", async () => {
    expect(await post(async (req) => String(await drainBody(req, 10)), Buffer.alloc(8))).toBe("true");
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    expect(await post(async (req) => String(await drainBody(req, 10)), Buffer.alloc(64))).toBe("false");
  });
});

describe("declaredLength", () => {
  it("reads only a plain decimal Content-Length", () => {
    const of = (value: string | undefined) => declaredLength({ headers: { "content-length": value } } as unknown as IncomingMessage);
    expect(of("12")).toBe(12);
    expect(of(undefined)).toBeUndefined();
    expect(of("-1")).toBeUndefined();
    expect(of("1e3")).toBeUndefined();
    expect(of("12345678901234567")).toBeUndefined();
  });
});
