import { expect } from "vitest";
import type { ConformanceCase } from "../case.js";

/** Cases about `sh`: a POSIX shell command line and its exit status. */
export const shellCases = {
  "sh.exit-codes": {
    title: "sh returns the shell's exit status: exit n, false, and 127 for a missing command",
    async run(h) {
      await using sbx = await h.open();
      expect((await sbx.sh("exit 3")).exitCode).toBe(3);
      expect((await sbx.sh("true")).exitCode).toBe(0);
      expect((await sbx.sh("false")).exitCode).toBe(1);
      expect((await sbx.sh("exit 0")).exitCode).toBe(0);
      const missing = await sbx.sh("sandkit-no-such-command-4b1d");
      expect(missing.exitCode).toBe(127);
      expect(missing.stderr.length, "the shell says what was not found").toBeGreaterThan(0);
      expect((await sbx.sh("false; true")).exitCode, "the status of the last command").toBe(0);
      expect((await sbx.sh("set -e; false; echo unreachable")).stdout).toBe("");
    },
  },

  "sh.features": {
    title: "sh runs pipes, redirections, expansions and conditionals, with stdout and stderr apart",
    async run(h) {
      await using sbx = await h.open();
      expect((await sbx.sh("printf 'a\\nb\\nc\\n' | wc -l")).stdout.trim()).toBe("3");
      expect((await sbx.sh("echo $((6 * 7))")).stdout).toBe("42\n");
      expect((await sbx.sh('x=1; if [ "$x" = 1 ]; then echo yes; else echo no; fi')).stdout).toBe("yes\n");
      expect((await sbx.sh("echo saved > out.txt && cat out.txt")).stdout).toBe("saved\n");
      const apart = await sbx.sh("echo out; echo err >&2; exit 2");
      expect(apart).toMatchObject({ stdout: "out\n", stderr: "err\n", exitCode: 2, timedOut: false });
      expect(await sbx.sh("echo to-err 1>&2")).toMatchObject({ stdout: "", stderr: "to-err\n" });
      expect(await sbx.sh("(echo merged >&2) 2>&1")).toMatchObject({ stdout: "merged\n", stderr: "" });
      expect((await sbx.sh("for i in 1 2 3; do printf $i; done")).stdout).toBe("123");
    },
  },
} satisfies Record<string, ConformanceCase>;
