import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Sandbox, ValidationError } from "@sandkit/core";
import { expect, type TestContext } from "vitest";
import { expectSandboxError, expectUnsupported } from "../assertions.js";
import type { ConformanceCase } from "../case.js";
import type { ConformanceHarness } from "../harness.js";

/** Paths with `..` segments that leave the workdir, as users might write them. */
function escapingPaths(workdir: string): string[] {
  return ["../x", "../../etc/passwd", "/workspace/../etc/passwd", `${workdir}/../etc/passwd`, "a/../../x", "./../x", ".."];
}

/**
 * Asserts that every file operation and `cwd` refuses `path` with `ValidationError`, and that no
 * download wrote into the local directory.
 */
async function expectRefusedEverywhere(
  h: ConformanceHarness,
  sbx: Sandbox,
  path: string,
  options: { readonly files: boolean; readonly exists?: boolean },
): Promise<void> {
  const what = (operation: string): string => `${operation} of ${JSON.stringify(path)}`;
  if (options.files) {
    const local = await h.tempDir();
    await writeFile(join(local, "upload-me.txt"), "upload me");
    await expectSandboxError(() => sbx.files.read(path), ValidationError, what("files.read"));
    await expectSandboxError(() => sbx.files.write(path, "escaped"), ValidationError, what("files.write"));
    await expectSandboxError(() => sbx.files.write(`${path}/nested.txt`, "escaped"), ValidationError, what("files.write below"));
    await expectSandboxError(() => sbx.files.list(path), ValidationError, what("files.list"));
    await expectSandboxError(() => sbx.files.remove(path), ValidationError, what("files.remove"));
    await expectSandboxError(() => sbx.files.remove(path, { recursive: true }), ValidationError, what("files.remove recursive"));
    await expectSandboxError(() => sbx.files.mkdir(path), ValidationError, what("files.mkdir"));
    if (options.exists !== false) await expectSandboxError(() => sbx.files.exists(path), ValidationError, what("files.exists"));
    await expectSandboxError(() => sbx.files.upload(local, path), ValidationError, what("files.upload to"));
    const target = await h.tempDir();
    await expectSandboxError(() => sbx.files.download(path, target), ValidationError, what("files.download from"));
    expect(await readdir(target), `nothing downloaded from ${path}`).toEqual([]);
  }
  if (h.capabilities(sbx).exec.cwd) {
    await expectSandboxError(() => sbx.exec(["sh", "-c", "echo escaped > escaped.txt"], { cwd: path }), ValidationError, what("exec cwd"));
    await expectSandboxError(() => sbx.sh("echo escaped > escaped.txt", { cwd: path }), ValidationError, what("sh cwd"));
  } else {
    await expectUnsupported(() => sbx.exec(["true"], { cwd: path }), "exec.cwd");
  }
}

async function filesAvailable(h: ConformanceHarness, sbx: Sandbox, t: TestContext): Promise<boolean> {
  if (h.capabilities(sbx).files !== "none") return true;
  await t.annotate("files is not supported: checked cwd only", "notice");
  return false;
}

/** Cases about paths that would leave the sandbox's workdir. */
export const pathsCases = {
  "paths.dotdot-escapes": {
    title: "paths with '..' that leave the workdir are refused with ValidationError by every file operation and as cwd",
    async run(h, t) {
      await using sbx = await h.open();
      const files = await filesAvailable(h, sbx, t);
      for (const path of escapingPaths(sbx.info.workdir)) await expectRefusedEverywhere(h, sbx, path, { files });
    },
  },

  "paths.confined-absolute": {
    title: "absolute paths outside the workdir are refused with ValidationError (backends confined to their workdir)",
    confinedOnly: true,
    async run(h, t) {
      await using sbx = await h.open();
      const files = await filesAvailable(h, sbx, t);
      const hostDir = await h.tempDir();
      for (const path of ["/etc/passwd", "/", "/tmp", hostDir, join(hostDir, "new.txt")]) {
        // `exists("/")` is true without asking the backend: the root always exists and says nothing.
        await expectRefusedEverywhere(h, sbx, path, { files, exists: path !== "/" });
      }
      expect(await readdir(hostDir), "nothing appeared in a directory outside the workdir").toEqual([]);
    },
  },

  "paths.confined-symlinks": {
    title: "symbolic links in the workspace that lead out are refused with ValidationError and nothing outside changes",
    confinedOnly: true,
    async run(h, t) {
      await using sbx = await h.open();
      const files = await filesAvailable(h, sbx, t);
      const hostDir = await h.tempDir();
      await writeFile(join(hostDir, "keep.txt"), "outside");
      const made = await sbx.sh(`ln -s / root-link && ln -s /etc/passwd passwd-link && ln -s '${hostDir}' host-link && ln -s .. up-link`);
      expect(made.exitCode, made.stderr).toBe(0);
      for (const path of ["root-link", "root-link/etc", "passwd-link", "host-link", "host-link/keep.txt", "host-link/new.txt", "up-link"]) {
        // `exists` of a link itself only looks for its name in the workdir, which is no escape;
        // `exists` of a path below a link has to list through the link and must be refused.
        await expectRefusedEverywhere(h, sbx, path, { files, exists: path.includes("/") });
      }
      expect(await readdir(hostDir), "nothing was created or removed outside the workdir").toEqual(["keep.txt"]);
      expect(await readFile(join(hostDir, "keep.txt"), "utf8"), "nothing outside was overwritten").toBe("outside");
      expect(existsSync(join(hostDir, "escaped.txt"))).toBe(false);
    },
  },
} satisfies Record<string, ConformanceCase>;
