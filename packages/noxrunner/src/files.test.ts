/**
 * The file operations of a NoxRunner sandbox over loopback, with a transparent fault proxy that
 * counts the requests each one makes, and fakes the reference server v0's command answers (exit
 * code -1, no output) where a test needs them.
 */
import { randomBytes } from "node:crypto";
import { createSandbox, FileNotFoundError, type Sandbox, ValidationError } from "@sandkit/core";
import { createFaultProxy, type FaultProxy } from "@sandkit/testkit/fault-proxy";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type NoxRunnerBackend, noxrunner } from "./index.ts";
import { parseListing } from "./files.ts";
import { type Harness, bubblewrapWorks, startHarness } from "./server/test-support/harness.ts";

const bubblewrap = await bubblewrapWorks();
const V0_EXEC_ANSWER = JSON.stringify({ exitCode: -1, stdout: "", stderr: "", durationMs: 3 });

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe.skipIf(!bubblewrap)("files over loopback", () => {
  let h: Harness;
  let proxy: FaultProxy;
  let backend: NoxRunnerBackend;
  let sbx: Sandbox;
  let seen = 0;
  /** The requests since the last `forget()`, as `METHOD /sub-path`. */
  const requests = (): string[] => proxy.log.slice(seen).map((entry) => `${entry.method} ${entry.path.replace(`/v1/sandboxes/${sbx.id}`, "")}`);
  const forget = (): void => {
    seen = proxy.log.length;
  };

  beforeAll(async () => {
    h = await startHarness({}, "bubblewrap");
  });
  afterAll(async () => {
    await h?.close();
  });
  beforeEach(async () => {
    proxy = await createFaultProxy({ target: h.server.url });
    backend = noxrunner({ url: proxy.url });
    sbx = await createSandbox({ backend });
    forget();
  });
  afterEach(async () => {
    proxy.setRules([]);
    await sbx.close();
    await backend.close();
    await proxy.close();
  });

  it("write is one upload; a small read is one command", async () => {
    await sbx.files.write("notes/a.txt", "héllo\n");
    expect(requests()).toEqual(["POST /files/upload"]);
    forget();
    expect(await sbx.files.read("notes/a.txt", { encoding: "utf8" })).toBe("héllo\n");
    expect(requests()).toEqual(["POST /exec"]);
  });

  it("a large read is staged and downloaded, and the staging directory is gone afterwards", async () => {
    const big = randomBytes(600 * 1024);
    await sbx.files.write("big.bin", big);
    forget();
    const back = await sbx.files.read("big.bin");
    expect(Buffer.from(back).equals(Buffer.from(big))).toBe(true);
    expect(requests()).toEqual(["POST /exec", "GET /files/download", "POST /exec"]);
    expect((await sbx.files.list()).map((entry) => entry.name).sort()).toEqual(["big.bin"]);
  });

  it("a read past maxBytes is refused before anything is moved", async () => {
    await sbx.files.write("big.bin", new Uint8Array(300 * 1024));
    forget();
    expect(await caught(sbx.files.read("big.bin", { maxBytes: 1000 }))).toMatchObject({ name: "ValidationError", field: "maxBytes" });
    expect(requests()).toEqual(["POST /exec"]);
  });

  it("against v0's exec answers (exit -1, no output), read falls back to staging and still returns the file", async () => {
    await sbx.files.write("v0.txt", "read the slow, sure way\n");
    forget();
    // Only the first command (the read) gets v0's answer; the staging command really runs.
    proxy.setRules([{ method: "POST", path: `/v1/sandboxes/${sbx.id}/exec`, on: [1], fault: { kind: "status", status: 200, body: V0_EXEC_ANSWER } }]);
    expect(await sbx.files.read("v0.txt", { encoding: "utf8" })).toBe("read the slow, sure way\n");
    expect(requests()).toEqual(["POST /exec", "POST /exec", "GET /files/download", "POST /exec"]);
  });

  it("against v0's exec answers, a missing file is still FileNotFoundError (the download tells)", async () => {
    proxy.setRules([{ method: "POST", path: `/v1/sandboxes/${sbx.id}/exec`, times: 2, fault: { kind: "status", status: 200, body: V0_EXEC_ANSWER } }]);
    const error = await caught(sbx.files.read("missing.txt"));
    expect(error).toBeInstanceOf(FileNotFoundError);
    expect(error).toMatchObject({ path: "/workspace/missing.txt" });
  });

  it("types what goes wrong: a directory read, a file listed, a non-empty directory removed without recursive", async () => {
    await sbx.files.write("d/f.txt", "x");
    expect(await caught(sbx.files.read("d"))).toMatchObject({ name: "ValidationError", field: "path" });
    expect(await caught(sbx.files.list("d/f.txt"))).toBeInstanceOf(ValidationError);
    expect(await caught(sbx.files.remove("d"))).toBeInstanceOf(ValidationError);
    expect(await caught(sbx.files.mkdir("d/f.txt"))).toBeInstanceOf(ValidationError);
    expect(await caught(sbx.files.list("nope"))).toBeInstanceOf(FileNotFoundError);
    await sbx.files.remove("d", { recursive: true });
    await sbx.files.remove("d", { recursive: true });
    expect(await sbx.files.exists("d")).toBe(false);
  });

  it("write keeps the mode, replaces content, and takes a stream of unknown length", async () => {
    await sbx.files.write("run.sh", "#!/bin/sh\necho ran\n", { mode: 0o755 });
    expect((await sbx.exec(["./run.sh"])).stdout).toBe("ran\n");
    const stream = (async function* () {
      for (let i = 0; i < 50; i += 1) yield new TextEncoder().encode(`line ${i}\n`);
    })();
    await sbx.files.write("run.sh", stream);
    const text = await sbx.files.read("run.sh", { encoding: "utf8" });
    expect(text.split("\n")[49]).toBe("line 49");
    const [entry] = await sbx.files.list().then((all) => all.filter((e) => e.name === "run.sh"));
    expect(entry).toMatchObject({ type: "file", size: Buffer.byteLength(text) });
  });
});

describe("parseListing", () => {
  const record = (meta: string, name: string): string => `${meta}\0${name}\0`;

  it("reads NUL-separated records, any name included", () => {
    const raw = record("81a4 5 1700000000", "a file") + record("41ed 4096 1700000001", "dir\nwith newline") + record("a1ff 3 1700000002", "-link");
    const entries = parseListing(Buffer.from(raw).toString("base64"), "/workspace");
    expect(entries).toEqual([
      { name: "a file", path: "/workspace/a file", type: "file", size: 5, mode: 0o644, modifiedAt: new Date(1_700_000_000_000) },
      { name: "dir\nwith newline", path: "/workspace/dir\nwith newline", type: "directory", size: 0, mode: 0o755, modifiedAt: new Date(1_700_000_001_000) },
      { name: "-link", path: "/workspace/-link", type: "symlink", size: 0, mode: 0o777, modifiedAt: new Date(1_700_000_002_000) },
    ]);
  });

  it("refuses hostile or broken listings", () => {
    for (const raw of ["not base64!", Buffer.from(record("81a4 5 1", "../x")).toString("base64"), Buffer.from(record("81a4 5 1", "a/b")).toString("base64"), Buffer.from("81a4 5 1\0").toString("base64"), Buffer.from(record("zz 5 1", "a")).toString("base64")]) {
      expect(() => parseListing(raw, "/workspace")).toThrow(/files.list/);
    }
    expect(parseListing("", "/workspace")).toEqual([]);
  });
});
