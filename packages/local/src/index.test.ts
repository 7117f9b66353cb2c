import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BackendModule, createSandbox, FileNotFoundError, ValidationError } from "@sandkit/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as localModule from "./index.js";
import { local } from "./index.js";

let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "sandkit-e2e-test-"));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe("@sandkit/local through createSandbox", () => {
  it("is a backend module core can load by name", () => {
    const module: BackendModule = localModule;
    const backend = module.createBackend({ root, isolation: "none" }, {});
    expect(backend.name).toBe("local");
    expect(backend.specificationVersion).toBe("v1");
  });

  it("runs the quickstart end to end and cleans up when the block ends", async () => {
    let workspace: string;
    {
      await using sbx = await createSandbox({ backend: local({ root, isolation: "none" }), env: { GREETING: "hi" } });
      workspace = String(sbx.info.details?.workspace);
      expect(sbx.backend).toBe("local");
      expect(sbx.info.workdir).toBe("/workspace");
      await sbx.files.write("/workspace/main.py", "import os\nprint(6 * 7, os.environ['GREETING'])\nopen('out.txt', 'w').write('made')\n");
      const result = await sbx.exec(["python3", "main.py"], { timeoutMs: 10_000 });
      expect(result).toMatchObject({ exitCode: 0, stdout: "42 hi\n", stderr: "", timedOut: false, truncated: false });
      expect(await sbx.files.read("out.txt", { encoding: "utf8" })).toBe("made");
      expect((await sbx.files.list()).map((entry) => entry.name)).toEqual(["main.py", "out.txt"]);
      expect((await sbx.sh("exit 3")).exitCode).toBe(3);
      expect((await sbx.runCode("console.log(1 + 1)", { language: "javascript" })).stdout).toBe("2\n");
      const chunks: string[] = [];
      await sbx.exec(["sh", "-c", "echo live"], { onStdout: (text) => chunks.push(text) });
      expect(chunks.join("")).toBe("live\n");
      expect((await sbx.metrics()).diskBytes).toBeGreaterThan(0);
      await expect(sbx.files.read("/etc/passwd")).rejects.toBeInstanceOf(ValidationError);
      await expect(sbx.files.read("missing.txt")).rejects.toBeInstanceOf(FileNotFoundError);
      const timedOut = await sbx.exec(["sleep", "30"], { timeoutMs: 200 });
      expect(timedOut.timedOut).toBe(true);
      expect(existsSync(workspace)).toBe(true);
    }
    expect(existsSync(workspace)).toBe(false);
  });

  it("keeps a sandbox alive, detaches, and reattaches by id", async () => {
    const backend = local({ root, isolation: "none" });
    try {
      const first = await createSandbox({ backend, ttlMs: 60_000 });
      const { expiresAt } = await first.keepAlive({ ttlMs: 120_000 });
      expect(expiresAt!.getTime()).toBeGreaterThan(Date.now() + 100_000);
      await first.files.write("kept.txt", "still here");
      const id = await first.detach();
      await using again = await createSandbox({ backend, attach: id, onClose: "destroy" });
      expect(await again.files.read("kept.txt", { encoding: "utf8" })).toBe("still here");
    } finally {
      await backend.close();
    }
  });
});
