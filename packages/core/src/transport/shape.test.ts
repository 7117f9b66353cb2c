import { describe, expect, it } from "vitest";
import { ProtocolError } from "../errors/protocol-error.ts";
import { array, bool, int, literal, map, nullable, num, obj, oneOf, optional, parseShape, record, str, type ShapeType } from "./shape.ts";

const execResult = obj({
  exitCode: int,
  stdout: str,
  stderr: str,
  timedOut: optional(bool),
  durationMs: map(num, (seconds) => seconds * 1000),
  status: literal("ok", "error"),
  tags: array(str),
  env: record(str),
  note: nullable(str),
});

type ExecResult = ShapeType<typeof execResult>;

function failure(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (error) {
    if (ProtocolError.isInstance(error)) return error;
    throw error;
  }
  throw new Error("expected a ProtocolError");
}

describe("shape combinators", () => {
  const good = { exitCode: 0, stdout: "hi", stderr: "", durationMs: 1.5, status: "ok", tags: ["a"], env: { A: "1" }, note: null, extra: "dropped" };

  it("returns a typed copy with only the declared keys", () => {
    const value: ExecResult = parseShape(execResult, good);
    expect(value).toEqual({ exitCode: 0, stdout: "hi", stderr: "", durationMs: 1500, status: "ok", tags: ["a"], env: { A: "1" }, note: null });
    expect("extra" in value).toBe(false);
    expect(value.timedOut).toBeUndefined();
  });

  it("optional accepts a missing key and null, and validates a present one", () => {
    expect(parseShape(execResult, { ...good, timedOut: null }).timedOut).toBeUndefined();
    expect(parseShape(execResult, { ...good, timedOut: true }).timedOut).toBe(true);
    expect(failure(() => parseShape(execResult, { ...good, timedOut: "yes" })).message).toBe("$.timedOut: expected a boolean, got a string");
  });

  it("names the JSON path and the expected kind, never the value", () => {
    const error = failure(() => parseShape(execResult, { ...good, exitCode: "secret-value-123" }));
    expect(error.message).toBe("$.exitCode: expected an integer, got a string");
    expect(error.message).not.toContain("secret-value-123");
    expect(failure(() => parseShape(execResult, { ...good, tags: ["a", 3] })).message).toBe("$.tags[1]: expected a string, got an integer");
    expect(failure(() => parseShape(execResult, { ...good, env: { "a b": 1 } })).message).toBe('$.env["a b"]: expected a string, got an integer');
    expect(failure(() => parseShape(execResult, { ...good, status: "weird" })).message).toBe('$.status: expected one of "ok" | "error", got a string');
    expect(failure(() => parseShape(execResult, [])).message).toBe("$: expected an object, got an array");
    expect(failure(() => parseShape(execResult, { ...good, note: undefined })).message).toBe("$.note: expected a string, got nothing");
  });

  it("int refuses fractions and unsafe integers; num refuses non-finite", () => {
    expect(() => int(1.5, "$")).toThrow(ProtocolError);
    expect(() => int(2 ** 60, "$")).toThrow(ProtocolError);
    expect(() => num(Number.POSITIVE_INFINITY, "$")).toThrow(ProtocolError);
    expect(num(2.5, "$")).toBe(2.5);
  });

  it("never reads keys from the prototype, and record gives a prototype-less object", () => {
    const shape = obj({ toString: optional(str) });
    expect(parseShape(shape, {})).toEqual({});
    const parsed = parseShape(record(int), JSON.parse('{"__proto__": 1, "a": 2}'));
    expect(Object.getPrototypeOf(parsed)).toBeNull();
    expect(parsed["__proto__"]).toBe(1);
    expect(({} as Record<string, unknown>)["a"]).toBeUndefined();
  });

  it("oneOf tries each shape and names what it expected", () => {
    const idShape = oneOf("a string or an integer", str, int);
    expect(idShape("x", "$")).toBe("x");
    expect(idShape(3, "$")).toBe(3);
    expect(failure(() => idShape(true, "$.id")).message).toBe("$.id: expected a string or an integer, got a boolean");
  });
});
