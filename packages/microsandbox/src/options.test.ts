import { inspect } from "node:util";
import { Secret, ValidationError } from "@sandkit/core";
import { describe, expect, it } from "vitest";
import { createBackend, microsandbox } from "./index.ts";
import { checkCpus, checkName, normaliseUrl, resolveOptions } from "./options.ts";

describe("resolveOptions", () => {
  it("fills in upstream's defaults", () => {
    const o = resolveOptions({});
    expect(o).toMatchObject({ url: "http://127.0.0.1:5555", namespace: "default", memoryMiB: 512, cpus: 1, language: "python", image: "microsandbox/python" });
    expect(o.apiKey).toBeUndefined();
    expect(resolveOptions({ language: "javascript" }).image).toBe("microsandbox/node");
  });

  it("reads MSB_SERVER_URL and MSB_API_KEY first, then SANDKIT_URL and SANDKIT_API_KEY", () => {
    const env = { MSB_SERVER_URL: "http://a:1/", MSB_API_KEY: "msb_a", SANDKIT_URL: "http://b:2", SANDKIT_API_KEY: "msb_b" };
    const o = resolveOptions({}, env);
    expect(o.url).toBe("http://a:1");
    expect(o.apiKey?.reveal()).toBe("msb_a");
    const fallback = resolveOptions({}, { SANDKIT_URL: "http://b:2", SANDKIT_API_KEY: "msb_b" });
    expect(fallback.url).toBe("http://b:2");
    expect(fallback.apiKey?.reveal()).toBe("msb_b");
    expect(resolveOptions({ url: "http://c:3", apiKey: "msb_c" }, env)).toMatchObject({ url: "http://c:3" });
  });

  it("drops trailing slashes so that paths join without //", () => {
    expect(normaliseUrl("http://h:5555///", "url")).toBe("http://h:5555");
    expect(normaliseUrl("http://h/prefix/", "url")).toBe("http://h/prefix");
    expect(() => normaliseUrl("ftp://h", "url")).toThrow(ValidationError);
    expect(() => normaliseUrl("http://h/?a=1", "url")).toThrow(ValidationError);
  });

  it.each([
    [{ cpus: 1.5 }, "cpus"],
    [{ cpus: 0 }, "cpus"],
    [{ cpus: 256 }, "cpus"],
    [{ memoryMiB: 511.5 }, "memoryMiB"],
    [{ memoryMiB: 0 }, "memoryMiB"],
    [{ namespace: "bad name!" }, "namespace"],
    [{ namespace: "*" }, "namespace"],
    [{ namespace: "-x" }, "namespace"],
    [{ language: "ruby" }, "language"],
    [{ startTimeoutMs: -1 }, "startTimeoutMs"],
    [{ nope: 1 }, "nope"],
  ])("refuses %o naming the field", (options, field) => {
    let error: unknown;
    try {
      resolveOptions(options as never);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
  });

  it("checks names and cpus as the server does", () => {
    expect(checkName("a".repeat(63), "id", "t")).toHaveLength(63);
    expect(() => checkName("a".repeat(64), "id", "t")).toThrow(ValidationError);
    expect(() => checkName("", "id", "t")).toThrow(ValidationError);
    expect(checkName("A_b-9", "id", "t")).toBe("A_b-9");
    expect(checkCpus(255, "cpus", "t")).toBe(255);
    expect(() => checkCpus(2.5, "cpus", "t")).toThrow(ValidationError);
  });

  it("never shows the API key", () => {
    const key = "msb_secret-value-123";
    const backend = microsandbox({ apiKey: key });
    const fromEnv = createBackend({}, { MSB_API_KEY: key });
    for (const b of [backend, fromEnv]) {
      expect(inspect(b, { depth: 5 })).not.toContain(key);
      expect(JSON.stringify(b)).not.toContain(key);
    }
    expect(inspect(resolveOptions({ apiKey: new Secret(key) }), { depth: 5 })).not.toContain(key);
  });
});
