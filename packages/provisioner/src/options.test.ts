import { inspect } from "node:util";
import { Secret, ValidationError } from "@sandkit/core";
import { describe, expect, it } from "vitest";
import { createBackend, provisioner } from "./index.ts";
import { resolveOptions } from "./options.ts";

const field = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    if (ValidationError.isInstance(error)) return error.field;
    throw error;
  }
  throw new Error("expected a ValidationError");
};

describe("options", () => {
  it("fills defaults and wraps the key in a Secret", () => {
    const resolved = resolveOptions({ url: "http://provisioner:8002/", apiKey: "k1" });
    expect(resolved.url).toBe("http://provisioner:8002");
    expect(resolved.apiKey).toBeInstanceOf(Secret);
    expect(resolved.apiKey.reveal()).toBe("k1");
    expect(resolved).toMatchObject({ userId: "default", threadId: undefined, extraMounts: [], readyTimeoutMs: 120_000, execTimeoutSeconds: 600 });
  });

  it("reads PROVISIONER_URL / SANDKIT_URL and PROVISIONER_API_KEY / SANDKIT_API_KEY, in that order, when the options are absent", () => {
    const a = resolveOptions({}, { PROVISIONER_URL: "http://a:1", SANDKIT_URL: "http://b:2", PROVISIONER_API_KEY: "ka", SANDKIT_API_KEY: "kb" });
    expect([a.url, a.apiKey.reveal()]).toEqual(["http://a:1", "ka"]);
    const b = resolveOptions({}, { SANDKIT_URL: "http://b:2", SANDKIT_API_KEY: "kb" });
    expect([b.url, b.apiKey.reveal()]).toEqual(["http://b:2", "kb"]);
    const c = resolveOptions({ url: "http://c:3", apiKey: "kc" }, { PROVISIONER_URL: "http://a:1", PROVISIONER_API_KEY: "ka" });
    expect([c.url, c.apiKey.reveal()]).toEqual(["http://c:3", "kc"]);
  });

  it("requires a URL and a key (the provisioner fails closed without one)", () => {
    expect(field(() => resolveOptions({ apiKey: "k" }))).toBe("url");
    expect(field(() => resolveOptions({ url: "http://a:1" }))).toBe("apiKey");
  });

  it("refuses unknown keys and bad values, naming the field", () => {
    expect(field(() => resolveOptions({ url: "http://a:1", apiKey: "k", image: "x" } as never))).toBe("image");
    expect(field(() => resolveOptions({ url: "ftp://a", apiKey: "k" }))).toBe("url");
    expect(field(() => resolveOptions({ url: "http://a:1", apiKey: "clé" }))).toBe("apiKey");
    expect(field(() => resolveOptions({ url: "http://a:1", apiKey: "k", threadId: "bad.id" }))).toBe("threadId");
    expect(field(() => resolveOptions({ url: "http://a:1", apiKey: "k", userId: "a b" }))).toBe("userId");
    expect(field(() => resolveOptions({ url: "http://a:1", apiKey: "k", readyTimeoutMs: 0 }))).toBe("readyTimeoutMs");
    expect(field(() => resolveOptions({ url: "http://a:1", apiKey: "k", headers: { "bad name": "x" } }))).toBe("headers");
  });

  it("checks extra mounts as the provisioner does (P9, P10), before anything is sent", () => {
    const base = { url: "http://a:1", apiKey: "k" };
    expect(field(() => resolveOptions({ ...base, extraMounts: [{ hostPath: "/.deer-flow/x", containerPath: "/etc" }] }))).toBe("extraMounts[0].containerPath");
    expect(field(() => resolveOptions({ ...base, extraMounts: [{ hostPath: "x", containerPath: "/mnt/acp-workspace" }] }))).toBe("extraMounts[0].hostPath");
    const eleven = Array.from({ length: 11 }, () => ({ hostPath: "/.deer-flow/x", containerPath: "/mnt/acp-workspace" }));
    expect(field(() => resolveOptions({ ...base, extraMounts: eleven }))).toBe("extraMounts");
    const twice = [
      { hostPath: "/.deer-flow/a", containerPath: "/mnt/acp-workspace" },
      { hostPath: "/.deer-flow/b", containerPath: "/mnt/acp-workspace/" },
    ];
    expect(field(() => resolveOptions({ ...base, extraMounts: twice }))).toBe("extraMounts[1].containerPath");
    expect(resolveOptions({ ...base, extraMounts: [{ hostPath: "/.deer-flow/a", containerPath: "/mnt/skills/custom/", readOnly: true }] }).extraMounts).toEqual([
      { hostPath: "/.deer-flow/a", containerPath: "/mnt/skills/custom", readOnly: true },
    ]);
  });

  it("never shows the key: util.inspect and JSON of the backend, and the error of a bad option", () => {
    const secret = "sk-do-not-show-4d5e6f";
    const backend = provisioner({ url: "http://user:pw-hidden@a:1", apiKey: secret });
    expect(inspect(backend)).not.toContain(secret);
    expect(JSON.stringify(backend)).not.toContain(secret);
    expect(inspect(backend)).not.toContain("pw-hidden");
    const fromEnv = createBackend({}, { PROVISIONER_URL: "http://a:1", PROVISIONER_API_KEY: secret });
    expect(inspect(fromEnv)).not.toContain(secret);
    void backend.close();
    void fromEnv.close();
  });
});
