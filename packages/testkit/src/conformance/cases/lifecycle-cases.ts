import { inspect } from "node:util";
import { AbortedError, CommandFailedError, type Sandbox, SandboxClosedError, SandboxNotFoundError } from "@sandkit/core";
import { expect } from "vitest";
import { describeError, expectSandboxError, expectUnsupported } from "../assertions.js";
import { type ConformanceCase, noteUnsupported } from "../case.js";
import type { ConformanceHarness } from "../harness.js";
import { startHeartbeatCommand } from "../processes.js";

/** Asserts that a closed sandbox's sandbox is gone, where the backend can tell (attach). */
async function expectDestroyed(h: ConformanceHarness, sbx: Sandbox): Promise<void> {
  if (!h.capabilities(sbx).attach) return;
  await expectSandboxError(() => h.open({ attach: sbx.id }), SandboxNotFoundError, `attaching to destroyed sandbox ${sbx.id}`);
}

/** Cases about a sandbox's life: facts, dispose, use after close, attach. */
export const lifecycleCases = {
  "lifecycle.info": {
    title: "a created sandbox has an id, its backend's name and an absolute workdir",
    async run(h) {
      await using sbx = await h.open();
      expect(typeof sbx.id === "string" && sbx.id.length > 0, "a non-empty id").toBe(true);
      expect(sbx.info.id).toBe(sbx.id);
      expect(typeof sbx.backend === "string" && sbx.backend.length > 0, "a backend name").toBe(true);
      expect(sbx.info.backend).toBe(sbx.backend);
      expect(sbx.info.workdir.startsWith("/"), `workdir ${sbx.info.workdir} is absolute`).toBe(true);
      if (sbx.info.createdAt !== undefined) expect(sbx.info.createdAt).toBeInstanceOf(Date);
      if (sbx.info.expiresAt !== undefined) expect(sbx.info.expiresAt).toBeInstanceOf(Date);
      expect(sbx.closed).toBe(false);
      expect(inspect(sbx)).toContain(sbx.id);
      expect(JSON.parse(JSON.stringify(sbx))).toMatchObject({ id: sbx.id, backend: sbx.backend, closed: false });
    },
  },

  "lifecycle.dispose-idempotent": {
    title: "close and dispose are idempotent, concurrent calls included, and bounded in time",
    async run(h) {
      const sbx = await h.open();
      const started = Date.now();
      await sbx.close();
      expect(Date.now() - started).toBeLessThan(h.scaled(10_000));
      expect(sbx.closed).toBe(true);
      await sbx.close();
      await sbx[Symbol.asyncDispose]();
      {
        await using again = sbx;
        expect(again.closed).toBe(true);
      }
      await expectDestroyed(h, sbx);

      const other = await h.open();
      await Promise.all([other.close(), other.close(), other[Symbol.asyncDispose]()]);
      expect(other.closed).toBe(true);
    },
  },

  "lifecycle.dispose-after-error": {
    title: "an error in the await-using block propagates unchanged, and the sandbox is disposed",
    async run(h) {
      const boom = new Error("boom in the block");
      let held: Sandbox | undefined;
      const block = async (): Promise<void> => {
        await using sbx = await h.open();
        held = sbx;
        await sbx.exec(["true"]);
        throw boom;
      };
      await expect(block()).rejects.toBe(boom);
      expect(held?.closed, "disposed when the block threw").toBe(true);
      if (held === undefined) return;
      await expectSandboxError(() => held?.exec(["true"]), SandboxClosedError, "exec after the block");
      await expectDestroyed(h, held);

      const failing = async (): Promise<void> => {
        await using sbx = await h.open();
        await sbx.sh("exit 9", { check: true });
      };
      const error = await expectSandboxError(failing, CommandFailedError, "a block whose command failed");
      expect(error.exitCode, "the block's own error, not one from disposal").toBe(9);
    },
  },

  "lifecycle.use-after-close": {
    title: "every operation on a closed sandbox fails with SandboxClosedError",
    async run(h) {
      const sbx = await h.open();
      const caps = h.capabilities(sbx);
      await sbx.close();
      await expectSandboxError(() => sbx.exec(["true"]), SandboxClosedError, "exec after close");
      await expectSandboxError(() => sbx.sh("true"), SandboxClosedError, "sh after close");
      if (caps.files !== "none") {
        const local = await h.tempDir();
        await expectSandboxError(() => sbx.files.read("x"), SandboxClosedError, "files.read after close");
        await expectSandboxError(() => sbx.files.write("x", "y"), SandboxClosedError, "files.write after close");
        await expectSandboxError(() => sbx.files.list(), SandboxClosedError, "files.list after close");
        await expectSandboxError(() => sbx.files.exists("x"), SandboxClosedError, "files.exists after close");
        await expectSandboxError(() => sbx.files.remove("x"), SandboxClosedError, "files.remove after close");
        await expectSandboxError(() => sbx.files.mkdir("x"), SandboxClosedError, "files.mkdir after close");
        await expectSandboxError(() => sbx.files.upload(local, "x"), SandboxClosedError, "files.upload after close");
        await expectSandboxError(() => sbx.files.download("x", local), SandboxClosedError, "files.download after close");
      }
      const language = caps.codeLanguages[0];
      if (language !== undefined) {
        await expectSandboxError(() => sbx.runCode("1", { language }), SandboxClosedError, "runCode after close");
      }
      if (caps.metrics) await expectSandboxError(() => sbx.metrics(), SandboxClosedError, "metrics after close");
      if (caps.ttl === "keep-alive") await expectSandboxError(() => sbx.keepAlive(), SandboxClosedError, "keepAlive after close");
    },
  },

  "lifecycle.close-aborts-running": {
    title: "closing a sandbox aborts the commands still running on it, within a bound",
    async run(h) {
      const sbx = await h.open();
      const { running } = await startHeartbeatCommand(h, sbx);
      const closing = Date.now();
      await sbx.close();
      expect(Date.now() - closing, "close is bounded even with a command running").toBeLessThan(h.scaled(10_000));
      const outcome = await running.then(
        (result) => ({ ok: true as const, result }),
        (error: unknown) => ({ ok: false as const, error }),
      );
      if (outcome.ok) expect.fail(`the running command should have been aborted, but it returned ${JSON.stringify(outcome.result)}`);
      const error = outcome.error;
      const typed = error instanceof AbortedError || error instanceof SandboxClosedError;
      expect(typed, `the running command fails with AbortedError or SandboxClosedError, got ${describeError(error)}`).toBe(true);
    },
  },

  "lifecycle.attach": {
    title: "detach then attach by id finds the same sandbox and its files (CapabilityUnsupportedError without attach)",
    async run(h, t) {
      const first = await h.open();
      if (!h.capabilities(first).attach) {
        await first.close();
        await expectUnsupported(() => h.open({ attach: first.id }), "attach", "createSandbox({ attach })");
        return noteUnsupported(t, "attach");
      }
      expect((await first.exec(["sh", "-c", "echo persisted > state.txt"])).exitCode).toBe(0);
      const id = await first.detach();
      expect(id).toBe(first.id);
      expect(first.closed).toBe(true);
      {
        await using again = await h.open({ attach: id, onClose: "destroy" });
        expect(again.id).toBe(id);
        expect((await again.exec(["cat", "state.txt"])).stdout).toBe("persisted\n");
      }
      await expectSandboxError(() => h.open({ attach: id }), SandboxNotFoundError, "attaching after the sandbox was destroyed");
    },
  },
} satisfies Record<string, ConformanceCase>;
