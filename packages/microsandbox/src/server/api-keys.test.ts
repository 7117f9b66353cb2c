import { describe, expect, it } from "vitest";
import { generateServerSecret, issueMicrosandboxApiKey, verifyApiKeyToken } from "./api-keys.js";

const secret = "k".repeat(32);

describe("API keys", () => {
  it("are msb_ + an HS256 JWT with exp, iat and namespace, 24 h and '*' by default", () => {
    const key = issueMicrosandboxApiKey({ secret, nowSeconds: 1_000 });
    expect(key.startsWith("msb_")).toBe(true);
    const [header, payload] = key.slice(4).split(".");
    expect(JSON.parse(Buffer.from(header!, "base64url").toString())).toEqual({ typ: "JWT", alg: "HS256" });
    expect(JSON.parse(Buffer.from(payload!, "base64url").toString())).toEqual({ exp: 1_000 + 86_400, iat: 1_000, namespace: "*" });
    expect(verifyApiKeyToken(key.slice(4), secret, 2_000)).toEqual({ exp: 87_400, iat: 1_000, namespace: "*" });
  });

  it("verify the signature and the expiry with 60 s of leeway", () => {
    const key = issueMicrosandboxApiKey({ secret, namespace: "team-a", expiresInSeconds: 10, nowSeconds: 1_000 }).slice(4);
    expect(verifyApiKeyToken(key, secret, 1_070)?.namespace).toBe("team-a");
    expect(verifyApiKeyToken(key, secret, 1_071)).toBeUndefined();
    expect(verifyApiKeyToken(key, "another-secret", 1_000)).toBeUndefined();
    const [h, , s] = key.split(".");
    const forged = Buffer.from(JSON.stringify({ exp: 9e9, iat: 1, namespace: "*" })).toString("base64url");
    expect(verifyApiKeyToken(`${h}.${forged}.${s}`, secret, 1_000)).toBeUndefined();
  });

  it("refuse other algorithms and mistyped claims even when signed", async () => {
    const { createHmac } = await import("node:crypto");
    const make = (header: object, claims: object): string => {
      const h = Buffer.from(JSON.stringify(header)).toString("base64url");
      const p = Buffer.from(JSON.stringify(claims)).toString("base64url");
      return `${h}.${p}.${createHmac("sha256", secret).update(`${h}.${p}`).digest("base64url")}`;
    };
    expect(verifyApiKeyToken(make({ alg: "HS256" }, { exp: 2000, iat: 1, namespace: "a" }), secret, 1000)).toBeDefined();
    expect(verifyApiKeyToken(make({ alg: "none" }, { exp: 2000, iat: 1, namespace: "a" }), secret, 1000)).toBeUndefined();
    expect(verifyApiKeyToken(make({ alg: "HS256" }, { exp: 2000, namespace: "a" }), secret, 1000)).toBeUndefined();
    expect(verifyApiKeyToken(make({ alg: "HS256" }, { exp: "2000", iat: 1, namespace: "a" }), secret, 1000)).toBeUndefined();
    expect(verifyApiKeyToken(make({ alg: "HS256" }, { exp: 2000, iat: 1, namespace: 7 }), secret, 1000)).toBeUndefined();
  });

  it("generated secrets are 32 alphanumerics and differ", () => {
    const a = generateServerSecret();
    expect(a).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(generateServerSecret()).not.toBe(a);
  });
});
