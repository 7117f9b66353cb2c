import { describe, expect, it } from "vitest";
import { AioPathMap } from "./aio-paths.js";

describe("AioPathMap", () => {
  const map = new AioPathMap("/workspace");

  it("keeps paths inside the workdir and stores every other absolute path below it", () => {
    expect(map.toBackend("/workspace")).toBe("/workspace");
    expect(map.toBackend("/workspace/a/b.txt")).toBe("/workspace/a/b.txt");
    expect(map.toBackend("/mnt/user-data/a.txt")).toBe("/workspace/mnt/user-data/a.txt");
    expect(map.toBackend("/workspacex/a")).toBe("/workspace/workspacex/a");
    expect(map.toBackend("/")).toBe("/workspace");
  });

  it("resolves relative paths against the workdir and drops . and empty segments", () => {
    expect(map.toBackend("a//./b")).toBe("/workspace/a/b");
    expect(map.normalise("/mnt//x/./y/")).toBe("/mnt/x/y");
  });

  it("refuses .., NUL and empty paths", () => {
    for (const bad of ["/a/../b", "..", "a/..", "/a\0b", ""]) expect(map.toBackend(bad)).toBeUndefined();
  });

  it("maps identically when the workdir is /", () => {
    expect(new AioPathMap("/").toBackend("/mnt/a")).toBe("/mnt/a");
  });
});
