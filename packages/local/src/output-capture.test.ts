import { describe, expect, it } from "vitest";
import { completeUtf8Length, OutputCapture } from "./output-capture.js";

describe("OutputCapture", () => {
  it("keeps everything under the limit", () => {
    const capture = new OutputCapture(10);
    expect(capture.push(Buffer.from("abc")).toString()).toBe("abc");
    expect(capture.push(Buffer.from("def")).toString()).toBe("def");
    expect(capture.text()).toBe("abcdef");
    expect(capture.truncated).toBe(false);
  });

  it("keeps the first bytes, drops the rest and says so", () => {
    const capture = new OutputCapture(4);
    expect(capture.push(Buffer.from("abc")).toString()).toBe("abc");
    expect(capture.push(Buffer.from("def")).toString()).toBe("d");
    expect(capture.push(Buffer.from("ghi"))).toHaveLength(0);
    expect(capture.text()).toBe("abcd");
    expect(capture.truncated).toBe(true);
  });

  it("is not truncated when the output is exactly the limit", () => {
    const capture = new OutputCapture(3);
    capture.push(Buffer.from("abc"));
    expect(capture.truncated).toBe(false);
  });

  it("drops a character cut at the limit instead of mangling it", () => {
    const capture = new OutputCapture(4);
    capture.push(Buffer.from("ab€")); // € is 3 bytes
    expect(capture.text()).toBe("ab");
  });
});

describe("completeUtf8Length", () => {
  it.each([
    ["ascii", Buffer.from("abc"), 3],
    ["complete 2-byte", Buffer.from("é"), 2],
    ["cut 2-byte", Buffer.from("é").subarray(0, 1), 0],
    ["cut 3-byte", Buffer.from("a€").subarray(0, 3), 1],
    ["complete 4-byte", Buffer.from("😀"), 4],
    ["cut 4-byte", Buffer.from("😀").subarray(0, 3), 0],
    ["empty", Buffer.alloc(0), 0],
  ])("%s", (_, bytes, expected) => {
    expect(completeUtf8Length(bytes)).toBe(expected);
  });
});
