import { FileNotFoundError } from "@sandkit/core";
import { expect } from "vitest";
import { expectSandboxError } from "../assertions.js";
import type { ConformanceCase } from "../case.js";
import { pseudoRandomBytes } from "../tree.js";
import { hasFiles } from "./files-cases.js";

/** Cases about several operations or several sandboxes at once. */
export const sandboxesCases = {
  "concurrency.parallel-exec": {
    title: "10 commands run in parallel on one sandbox keep their own stdout, stderr, exit code and stdin",
    async run(h) {
      await using sbx = await h.open();
      const n = 10;
      // Later commands finish first, so that results cannot line up by accident.
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          sbx.exec(["sh", "-c", 'sleep "0.$3"; printf "out-%s" "$1"; printf "err-%s" "$1" >&2; exit "$2"', "sh", `id${i}`, String(i), String(n - 1 - i)]),
        ),
      );
      results.forEach((r, i) => {
        expect(r, `command ${i}`).toMatchObject({ stdout: `out-id${i}`, stderr: `err-id${i}`, exitCode: i, timedOut: false });
      });
      if (h.capabilities(sbx).exec.stdin) {
        const inputs = Array.from({ length: n }, (_, i) => `input-${i}-`.repeat(1000 * (i + 1)));
        const echoed = await Promise.all(inputs.map((stdin) => sbx.exec(["cat"], { stdin })));
        echoed.forEach((r, i) => expect(r.stdout === inputs[i], `stdin of command ${i} came back as its own`).toBe(true));
      }
    },
  },

  "concurrency.parallel-files": {
    title: "parallel file writes and reads on one sandbox do not mix contents",
    async run(h, t) {
      await using sbx = await h.open();
      if (!(await hasFiles(h, sbx, t))) return;
      const contents = Array.from({ length: 10 }, (_, i) => pseudoRandomBytes(64 * 1024 + i, 100 + i));
      await Promise.all(contents.map((content, i) => sbx.files.write(`parallel/file-${i}.bin`, content)));
      const back = await Promise.all(contents.map((_, i) => sbx.files.read(`parallel/file-${i}.bin`)));
      back.forEach((bytes, i) => expect(Buffer.from(bytes).equals(contents[i] ?? new Uint8Array()), `file ${i}`).toBe(true));
      const mixed = await Promise.all([
        sbx.files.write("parallel/text.txt", "text"),
        sbx.exec(["sh", "-c", "echo from-exec > parallel/exec.txt"]),
        sbx.files.list("parallel"),
      ]);
      expect(mixed[1].exitCode).toBe(0);
      expect(await sbx.files.read("parallel/exec.txt", { encoding: "utf8" })).toBe("from-exec\n");
    },
  },

  "isolation.two-sandboxes": {
    title: "two sandboxes are isolated: a file written in one is absent in the other, and closing one leaves the other",
    async run(h) {
      await using a = await h.open();
      await using b = await h.open();
      expect(a.id).not.toBe(b.id);
      expect((await a.exec(["sh", "-c", "echo only-in-a > marker.txt"])).exitCode).toBe(0);
      expect((await b.exec(["test", "-e", "marker.txt"])).exitCode, "b does not see a's file").toBe(1);
      expect((await b.exec(["sh", "-c", "echo only-in-b > other.txt"])).exitCode).toBe(0);
      expect((await a.exec(["test", "-e", "other.txt"])).exitCode, "a does not see b's file").toBe(1);
      if (h.capabilities(b).files !== "none") {
        expect(await b.files.exists("marker.txt")).toBe(false);
        await expectSandboxError(() => b.files.read("marker.txt"), FileNotFoundError, "reading a's file in b");
        expect(await a.files.read("marker.txt", { encoding: "utf8" })).toBe("only-in-a\n");
      }
      await a.close();
      expect((await b.exec(["cat", "other.txt"])).stdout, "b survives a's close").toBe("only-in-b\n");
    },
  },
} satisfies Record<string, ConformanceCase>;
