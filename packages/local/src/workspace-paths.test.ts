import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ValidationError } from "@sandkit/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resolveWorkspacePath, sandboxPathOf, workspaceSegments } from "./workspace-paths.js";

const site = { operation: "test" };

describe("workspaceSegments", () => {
  it("maps /workspace paths and relative paths to components", () => {
    expect(workspaceSegments("/workspace", "path", site)).toEqual([]);
    expect(workspaceSegments("/workspace/", "path", site)).toEqual([]);
    expect(workspaceSegments("/workspace/a//b/./c", "path", site)).toEqual(["a", "b", "c"]);
    expect(workspaceSegments("a/b", "path", site)).toEqual(["a", "b"]);
    expect(workspaceSegments(".", "path", site)).toEqual([]);
  });

  it.each(["../x", "/workspace/../etc", "a/..", "/etc/passwd", "/", "/workspacex", "/tmp/workspace", "", "a\0b"])(
    "refuses %j with a ValidationError naming the field",
    (path) => {
      const error = (() => {
        try {
          workspaceSegments(path, "cwd", site);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(ValidationError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ field: "cwd", backend: "local" });
    },
  );

  it("refuses values that are not strings", () => {
    expect(() => workspaceSegments(42, "path", site)).toThrow(ValidationError);
  });

  it("turns components back into a sandbox path", () => {
    expect(sandboxPathOf([])).toBe("/workspace");
    expect(sandboxPathOf(["a", "b"])).toBe("/workspace/a/b");
  });
});

describe("resolveWorkspacePath", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "sandkit-paths-test-"));
    mkdirSync(join(dir, "real/deeper"), { recursive: true });
    writeFileSync(join(dir, "real/file"), "x");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const resolve = (path: string, followFinal = true) => resolveWorkspacePath(dir, path, { field: "path", followFinal, site });

  it("resolves plain paths and says whether they exist", async () => {
    expect(await resolve("/workspace/real/file")).toEqual({ segments: ["real", "file"], sandboxPath: "/workspace/real/file", exists: true });
    expect(await resolve("/workspace/real/missing/x")).toMatchObject({ segments: ["real", "missing", "x"], exists: false });
    expect(await resolve("/workspace/real/file/under")).toMatchObject({ exists: false });
  });

  it("resolves links inside the workspace, relative, absolute and chained", async () => {
    symlinkSync("real", join(dir, "a"));
    symlinkSync("/workspace/a/deeper", join(dir, "b"));
    symlinkSync("../file", join(dir, "real/deeper/up"));
    expect((await resolve("/workspace/b")).segments).toEqual(["real", "deeper"]);
    expect((await resolve("/workspace/b/up")).segments).toEqual(["real", "file"]);
    expect((await resolve("/workspace/b/up", false)).segments).toEqual(["real", "deeper", "up"]);
  });

  it("keeps a final link as the entry with followFinal: false, but still checks where it points", async () => {
    symlinkSync("real/file", join(dir, "ok"));
    symlinkSync("/etc/passwd", join(dir, "bad"));
    expect((await resolve("/workspace/ok", false)).segments).toEqual(["ok"]);
    await expect(resolve("/workspace/bad", false)).rejects.toBeInstanceOf(ValidationError);
  });

  it.each([
    ["an absolute link out", "/"],
    ["a link to a host file", "/etc/passwd"],
    ["a relative link climbing out", "../.."],
    ["a link just above the workspace", ".."],
    ["a link to a sibling of /workspace", "/workspace-other/x"],
  ])("refuses %s", async (_, target) => {
    symlinkSync(target, join(dir, "out"));
    await expect(resolve("/workspace/out")).rejects.toMatchObject({ field: "path" });
    await expect(resolve("/workspace/out/x")).rejects.toBeInstanceOf(ValidationError);
  });

  it("refuses link loops", async () => {
    symlinkSync("loop2", join(dir, "loop1"));
    symlinkSync("loop1", join(dir, "loop2"));
    await expect(resolve("/workspace/loop1/x")).rejects.toThrow(/too many symbolic links/);
  });
});
