import { describe, expect, it } from "vitest";
import { CapabilityUnsupportedError, ValidationError } from "@sandkit/core";
import { createBackend, SANDBOX_API_CAPABILITIES, sandboxApi } from "./index.ts";

describe("the package entry", () => {
  it("createBackend reads SANDBOX_API_URL, and refuses unknown options", async () => {
    const backend = createBackend({}, { SANDBOX_API_URL: "http://127.0.0.1:9" });
    expect(backend.name).toBe("sandbox-api");
    expect((backend as ReturnType<typeof sandboxApi>).url).toMatch(/^http:\/\/127\.0\.0\.1:9\/?$/);
    await backend.close();
    expect(() => createBackend({ nope: true }, {})).toThrow(ValidationError);
    expect(() => createBackend({}, {})).toThrow(ValidationError);
  });

  it("declares what the protocol can do", async () => {
    await using backend = sandboxApi({ url: "http://127.0.0.1:9" });
    expect(backend.capabilities).toBe(SANDBOX_API_CAPABILITIES);
    expect(SANDBOX_API_CAPABILITIES).toMatchObject({ exec: { stdin: false, stream: "buffered" }, attach: false, ttl: "fixed", files: "native-archive" });
    const call = { signal: new AbortController().signal };
    await expect(backend.attach("0b7c2f3e-8d0c-4c55-9b8a-5c0e3a0b1d2e", call)).rejects.toBeInstanceOf(CapabilityUnsupportedError);
    expect(JSON.stringify(backend)).not.toContain("undefined");
  });

  it("health is ok: false (never a throw) when nothing listens", async () => {
    await using backend = sandboxApi({ url: "http://127.0.0.1:9", retry: { maxAttempts: 1 } });
    const health = await backend.health({ signal: new AbortController().signal });
    expect(health.ok).toBe(false);
  });
});
