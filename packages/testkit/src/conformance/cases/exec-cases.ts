import { AbortedError, CommandFailedError, CommandTimeoutError, ValidationError } from "@sandkit/core";
import { expect } from "vitest";
import { expectSandboxError, expectUnsupported } from "../assertions.js";
import { type ConformanceCase, noteUnsupported } from "../case.js";
import { expectHeartbeatStopped, heartbeatScript, startHeartbeatCommand } from "../processes.js";

const ALPHABET_LINE = "abcdefghijklmnopqrstuvwxyz\n";

/** Cases about `exec`: streams, exit codes, options, timeouts, aborts and output limits. */
export const execCases = {
  "exec.streams-apart": {
    title: "exec keeps stdout, stderr and the exit code apart",
    async run(h) {
      await using sbx = await h.open();
      const r = await sbx.exec(["sh", "-c", "printf 'to stdout'; printf 'to stderr' >&2; exit 5"]);
      expect(r).toMatchObject({
        exitCode: 5,
        signal: null,
        stdout: "to stdout",
        stderr: "to stderr",
        timedOut: false,
        truncated: false,
        stdoutTruncated: false,
        stderrTruncated: false,
      });
      expect(Number.isFinite(r.durationMs) && r.durationMs >= 0, `durationMs is a non-negative number, got ${r.durationMs}`).toBe(true);

      const interleaved = await sbx.exec(["sh", "-c", "for i in 1 2 3; do echo out$i; echo err$i >&2; done"]);
      expect(interleaved.stdout).toBe("out1\nout2\nout3\n");
      expect(interleaved.stderr).toBe("err1\nerr2\nerr3\n");
      expect(interleaved.exitCode).toBe(0);

      const quiet = await sbx.exec(["true"]);
      expect(quiet).toMatchObject({ exitCode: 0, stdout: "", stderr: "", timedOut: false });
    },
  },

  "exec.nonzero-exit": {
    title: "a non-zero exit is a result, not an error",
    async run(h) {
      await using sbx = await h.open();
      for (const code of [1, 2, 42, 127, 255]) {
        const r = await sbx.exec(["sh", "-c", `echo before-exit; exit ${code}`]);
        expect(r, `exit ${code}`).toMatchObject({ exitCode: code, stdout: "before-exit\n", timedOut: false });
      }
      expect((await sbx.exec(["false"])).exitCode).toBe(1);
    },
  },

  "exec.check": {
    title: "check: true throws CommandFailedError (and CommandTimeoutError) carrying the result",
    async run(h) {
      await using sbx = await h.open();
      const ok = await sbx.exec(["sh", "-c", "echo fine"], { check: true });
      expect(ok.stdout).toBe("fine\n");

      const failed = await expectSandboxError(
        () => sbx.exec(["sh", "-c", "echo partial; echo oops >&2; exit 3"], { check: true }),
        CommandFailedError,
        "exec with check: true of a failing command",
      );
      expect(failed).toMatchObject({ code: "COMMAND_FAILED", exitCode: 3, stdout: "partial\n", stderr: "oops\n", retryable: false });

      const viaSh = await expectSandboxError(() => sbx.sh("exit 4", { check: true }), CommandFailedError, "sh with check: true");
      expect(viaSh.exitCode).toBe(4);

      const timedOut = await expectSandboxError(
        () => sbx.exec(["sleep", "30"], { timeoutMs: 300, check: true }),
        CommandTimeoutError,
        "exec with check: true past its timeout",
      );
      expect(timedOut.code).toBe("COMMAND_TIMEOUT");
    },
  },

  "exec.argv-verbatim": {
    title: "exec passes argv verbatim, with no shell in between",
    async run(h) {
      await using sbx = await h.open();
      const args = ["a b", "$HOME", "'single'", '"double"', "*", "back\\slash", "semi;colon", "$(echo injected)", "`echo injected`", "", "tab\there", "new\nline", "-n", "ünï ✓"];
      const r = await sbx.exec(["printf", "[%s]", ...args]);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toBe(args.map((arg) => `[${arg}]`).join(""));
    },
  },

  "exec.unicode-output": {
    title: "unicode output is decoded as UTF-8 on both streams, also across chunk boundaries",
    async run(h) {
      await using sbx = await h.open();
      const text = "héllo wörld ✓ 日本語 🎉 Ω";
      expect((await sbx.exec(["printf", "%s", text])).stdout).toBe(text);
      expect((await sbx.exec(["sh", "-c", 'printf "%s" "$1" >&2', "sh", text])).stderr).toBe(text);
      // 100 000 lines of 3-byte characters: chunk boundaries fall inside characters.
      const many = await sbx.exec(["sh", "-c", "yes '日本語' | head -n 100000"]);
      expect(many.truncated).toBe(false);
      expect(many.stdout.includes("\uFFFD"), "no replacement characters").toBe(false);
      expect(many.stdout).toBe("日本語\n".repeat(100_000));
    },
  },

  "exec.env": {
    title: "per-command env reaches the command, verbatim, and only that command",
    async run(h, t) {
      await using sbx = await h.open();
      if (!h.capabilities(sbx).exec.env) {
        await expectUnsupported(() => sbx.exec(["true"], { env: { SANDKIT_A: "1" } }), "exec.env");
        return noteUnsupported(t, "exec.env");
      }
      const r = await sbx.exec(["sh", "-c", 'printf "%s|%s|%s" "$SANDKIT_A" "$SANDKIT_B" "${SANDKIT_EMPTY-unset}"'], {
        env: { SANDKIT_A: "with space", SANDKIT_B: "ünï=cödé;$x `y`", SANDKIT_EMPTY: "" },
      });
      expect(r.stdout).toBe("with space|ünï=cödé;$x `y`|");
      const later = await sbx.exec(["sh", "-c", 'printf "%s" "${SANDKIT_A-unset}"']);
      expect(later.stdout, "env of one command does not leak into the next").toBe("unset");
      await expectSandboxError(() => sbx.exec(["true"], { env: { "BAD-NAME": "x" } }), ValidationError, "an invalid variable name");
      await expectSandboxError(() => sbx.exec(["true"], { env: { A: "nul\0byte" } }), ValidationError, "a value with a NUL byte");
    },
  },

  "exec.sandbox-env": {
    title: "the sandbox's env reaches every command; per-command env overrides it",
    async run(h) {
      await using sbx = await h.open({ env: { SANDKIT_SBX: "from-sandbox", SANDKIT_OVERRIDE: "sandbox" } });
      const script = 'printf "%s|%s" "$SANDKIT_SBX" "$SANDKIT_OVERRIDE"';
      expect((await sbx.exec(["sh", "-c", script])).stdout).toBe("from-sandbox|sandbox");
      expect((await sbx.sh(script)).stdout).toBe("from-sandbox|sandbox");
      if (h.capabilities(sbx).exec.env) {
        expect((await sbx.exec(["sh", "-c", script], { env: { SANDKIT_OVERRIDE: "command" } })).stdout).toBe("from-sandbox|command");
      }
    },
  },

  "exec.cwd": {
    title: "cwd, relative or absolute, sets the working directory; the default is the workdir",
    async run(h, t) {
      await using sbx = await h.open();
      if (!h.capabilities(sbx).exec.cwd) {
        await expectUnsupported(() => sbx.exec(["pwd"], { cwd: "sub" }), "exec.cwd");
        return noteUnsupported(t, "exec.cwd");
      }
      expect((await sbx.exec(["mkdir", "-p", "sub/inner"])).exitCode).toBe(0);
      expect((await sbx.exec(["sh", "-c", "echo default > where.txt"])).exitCode).toBe(0);
      expect((await sbx.exec(["cat", "where.txt"])).stdout, "the default cwd is the same on every call").toBe("default\n");

      const relative = await sbx.exec(["sh", "-c", "pwd; echo relative > here.txt"], { cwd: "sub/inner" });
      expect(relative.exitCode).toBe(0);
      expect(relative.stdout).toMatch(/\/sub\/inner\n$/);
      expect((await sbx.exec(["cat", "sub/inner/here.txt"])).stdout).toBe("relative\n");

      const absolute = await sbx.exec(["sh", "-c", "pwd; echo absolute > there.txt"], { cwd: `${sbx.info.workdir}/sub/inner` });
      expect(absolute.exitCode).toBe(0);
      expect(absolute.stdout).toBe(relative.stdout);
      expect((await sbx.exec(["cat", "sub/inner/there.txt"])).stdout).toBe("absolute\n");

      for (const spelling of ["./sub/inner", "sub/inner/", "sub//inner"]) {
        expect((await sbx.exec(["pwd"], { cwd: spelling })).stdout, `cwd ${spelling}`).toBe(relative.stdout.split("\n")[0] + "\n");
      }
    },
  },

  "exec.stdin": {
    title: "stdin (text and all 256 byte values, and several MiB) reaches the command",
    async run(h, t) {
      await using sbx = await h.open();
      if (!h.capabilities(sbx).exec.stdin) {
        await expectUnsupported(() => sbx.exec(["cat"], { stdin: "x" }), "exec.stdin");
        return noteUnsupported(t, "exec.stdin");
      }
      const text = "line 1\nlíne 2 ✓ 日本\n";
      expect((await sbx.exec(["cat"], { stdin: text })).stdout).toBe(text);

      const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
      const dump = await sbx.exec(["od", "-An", "-v", "-tx1"], { stdin: bytes });
      expect(dump.exitCode).toBe(0);
      expect(dump.stdout.split(/\s+/).filter(Boolean).join("")).toBe(Buffer.from(bytes).toString("hex"));

      const big = new Uint8Array(4 * 1024 * 1024).fill(0x61);
      const counted = await sbx.exec(["wc", "-c"], { stdin: big, timeoutMs: h.scaled(30_000) });
      expect(counted.stdout.trim()).toBe(String(big.length));

      expect((await sbx.sh('read a; read b; echo "$b $a"', { stdin: "x\ny\n" })).stdout).toBe("y x\n");
    },
  },

  "exec.no-stdin-eof": {
    title: "without stdin a command reads end-of-file at once instead of hanging",
    async run(h) {
      await using sbx = await h.open();
      const r = await sbx.exec(["cat"], { timeoutMs: h.scaled(10_000) });
      expect(r).toMatchObject({ exitCode: 0, stdout: "", timedOut: false });
      expect((await sbx.sh('read line; echo "status $?"', { timeoutMs: h.scaled(10_000) })).stdout).toBe("status 1\n");
    },
  },

  "exec.timeout": {
    title: "a command past timeoutMs is killed with its children and comes back timedOut within a bound",
    async run(h) {
      await using sbx = await h.open();
      const timeoutMs = 1000;
      const started = Date.now();
      const r = await sbx.exec(["sh", "-c", `${heartbeatScript("beat")} sleep 30`], { timeoutMs });
      const elapsed = Date.now() - started;
      expect(r.timedOut).toBe(true);
      expect(r.exitCode, "a timed-out command has no exit code").toBeNull();
      expect(elapsed, "not reported before the deadline").toBeGreaterThanOrEqual(timeoutMs - 50);
      expect(elapsed, "reported soon after the deadline").toBeLessThan(timeoutMs + h.scaled(1000));
      await expectHeartbeatStopped(h, sbx, "beat");

      const quick = await sbx.exec(["sh", "-c", "echo quick"], { timeoutMs: h.scaled(10_000) });
      expect(quick).toMatchObject({ timedOut: false, exitCode: 0, stdout: "quick\n" });
    },
  },

  "exec.default-timeout": {
    title: "the sandbox's execTimeoutMs applies to every command unless the call sets its own",
    async run(h) {
      await using sbx = await h.open({ execTimeoutMs: 500 });
      const started = Date.now();
      const r = await sbx.exec(["sleep", "30"]);
      expect(r.timedOut).toBe(true);
      expect(Date.now() - started).toBeLessThan(500 + h.scaled(1000));
      const longer = await sbx.exec(["sh", "-c", "sleep 0.8; echo done"], { timeoutMs: h.scaled(10_000) });
      expect(longer).toMatchObject({ timedOut: false, exitCode: 0, stdout: "done\n" });
    },
  },

  "exec.abort": {
    title: "aborting a running command rejects with AbortedError, kills it, and leaves the sandbox usable",
    async run(h) {
      await using sbx = await h.open();
      const controller = new AbortController();
      const reason = new Error("the caller gave up");
      const { running } = await startHeartbeatCommand(h, sbx, controller.signal);
      const abortedAt = Date.now();
      controller.abort(reason);
      const error = await expectSandboxError(running, AbortedError, "an aborted exec");
      expect(Date.now() - abortedAt, "rejected soon after the abort").toBeLessThan(h.scaled(1000));
      expect(error.cause, "AbortedError's cause is the signal's reason").toBe(reason);
      await expectHeartbeatStopped(h, sbx, "beat");
      expect((await sbx.exec(["echo", "still usable"])).stdout).toBe("still usable\n");
    },
  },

  "exec.abort-before-start": {
    title: "an already-aborted signal rejects with AbortedError and runs nothing",
    async run(h) {
      await using sbx = await h.open();
      await expectSandboxError(() => sbx.exec(["sh", "-c", "echo ran > ran.txt"], { signal: AbortSignal.abort() }), AbortedError, "exec with an aborted signal");
      expect((await sbx.exec(["test", "-e", "ran.txt"])).exitCode, "the command did not run").toBe(1);
    },
  },

  "exec.large-output": {
    title: "several MiB of output are cut at maxOutputBytes per stream, flagged truncated, and the command still completes",
    timeoutMs: 60_000,
    async run(h) {
      await using sbx = await h.open();
      const cap = 64 * 1024;
      const total = 8 * 1024 * 1024;
      const expected = ALPHABET_LINE.repeat(Math.ceil(cap / ALPHABET_LINE.length) + 1);
      const r = await sbx.exec(["sh", "-c", `yes abcdefghijklmnopqrstuvwxyz | head -c ${total}; echo done >&2`], {
        maxOutputBytes: cap,
        timeoutMs: h.scaled(30_000),
      });
      expect(r).toMatchObject({ timedOut: false, exitCode: 0, truncated: true, stdoutTruncated: true, stderrTruncated: false, stderr: "done\n" });
      expect(r.stdout.length).toBeGreaterThan(0);
      expect(Buffer.byteLength(r.stdout), "no more than maxOutputBytes kept").toBeLessThanOrEqual(cap);
      expect(expected.startsWith(r.stdout), "the kept output is the start of the stream").toBe(true);

      const e = await sbx.exec(["sh", "-c", `echo fine; yes abcdefghijklmnopqrstuvwxyz | head -c ${total} >&2`], {
        maxOutputBytes: cap,
        timeoutMs: h.scaled(30_000),
      });
      expect(e).toMatchObject({ timedOut: false, exitCode: 0, truncated: true, stdoutTruncated: false, stderrTruncated: true, stdout: "fine\n" });
      expect(Buffer.byteLength(e.stderr)).toBeLessThanOrEqual(cap);
      expect(expected.startsWith(e.stderr)).toBe(true);
    },
  },

  "exec.output-memory": {
    title: "256 MiB of output with the default cap keeps the client's memory bounded",
    timeoutMs: 90_000,
    async run(h) {
      await using sbx = await h.open();
      const total = 256 * 1024 * 1024;
      const bound = 128 * 1024 * 1024;
      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 5);
      const r = await sbx
        .exec(["sh", "-c", `yes abcdefghijklmnopqrstuvwxyz | head -c ${total}`], { timeoutMs: h.scaled(60_000) })
        .finally(() => clearInterval(sampler));
      peak = Math.max(peak, process.memoryUsage().rss);
      expect(r).toMatchObject({ timedOut: false, exitCode: 0, stdoutTruncated: true });
      expect(Buffer.byteLength(r.stdout)).toBeLessThanOrEqual(1024 * 1024);
      const growth = peak - baseline;
      expect(growth, `peak RSS grew by ${(growth / 2 ** 20).toFixed(1)} MiB for ${total / 2 ** 20} MiB of output`).toBeLessThan(bound);
    },
  },

  "exec.output-callbacks": {
    title: "onStdout/onStderr receive all output as text; live backends deliver it while the command runs",
    async run(h, t) {
      await using sbx = await h.open();
      const out: string[] = [];
      const err: string[] = [];
      const r = await sbx.exec(["sh", "-c", "printf 'a1 '; printf 'b1 ' >&2; yes '日本語' | head -n 20000; printf 'b2' >&2"], {
        onStdout: (text) => out.push(text),
        onStderr: (text) => err.push(text),
      });
      expect(out.join("")).toBe(r.stdout);
      expect(err.join("")).toBe(r.stderr);
      expect(r.stdout).toBe(`a1 ${"日本語\n".repeat(20_000)}`);
      expect(r.stderr).toBe("b1 b2");

      if (h.capabilities(sbx).exec.stream !== "live") {
        await t.annotate("exec.stream is buffered: output is delivered when the command ends", "notice");
        return;
      }
      // The command waits for a file that is created only once "first" has reached the caller.
      let seen = "";
      let release: Promise<unknown> | undefined;
      const r2 = await sbx.exec(["sh", "-c", "echo first; while [ ! -e go ]; do sleep 0.02; done; echo second"], {
        timeoutMs: h.scaled(10_000),
        onStdout: (text) => {
          seen += text;
          if (release === undefined && seen.includes("first")) release = sbx.exec(["touch", "go"]);
        },
      });
      expect(release, "output arrived before the command ended").toBeDefined();
      await release;
      expect(r2).toMatchObject({ timedOut: false, exitCode: 0, stdout: "first\nsecond\n" });
    },
  },

  "exec.killed-by-signal": {
    title: "a command killed by a signal is not reported as success",
    async run(h) {
      await using sbx = await h.open();
      const r = await sbx.exec(["sh", "-c", "kill -KILL $$"]);
      expect(r.timedOut).toBe(false);
      if (r.exitCode === null) {
        expect([null, "SIGKILL"]).toContain(r.signal);
      } else {
        expect(r.exitCode, "128 + SIGKILL when the backend only sees an exit status").toBe(137);
      }
    },
  },

  "exec.invalid-arguments": {
    title: "invalid exec arguments are refused with ValidationError before anything runs",
    async run(h) {
      await using sbx = await h.open();
      await expectSandboxError(() => sbx.exec([]), ValidationError, "an empty argv");
      await expectSandboxError(() => sbx.exec(["echo", "nul\0byte"]), ValidationError, "an argv with a NUL byte");
      await expectSandboxError(() => sbx.exec(["true"], { timeoutMs: 0 }), ValidationError, "timeoutMs 0");
      await expectSandboxError(() => sbx.exec(["true"], { timeoutMs: -5 }), ValidationError, "a negative timeoutMs");
      await expectSandboxError(() => sbx.exec(["true"], { maxOutputBytes: Number.NaN }), ValidationError, "maxOutputBytes NaN");
      await expectSandboxError(() => sbx.sh(""), ValidationError, "an empty sh command");
    },
  },
} satisfies Record<string, ConformanceCase>;
