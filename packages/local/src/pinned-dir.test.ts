import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDirectory, openDirectoryChain } from "./pinned-dir.js";
import { removeEntry } from "./remove-tree.js";

let dir: string;
let outside: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sandkit-pinned-test-"));
  outside = mkdtempSync(join(tmpdir(), "sandkit-pinned-outside-"));
  writeFileSync(join(outside, "keep.txt"), "keep");
  mkdirSync(join(dir, "a/b"), { recursive: true });
  symlinkSync(outside, join(dir, "a/out"));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

describe("openDirectoryChain", () => {
  it("opens nested directories and creates missing ones", async () => {
    await using made = await openDirectoryChain(dir, ["a", "new", "deeper"], true);
    writeFileSync(made.child("f"), "x");
    expect(readFileSync(join(dir, "a/new/deeper/f"), "utf8")).toBe("x");
  });

  it("never passes through a symbolic link, even when asked to create", async () => {
    await expect(openDirectoryChain(dir, ["a", "out"])).rejects.toMatchObject({ code: expect.stringMatching(/^(ENOTDIR|ELOOP)$/) });
    await expect(openDirectoryChain(dir, ["a", "out", "x"], true)).rejects.toMatchObject({ code: expect.stringMatching(/^(ENOTDIR|ELOOP)$/) });
    expect(readdirSync(outside)).toEqual(["keep.txt"]);
  });

  it("keeps acting in the opened directory after its path is swapped for a link", async () => {
    await using pinned = await openDirectoryChain(dir, ["a", "b"]);
    rmSync(join(dir, "a/b"), { recursive: true });
    symlinkSync(outside, join(dir, "a/b"));
    const write = (): void => writeFileSync(pinned.child("new.txt"), "x");
    if (process.platform === "linux") {
      // The directory was deleted: the write fails rather than landing outside.
      expect(write).toThrow();
    }
    expect(readdirSync(outside)).toEqual(["keep.txt"]);
  });

  it("rejects names that are not one component", async () => {
    await using root = await openDirectory(dir);
    expect(() => root.child("a/b")).toThrow(TypeError);
    expect(() => root.child("..")).toThrow(TypeError);
  });
});

describe("removeEntry", () => {
  it("removes a tree without following links inside it", async () => {
    symlinkSync(join(outside, "keep.txt"), join(dir, "a/b/file-link"));
    await using root = await openDirectory(dir);
    await removeEntry(root, "a");
    expect(readdirSync(dir)).toEqual([]);
    expect(readdirSync(outside)).toEqual(["keep.txt"]);
  });

  it("treats a missing entry as done", async () => {
    await using root = await openDirectory(dir);
    await expect(removeEntry(root, "missing")).resolves.toBeUndefined();
  });
});
