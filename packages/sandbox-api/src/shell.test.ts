import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { cwdFor } from "./connection.ts";
import { commandLine, shellQuote } from "./shell.ts";

describe("shell quoting", () => {
  it("bash reads quoted words back verbatim", () => {
    const words = ["plain", "with space", "it's", "$HOME", "`x`", "a\nb", "", "-n", "*", "\\"];
    const out = execFileSync("bash", ["-c", `printf '%s\\0' ${words.map(shellQuote).join(" ")}`]).toString();
    expect(out.split("\0").slice(0, -1)).toEqual(words);
  });

  it("builds exec lines with an optional cd, never starting with the ignore marker -", () => {
    expect(commandLine(["-x"])).toBe("exec -x");
    expect(commandLine(["ls"], "sub dir")).toBe("cd -- 'sub dir' && exec ls");
  });

  it("sends a cwd inside the workdir relative to it", () => {
    expect(cwdFor(undefined, "/w")).toBeUndefined();
    expect(cwdFor("/w", "/w")).toBeUndefined();
    expect(cwdFor("/w/a/b", "/w")).toBe("a/b");
    expect(cwdFor("/tmp", "/w")).toBe("/tmp");
  });
});
