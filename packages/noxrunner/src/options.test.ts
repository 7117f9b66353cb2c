import { inspect } from "node:util";
import { Secret, ValidationError } from "@sandkit/core";
import { Agent } from "undici";
import { describe, expect, it } from "vitest";
import { NOXRUNNER_ENV, resolveOptions } from "./options.ts";

const url = "http://127.0.0.1:8080";

function refusal(run: () => unknown): ValidationError {
  try {
    run();
  } catch (error) {
    if (ValidationError.isInstance(error)) return error;
    throw error;
  }
  throw new Error("expected a ValidationError");
}

describe("resolveOptions", () => {
  it("fills in the defaults", () => {
    expect(resolveOptions({ url })).toMatchObject({
      url,
      serviceKey: undefined,
      serviceKeyHeader: "X-Service-Key",
      ttlSeconds: 900,
      workdir: "/workspace",
      readyTimeoutMs: 120_000,
      waitForReady: true,
      requestTimeoutMs: 30_000,
      execTimeoutSeconds: 30,
      maxExecTimeoutSeconds: 300,
    });
  });

  it("needs a URL and says where it may come from", () => {
    const error = refusal(() => resolveOptions({}, {}));
    expect(error.field).toBe("url");
    for (const name of NOXRUNNER_ENV.url) expect(error.message).toContain(name);
  });

  it("reads the URL and the key from the environment, NOXRUNNER_* first", () => {
    const env = { NOXRUNNER_URL: "http://a:1", NOXRUNNER_BASE_URL: "http://b:2", SANDKIT_URL: "http://c:3", NOXRUNNER_SERVICE_KEY: "k1", SANDKIT_API_KEY: "k2" };
    const resolved = resolveOptions({}, env);
    expect(resolved.url).toBe("http://a:1");
    expect(resolved.serviceKey?.reveal()).toBe("k1");
    expect(resolveOptions({}, { SANDKIT_URL: "http://c:3", SANDKIT_API_KEY: "k2" })).toMatchObject({ url: "http://c:3" });
    expect(resolveOptions({}, { SANDKIT_URL: "http://c:3", SANDKIT_API_KEY: "k2" }).serviceKey?.reveal()).toBe("k2");
    expect(resolveOptions({}, { NOXRUNNER_BASE_URL: "http://b:2" }).url).toBe("http://b:2");
    expect(resolveOptions({ url: "http://given:9" }, env).url).toBe("http://given:9");
  });

  it("takes apiKey as an alias of serviceKey, serviceKey winning", () => {
    expect(resolveOptions({ url, apiKey: "from-api-key" }).serviceKey?.reveal()).toBe("from-api-key");
    expect(resolveOptions({ url, apiKey: "a", serviceKey: "s" }).serviceKey?.reveal()).toBe("s");
    const secret = new Secret("already-secret");
    expect(resolveOptions({ url, serviceKey: secret }).serviceKey).toBe(secret);
  });

  it("wraps a string key in a Secret that never shows", () => {
    const resolved = resolveOptions({ url, serviceKey: "sk-very-secret-value" });
    expect(resolved.serviceKey).toBeInstanceOf(Secret);
    expect(inspect(resolved, { depth: 5 })).not.toContain("sk-very-secret-value");
    expect(JSON.stringify(resolved)).not.toContain("sk-very-secret-value");
  });

  it.each([
    [{ url: "ftp://x" }, "url"],
    [{ url: "not a url" }, "url"],
    [{ url: "http://x/?a=1" }, "url"],
    [{ url, ttlSeconds: 0 }, "ttlSeconds"],
    [{ url, ttlSeconds: 1.5 }, "ttlSeconds"],
    [{ url, cpuLimit: "lots" }, "cpuLimit"],
    [{ url, memoryLimit: "1GB" }, "memoryLimit"],
    [{ url, ephemeralStorageLimit: "-1Gi" }, "ephemeralStorageLimit"],
    [{ url, workdir: "relative" }, "workdir"],
    [{ url, workdir: "/workspace/../etc" }, "workdir"],
    [{ url, readyTimeoutMs: -1 }, "readyTimeoutMs"],
    [{ url, waitForReady: "yes" }, "waitForReady"],
    [{ url, serviceKey: "" }, "serviceKey"],
    [{ url, serviceKey: "a\nb" }, "serviceKey"],
    [{ url, serviceKeyHeader: "X Bad" }, "serviceKeyHeader"],
    [{ url, headers: { "x-ok": "a\r\nb" } }, "headers"],
    [{ url, dispatcher: {} }, "dispatcher"],
    [{ url, execTimeoutSeconds: 400 }, "execTimeoutSeconds"],
    [{ url, bogus: 1 }, "bogus"],
  ])("refuses %j, naming %s", (options, field) => {
    const error = refusal(() => resolveOptions(options as never));
    expect(error.field).toBe(field);
    expect(error).toMatchObject({ backend: "noxrunner", operation: "configure" });
  });

  it("accepts a dispatcher, extra headers and a custom key header", async () => {
    const dispatcher = new Agent();
    try {
      const resolved = resolveOptions({ url, dispatcher, headers: { "x-trace": "1" }, serviceKeyHeader: "X-Api-Key", serviceKey: "k" });
      expect(resolved.dispatcher).toBe(dispatcher);
      expect(resolved.headers).toEqual({ "x-trace": "1" });
      expect(resolved.serviceKeyHeader).toBe("X-Api-Key");
    } finally {
      await dispatcher.close();
    }
  });
});
