import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors/validation-error.js";
import { Secret } from "../secret.js";
import { adapterOptionChecks, firstEnv } from "./adapter-options.js";

const check = adapterOptionChecks("demo");

function refusal(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (error) {
    if (ValidationError.isInstance(error)) return error;
    throw error;
  }
  throw new Error("expected a ValidationError");
}

describe("adapterOptionChecks", () => {
  it("names the field, the backend and the operation in every refusal", () => {
    const error = refusal(() => check.positiveMs(-1, "readyTimeoutMs"));
    expect(error).toMatchObject({ field: "readyTimeoutMs", backend: "demo", operation: "configure" });
  });

  it("accepts good values and refuses bad ones", () => {
    expect(() => check.positiveInt(3, "n")).not.toThrow();
    for (const bad of [0, 1.5, "3", Number.NaN]) expect(() => check.positiveInt(bad, "n")).toThrow(ValidationError);
    expect(() => check.singleLine("a\nb", "s")).toThrow(ValidationError);
    expect(() => check.secret(new Secret("k-123456"), "key")).not.toThrow();
    expect(() => check.secret("", "key")).toThrow(ValidationError);
    expect(() => check.headers({ "x-ok": "1" }, "headers")).not.toThrow();
    expect(() => check.headers({ "bad name": "1" }, "headers")).toThrow(ValidationError);
    expect(() => check.headers({ "x-a": "1\r\nx-b: 2" }, "headers")).toThrow(ValidationError);
    expect(() => check.headerName("X-Service-Key", "h")).not.toThrow();
    expect(() => check.object([], "o")).toThrow(ValidationError);
  });

  it("checks base URLs and drops trailing slashes unless asked to keep them", () => {
    expect(check.baseUrl("http://127.0.0.1:8080//", "url")).toBe("http://127.0.0.1:8080");
    expect(check.baseUrl("http://127.0.0.1:8080/", "url", { keepTrailingSlash: true })).toBe("http://127.0.0.1:8080/");
    for (const bad of ["nope", "ftp://host", "http://host/?q=1", "http://host/#x"]) expect(() => check.baseUrl(bad, "url")).toThrow(ValidationError);
  });

  it("refuses unknown keys, naming the known ones, and skips undefined values", () => {
    const checks = { a: check.positiveInt, b: check.singleLine };
    expect(() => check.known({ a: 1, b: undefined }, checks)).not.toThrow();
    const error = refusal(() => check.known({ a: 1, c: 2 } as { a: number }, checks));
    expect(error.field).toBe("c");
    expect(error.message).toContain("known: a, b");
  });
});

describe("firstEnv", () => {
  it("returns the first set, non-blank variable, trimmed, with its name", () => {
    expect(firstEnv({ A: " ", B: " v ", C: "w" }, ["A", "B", "C"])).toEqual({ name: "B", value: "v" });
    expect(firstEnv({}, ["A"])).toBeUndefined();
  });
});
