import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { redactSecrets } from "./internal/redact.js";
import { Secret } from "./secret.js";

describe("Secret", () => {
  const value = "tok_9c1b2a3d4e5f6a7b";

  it("never shows itself through String, template literals, JSON or util.inspect", () => {
    const secret = new Secret(value);
    expect(String(secret)).toBe("[redacted]");
    expect(`${secret}`).toBe("[redacted]");
    expect(JSON.stringify({ apiKey: secret })).toBe('{"apiKey":"[redacted]"}');
    expect(inspect(secret)).toBe("Secret([redacted])");
    expect(inspect({ nested: { apiKey: secret } }, { depth: 10, showHidden: true })).not.toContain(value);
    expect(secret.reveal()).toBe(value);
  });

  it("from() wraps strings, passes Secrets through, and drops empty values", () => {
    const secret = new Secret(value);
    expect(Secret.from(secret)).toBe(secret);
    expect(Secret.from(value)?.reveal()).toBe(value);
    expect(Secret.from("")).toBeUndefined();
    expect(Secret.from(undefined)).toBeUndefined();
  });

  it("registers the value so that messages built later hide it", () => {
    const other = "abcd-efgh-registered";
    expect(redactSecrets(`x ${other} y`)).toContain(other);
    new Secret(other);
    expect(redactSecrets(`x ${other} y ${other}`)).toBe("x [redacted] y [redacted]");
  });

  it("does not track values too short to redact safely", () => {
    new Secret("ab");
    expect(redactSecrets("tab stop")).toBe("tab stop");
  });
});
