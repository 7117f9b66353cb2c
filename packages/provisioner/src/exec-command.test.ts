import { execFileSync } from "node:child_process";
import { ValidationError } from "@sandkit/core";
import { describe, expect, it } from "vitest";
import { capText, checkEnv, commandLine, shellCommandLine, shellQuote } from "./exec-command.ts";
import { chunked, parseMode, parseModified, toEntry } from "./files.ts";
import { checkSandboxId, deerflowSandboxId, generateSandboxId } from "./sandbox-id.ts";

describe("command lines", () => {
  it("quotes every word so that sh runs exactly the argv", () => {
    const argv = ["printf", "%s|", "a b", "it's", "$HOME", "`x`", "", "*", "\n"];
    const out = execFileSync("/bin/sh", ["-c", commandLine(argv, "s")], { encoding: "utf8" });
    expect(out).toBe("a b|it's|$HOME|`x`||*|\n|");
    expect(shellQuote("plain-word_1.txt")).toBe("plain-word_1.txt");
  });

  it("refuses an empty argv and NUL bytes", () => {
    expect(() => commandLine([], "s")).toThrow(ValidationError);
    expect(() => commandLine(["a\0b"], "s")).toThrow(ValidationError);
  });

  it("passes env to one command on the shell endpoint with env(1)", () => {
    const line = shellCommandLine(["sh", "-c", 'printf "%s" "$V"'], { V: "x y'z" }, "s");
    expect(execFileSync("/bin/sh", ["-c", line], { encoding: "utf8" })).toBe("x y'z");
    expect(() => checkEnv({ "1BAD": "x" }, "s", "exec")).toThrow(ValidationError);
    expect(() => checkEnv({ A: "x\0" }, "s", "exec")).toThrow(ValidationError);
  });

  it("caps output at maxBytes on a character boundary", () => {
    expect(capText("hello", 10)).toEqual({ text: "hello", truncated: false });
    expect(capText("héllo wörld", 3)).toEqual({ text: "h\u00e9", truncated: true });
    expect(capText("abc", 3)).toEqual({ text: "abc", truncated: true });
  });
});

describe("sandbox ids", () => {
  it("derives DeerFlow's id from user and thread, and generates valid ids", () => {
    expect(deerflowSandboxId("default", "t-1")).toMatch(/^[0-9a-f]{16}$/);
    expect(deerflowSandboxId("default", "t-1")).toBe(deerflowSandboxId("default", "t-1"));
    expect(deerflowSandboxId("u2", "t-1")).not.toBe(deerflowSandboxId("default", "t-1"));
    expect(checkSandboxId(generateSandboxId(), "create")).toMatch(/^sk-[0-9a-f]{24}$/);
    for (const bad of ["", "A", "a_b", "-a", "a-", "a".repeat(52), "a/b"]) expect(() => checkSandboxId(bad, "create")).toThrow(ValidationError);
  });
});

describe("file helpers", () => {
  it("reads permissions and times leniently", () => {
    expect(parseMode("0o755")).toBe(0o755);
    expect(parseMode("644")).toBe(0o644);
    expect(parseMode("-rwxr-x---")).toBe(0o750);
    expect(parseMode("bogus")).toBeUndefined();
    expect(parseModified(1_700_000_000)?.getTime()).toBe(1_700_000_000_000);
    expect(parseModified("2026-01-02T03:04:05Z")?.toISOString()).toBe("2026-01-02T03:04:05.000Z");
    expect(parseModified({})).toBeUndefined();
  });

  it("drops listing names that would leave the directory", () => {
    expect(toEntry("/w", { name: "../x", path: undefined, is_directory: false, size: 1, modified_time: undefined, permissions: undefined })).toBeUndefined();
    expect(toEntry("/w", { name: "a", path: "/elsewhere/a", is_directory: true, size: 4096, modified_time: undefined, permissions: undefined })).toEqual({
      name: "a",
      path: "/w/a",
      type: "directory",
      size: 0,
    });
  });

  it("cuts a byte source into bounded chunks in order", async () => {
    async function* pieces(): AsyncGenerator<Uint8Array> {
      yield Buffer.from("abc");
      yield Buffer.from("defgh");
      yield Buffer.from("");
      yield Buffer.from("i");
    }
    const out: string[] = [];
    for await (const chunk of chunked(pieces(), 4)) out.push(Buffer.from(chunk).toString());
    expect(out).toEqual(["abcd", "efgh", "i"]);
  });
});
