import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { SandboxError } from "../errors/sandbox-error.ts";
import { listen, serverUrl, settleWithin } from "./listen.ts";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
});

describe("listen", () => {
  it("resolves with the port picked for port 0", async () => {
    const server = createServer();
    servers.push(server);
    const port = await listen(server, "127.0.0.1", 0);
    expect(port).toBeGreaterThan(0);
    expect(server.listening).toBe(true);
  });

  it("fails with LISTEN_FAILED when the port is taken", async () => {
    const first = createServer();
    servers.push(first);
    const port = await listen(first, "127.0.0.1", 0);
    const second = createServer();
    const error: unknown = await listen(second, "127.0.0.1", port).catch((caught: unknown) => caught);
    expect(SandboxError.isInstance(error) && error.code).toBe("LISTEN_FAILED");
    expect(second.listening).toBe(false);
  });
});

describe("serverUrl", () => {
  it("brackets IPv6 hosts", () => {
    expect(serverUrl("127.0.0.1", 80)).toBe("http://127.0.0.1:80");
    expect(serverUrl("::1", 8080)).toBe("http://[::1]:8080");
  });
});

describe("settleWithin", () => {
  it("resolves when the promise settles, even by rejecting", async () => {
    await expect(settleWithin(Promise.reject(new Error("x")), 60_000)).resolves.toBeUndefined();
  });

  it("resolves after the bound when the promise never settles", async () => {
    await expect(settleWithin(new Promise(() => undefined), 1)).resolves.toBeUndefined();
  });
});
