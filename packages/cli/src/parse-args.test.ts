import { describe, expect, it } from "vitest";
import { parseCommandLine } from "./parse-args.ts";
import { UsageError } from "./usage-error.ts";

function usageMessage(argv: string[]): string {
  try {
    parseCommandLine(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as UsageError).message;
  }
  throw new Error(`expected a usage error for ${JSON.stringify(argv)}`);
}

describe("parseCommandLine", () => {
  it("takes the program after -- verbatim, flags included", () => {
    expect(parseCommandLine(["exec", "--", "python3", "-c", "print(6*7)", "--timeout", "5"])).toEqual({
      action: "exec",
      argv: ["python3", "-c", "print(6*7)", "--timeout", "5"],
      backend: { backend: undefined, url: undefined, apiKey: undefined, isolation: undefined },
      command: { timeoutMs: undefined, maxOutputBytes: undefined, cwd: undefined, env: {} },
    });
  });

  it("reads --max-output as bytes with optional binary units", () => {
    expect(parseCommandLine(["--max-output", "65536", "sh", "x"])).toMatchObject({ command: { maxOutputBytes: 65536 } });
    expect(parseCommandLine(["--max-output", "512k", "sh", "x"])).toMatchObject({ command: { maxOutputBytes: 512 * 1024 } });
    expect(parseCommandLine(["--max-output", "16MiB", "sh", "x"])).toMatchObject({ command: { maxOutputBytes: 16 * 1024 ** 2 } });
    expect(usageMessage(["--max-output", "lots", "sh", "x"])).toMatch(/--max-output takes a positive size/);
    expect(usageMessage(["--max-output", "0", "sh", "x"])).toMatch(/--max-output/);
  });

  it("starts the program at the first positional when there is no --", () => {
    const parsed = parseCommandLine(["exec", "--timeout", "500", "python3", "-c", "1"]);
    expect(parsed).toMatchObject({ action: "exec", argv: ["python3", "-c", "1"], command: { timeoutMs: 500 } });
  });

  it("ignores stray leading -- added by script runners", () => {
    expect(parseCommandLine(["--", "exec", "--", "ls"])).toMatchObject({ action: "exec", argv: ["ls"] });
    expect(parseCommandLine(["--", "--", "sh", "exit 3"])).toMatchObject({ action: "sh", script: "exit 3" });
  });

  it("reads global and command flags before and after the command name", () => {
    const parsed = parseCommandLine([
      "--backend", "noxrunner", "--url", "http://127.0.0.1:1", "--api-key", "k",
      "exec", "--cwd", "sub", "-e", "A=1", "--env", "B=x=y", "--", "env",
    ]);
    expect(parsed).toEqual({
      action: "exec",
      argv: ["env"],
      backend: { backend: "noxrunner", url: "http://127.0.0.1:1", apiKey: "k", isolation: undefined },
      command: { timeoutMs: undefined, maxOutputBytes: undefined, cwd: "sub", env: { A: "1", B: "x=y" } },
    });
  });

  it("joins the words of sh into one command line and still reads flags after it", () => {
    expect(parseCommandLine(["sh", "exit 3"])).toMatchObject({ action: "sh", script: "exit 3" });
    expect(parseCommandLine(["sh", "echo", "hi", "--timeout", "100"])).toMatchObject({ script: "echo hi", command: { timeoutMs: 100 } });
    expect(parseCommandLine(["sh", "--", "echo --not-a-flag"])).toMatchObject({ script: "echo --not-a-flag" });
  });

  it("parses run: the file, its interpreter and its arguments, with or without --", () => {
    expect(parseCommandLine(["run", "dir/Job.PY", "--", "a", "--b"])).toMatchObject({
      action: "run",
      file: "dir/Job.PY",
      interpreter: ["python3"],
      args: ["a", "--b"],
    });
    expect(parseCommandLine(["--isolation", "none", "run", "x.mjs", "a"])).toMatchObject({
      interpreter: ["node"],
      args: ["a"],
      backend: { isolation: "none" },
    });
    expect(parseCommandLine(["run", "--", "s.sh"])).toMatchObject({ file: "s.sh", interpreter: ["sh"], args: [] });
  });

  it("answers --help and --version, alone or with a command", () => {
    expect(parseCommandLine(["--help"])).toEqual({ action: "help" });
    expect(parseCommandLine(["-h"])).toEqual({ action: "help" });
    expect(parseCommandLine(["exec", "--help"])).toEqual({ action: "help" });
    expect(parseCommandLine(["help"])).toEqual({ action: "help" });
    expect(parseCommandLine(["--version"])).toEqual({ action: "version" });
    expect(parseCommandLine(["-V"])).toEqual({ action: "version" });
  });

  it("refuses what it cannot run with a usage error", () => {
    expect(usageMessage([])).toMatch(/missing command/);
    expect(usageMessage(["frobnicate"])).toMatch(/unknown command "frobnicate"/);
    expect(usageMessage(["exec"])).toMatch(/exec needs a program/);
    expect(usageMessage(["exec", "--"])).toMatch(/exec needs a program/);
    expect(usageMessage(["sh"])).toMatch(/sh needs a command line/);
    expect(usageMessage(["run"])).toMatch(/run needs a file/);
    expect(usageMessage(["run", "notes.txt"])).toMatch(/extension \.txt.*\.py \(python3\)/);
    expect(usageMessage(["run", "Makefile"])).toMatch(/has no extension/);
    expect(usageMessage(["--bogus", "exec", "ls"])).toMatch(/bogus/);
    expect(usageMessage(["exec", "--timeout", "soon", "ls"])).toMatch(/--timeout takes a positive whole number/);
    expect(usageMessage(["exec", "--timeout", "0", "ls"])).toMatch(/--timeout/);
    expect(usageMessage(["exec", "--timeout", "1.5", "ls"])).toMatch(/--timeout/);
    expect(usageMessage(["exec", "--env", "NOVALUE", "ls"])).toMatch(/--env takes NAME=value/);
    expect(usageMessage(["exec", "--env", "1BAD=x", "ls"])).toMatch(/--env takes NAME=value/);
    expect(usageMessage(["--isolation", "docker", "exec", "ls"])).toMatch(/--isolation must be one of none, bubblewrap, auto/);
    expect(usageMessage(["--backend", "", "exec", "ls"])).toMatch(/--backend needs a value/);
    expect(usageMessage(["--backend", "local", "--", "exec"])).toMatch(/expected a command/);
  });
});
