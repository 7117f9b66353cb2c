import { describe, expect, it } from "vitest";
import { LineAssembler, splitLines } from "./output-lines.js";

describe("output lines", () => {
  it("assemble pieces into lines in arrival order, flushing partial lines at the end", () => {
    const lines = new LineAssembler(1000);
    lines.push("stdout", "a");
    lines.push("stderr", "e1\n");
    lines.push("stdout", "b\nc");
    expect(lines.finish()).toEqual([
      { stream: "stderr", text: "e1" },
      { stream: "stdout", text: "ab" },
      { stream: "stdout", text: "c" },
    ]);
  });

  it("keep at most the given number of characters", () => {
    const lines = new LineAssembler(4);
    lines.push("stdout", "abc\ndef\n");
    expect(lines.finish()).toEqual([{ stream: "stdout", text: "abc" }]);
  });

  it("split a whole stream without an empty last line, keeping inner empty lines", () => {
    expect(splitLines("stdout", "a\n\nb\n")).toEqual([
      { stream: "stdout", text: "a" },
      { stream: "stdout", text: "" },
      { stream: "stdout", text: "b" },
    ]);
    expect(splitLines("stderr", "")).toEqual([]);
  });
});
