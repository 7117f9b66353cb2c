import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { ARCHIVE_FIXTURES, checkAcceptedFixture, endOfArchive, snapshotTree, tarEntry } from "@sandkit/testkit/fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "./test-support/harness.js";

interface ErrorBody {
  error: { code: string; message: string; requestId?: string; details?: { reason?: string; entry?: string } };
}

/** The archive the upstream Python client builds for {"a.txt": "héllo", "sub/b.bin": b"\x00\x01"}: gzip, regular files only, mode 0644, mtime 0. */
function clientArchive(files: Record<string, string | Uint8Array> = { "a.txt": "héllo", "sub/b.bin": Uint8Array.of(0, 1) }): Buffer {
  const parts = Object.entries(files).map(([name, content]) => tarEntry({ name, typeflag: "0", mode: 0o644, mtime: 0 }, content));
  return gzipSync(Buffer.concat([...parts, endOfArchive()]));
}

const X_TAR = { "content-type": "application/x-tar" };

describe("upload (§12 rows 18-20)", () => {
  let h: Harness;
  const upload = (session: string, query: string, body: Uint8Array | Readable | string, headers: Record<string, string> = X_TAR) =>
    h.request("POST", `/v1/sandboxes/${session}/files/upload${query}`, { body: body as Uint8Array, headers });
  const exec = async (session: string, cmd: string[]) =>
    (await h.request("POST", `/v1/sandboxes/${session}/exec`, { json: { cmd, workdir: "/workspace", timeoutSeconds: 30 } })).json() as {
      exitCode: number;
      stdout: string;
    };

  beforeAll(async () => {
    h = await startHarness({ maxUploadBytes: 64 * 1024 });
    expect((await h.request("PUT", "/v1/sandboxes/s1", { json: { ttlSeconds: 900 } })).status).toBe(200);
  });
  afterAll(async () => {
    await h.close();
  });

  it("row 18: a tar.gz of a.txt and sub/b.bin (no directory entries) is unpacked under dest; 200 with an empty body", async () => {
    const r = await upload("s1", "?dest=%2Fworkspace", clientArchive());
    expect(r.status).toBe(200);
    expect(r.body.byteLength).toBe(0);
    const workspace = h.workspaceOf("s1");
    expect(await readFile(join(workspace, "a.txt"), "utf8")).toBe("héllo");
    expect([...(await readFile(join(workspace, "sub/b.bin")))]).toEqual([0, 1]);
    const cat = await exec("s1", ["cat", "sub/b.bin"]);
    expect(cat).toMatchObject({ exitCode: 0, stdout: "\u0000\u0001" });
    expect(await readdir(h.stagingDir), "the staging dir is cleaned up").toEqual([]);
  });

  it("dest defaults to /workspace, is created when missing, and form-encoded dest values are decoded", async () => {
    expect((await upload("s1", "", clientArchive({ "top.txt": "t" }))).status).toBe(200);
    expect((await upload("s1", "?dest=%2Fworkspace%2Fmy+dir%2Fdeeper", clientArchive({ "x.txt": "x" }))).status).toBe(200);
    const workspace = h.workspaceOf("s1");
    expect(await readFile(join(workspace, "top.txt"), "utf8")).toBe("t");
    expect(await readFile(join(workspace, "my dir/deeper/x.txt"), "utf8")).toBe("x");
  });

  it("a plain (uncompressed) tar is accepted too, whatever the Content-Type", async () => {
    const plain = Buffer.concat([tarEntry({ name: "plain.txt", typeflag: "0" }, "plain\n"), endOfArchive()]);
    expect((await upload("s1", "?dest=%2Fworkspace", plain, { "content-type": "application/octet-stream" })).status).toBe(200);
    expect(await readFile(join(h.workspaceOf("s1"), "plain.txt"), "utf8")).toBe("plain\n");
  });

  it("an upload replaces files with the same name and keeps the others", async () => {
    expect((await upload("s1", "?dest=%2Fworkspace%2Frepl", clientArchive({ "f.txt": "one", "keep.txt": "k" }))).status).toBe(200);
    expect((await upload("s1", "?dest=%2Fworkspace%2Frepl", clientArchive({ "f.txt": "two" }))).status).toBe(200);
    const dir = join(h.workspaceOf("s1"), "repl");
    expect(await readFile(join(dir, "f.txt"), "utf8")).toBe("two");
    expect(await readFile(join(dir, "keep.txt"), "utf8")).toBe("k");
  });

  it("row 19: a member named ../x is 422 UPLOAD_VALIDATION_FAILED and nothing is written", async () => {
    const before = await snapshotTree(h.workspaceOf("s1"));
    const parent = await snapshotTree(join(h.workspaceOf("s1"), ".."));
    const r = await upload("s1", "?dest=%2Fworkspace%2Fsub", clientArchive({ "ok.txt": "fine", "../x": "escape" }), { ...X_TAR, "x-request-id": "r19" });
    expect(r.status).toBe(422);
    const body = r.json() as ErrorBody;
    expect(body.error).toMatchObject({ code: "UPLOAD_VALIDATION_FAILED", requestId: "r19", details: { reason: "path-traversal", entry: "../x" } });
    expect(await snapshotTree(h.workspaceOf("s1"))).toEqual(before);
    expect(await snapshotTree(join(h.workspaceOf("s1"), ".."))).toEqual(parent);
    expect(await readdir(h.stagingDir)).toEqual([]);
  });

  it("row 20: dest outside /workspace is 422 INVALID_PATH", async () => {
    for (const dest of ["%2Fetc", "relative", "%2Fworkspace%2F..%2Fetc", "%2Fworkspace2"]) {
      const r = await upload("s1", `?dest=${dest}`, clientArchive());
      expect(r.status, dest).toBe(422);
      expect((r.json() as ErrorBody).error.code, dest).toBe("INVALID_PATH");
    }
  });

  it("row 20: a Content-Length over maxUploadBytes is 413 UPLOAD_TOO_LARGE", async () => {
    const big = Buffer.alloc(65 * 1024, 1);
    const r = await upload("s1", "?dest=%2Fworkspace", big);
    expect(r.status).toBe(413);
    expect((r.json() as ErrorBody).error.code).toBe("UPLOAD_TOO_LARGE");
  });

  it("row 20: a chunked body is counted as it arrives: past maxUploadBytes it is 413 too, and nothing is written", async () => {
    const before = await snapshotTree(h.workspaceOf("s1"));
    // A valid start (a 100 KiB file entry) sent without Content-Length.
    const content = Buffer.alloc(100 * 1024, 0x61);
    const tar = Buffer.concat([tarEntry({ name: "big.bin", typeflag: "0" }, content), endOfArchive()]);
    const chunks = function* (): Generator<Buffer> {
      for (let offset = 0; offset < tar.byteLength; offset += 8192) yield tar.subarray(offset, offset + 8192);
    };
    const r = await upload("s1", "?dest=%2Fworkspace", Readable.from(chunks()));
    expect(r.status).toBe(413);
    expect((r.json() as ErrorBody).error.code).toBe("UPLOAD_TOO_LARGE");
    expect(await snapshotTree(h.workspaceOf("s1"))).toEqual(before);
  });

  it("the checks run in the reference order: dest (422) before the session (404) before the size (413)", async () => {
    const big = Buffer.alloc(65 * 1024, 1);
    expect((await upload("nope", "?dest=%2Fetc", big)).status).toBe(422);
    expect((await upload("nope", "?dest=%2Fworkspace", big)).status).toBe(404);
  });

  it("an empty body or bytes that are not an archive are 422 (corrupt)", async () => {
    for (const body of ["", "this is not a tar archive at all", Buffer.from([0x1f, 0x8b, 0, 0])]) {
      const r = await upload("s1", "?dest=%2Fworkspace", body);
      expect(r.status).toBe(422);
      expect((r.json() as ErrorBody).error).toMatchObject({ code: "UPLOAD_VALIDATION_FAILED", details: { reason: "corrupt" } });
    }
  });

  it("upload on an unknown session is 404 POD_NOT_FOUND", async () => {
    const r = await upload("nope", "?dest=%2Fworkspace", clientArchive());
    expect(r.status).toBe(404);
    expect((r.json() as ErrorBody).error.code).toBe("POD_NOT_FOUND");
  });

  it("a dest that exists as a file fails the extraction with 500 UPLOAD_EXEC_FAILED, naming no host path", async () => {
    expect((await upload("s1", "?dest=%2Fworkspace", clientArchive({ "plainfile": "x" }))).status).toBe(200);
    const r = await upload("s1", "?dest=%2Fworkspace%2Fplainfile", clientArchive());
    expect(r.status).toBe(500);
    expect((r.json() as ErrorBody).error.code).toBe("UPLOAD_EXEC_FAILED");
    expect(r.text).not.toContain(h.root);
  });

  it("a client that goes away mid-body leaves nothing behind: no file, no staging dir, the server still answers", async () => {
    const before = await snapshotTree(h.workspaceOf("s1"));
    const socket = connect(h.server.port, "127.0.0.1");
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    const partial = tarEntry({ name: "half.bin", typeflag: "0" }, Buffer.alloc(20_000, 0x62)).subarray(0, 4096);
    socket.write(
      "POST /v1/sandboxes/s1/files/upload?dest=%2Fworkspace HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
        `${partial.byteLength.toString(16)}\r\n`,
    );
    socket.write(partial);
    socket.write("\r\n");
    // Wait until the server has staged the upload, then vanish.
    const deadline = Date.now() + 5_000;
    while ((await readdir(h.stagingDir)).length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect((await readdir(h.stagingDir)).length, "the upload was being staged").toBe(1);
    socket.destroy();
    const gone = Date.now() + 5_000;
    while ((await readdir(h.stagingDir)).length > 0 && Date.now() < gone) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await readdir(h.stagingDir)).toEqual([]);
    expect(await snapshotTree(h.workspaceOf("s1"))).toEqual(before);
    expect((await h.request("POST", "/v1/sandboxes/s1/touch")).status).toBe(200);
  });

  it("with unknownSession auto-create an upload makes the sandbox (v0)", async () => {
    await using auto = await startHarness({ unknownSession: "auto-create" });
    const r = await auto.request("POST", "/v1/sandboxes/fresh/files/upload?dest=%2Fworkspace", { body: clientArchive(), headers: X_TAR });
    expect(r.status).toBe(200);
    expect(await readFile(join(auto.workspaceOf("fresh"), "a.txt"), "utf8")).toBe("héllo");
  });
});

describe("hostile upload archives (testkit fixtures)", () => {
  let h: Harness;
  let outside: string;
  beforeAll(async () => {
    h = await startHarness({ maxUploadExtractedBytes: 64 * 1024 * 1024, maxUploadEntries: 5_000 });
    outside = await mkdtemp(join(tmpdir(), "sandkit-noxrunner-outside-"));
    await writeFile(join(outside, "target"), "outside\n");
  });
  afterAll(async () => {
    await h.close();
    await rm(outside, { recursive: true, force: true });
  });

  const rejected = ARCHIVE_FIXTURES.filter((fixture) => fixture.expect === "reject");
  for (const fixture of rejected) {
    it(`${fixture.name}: 422 UPLOAD_VALIDATION_FAILED (${fixture.reason}), nothing written in the workspace or outside`, async () => {
      const session = `f-${fixture.name}`;
      expect((await h.request("PUT", `/v1/sandboxes/${session}`, { json: { ttlSeconds: 900 } })).status).toBe(200);
      const workspace = h.workspaceOf(session);
      const rootBefore = await snapshotTree(h.root);
      const outsideBefore = await snapshotTree(outside);
      const body = await fixture.build({ outsideDir: outside });
      const r = await h.request("POST", `/v1/sandboxes/${session}/files/upload?dest=%2Fworkspace%2Fdest`, { body: body as Uint8Array, headers: X_TAR });
      expect(r.status).toBe(422);
      const error = (r.json() as ErrorBody).error;
      expect(error.code).toBe("UPLOAD_VALIDATION_FAILED");
      // Hard links are refused as such (like the reference server), whatever they point at.
      const expected = fixture.name.startsWith("hardlink-") ? ["link-escape", "special-file"] : [fixture.reason];
      expect(expected).toContain(error.details?.reason);
      expect(r.text).not.toContain(h.root);
      expect(await snapshotTree(h.root), "nothing changed under the backend root").toEqual(rootBefore);
      expect(await readdir(workspace)).toEqual([]);
      expect(await snapshotTree(outside), "nothing changed outside").toEqual(outsideBefore);
      expect(await readdir(h.stagingDir), "the staging dir is cleaned up").toEqual([]);
      await h.request("DELETE", `/v1/sandboxes/${session}`);
    }, 60_000);
  }

  const accepted = ARCHIVE_FIXTURES.filter((fixture) => fixture.expect === "accept");
  for (const fixture of accepted) {
    const hasHardLink = fixture.name === "links-inside";
    it(`${fixture.name}: ${hasHardLink ? "422 (hard links are refused, like the reference server)" : "accepted and unpacked as promised"}`, async () => {
      const session = `a-${fixture.name}`;
      expect((await h.request("PUT", `/v1/sandboxes/${session}`, { json: { ttlSeconds: 900 } })).status).toBe(200);
      const body = await fixture.build({ outsideDir: outside });
      const r = await h.request("POST", `/v1/sandboxes/${session}/files/upload?dest=%2Fworkspace%2Fdest`, { body: body as Uint8Array, headers: X_TAR });
      if (hasHardLink) {
        expect(r.status).toBe(422);
        expect((r.json() as ErrorBody).error.details?.reason).toBe("special-file");
        expect(await readdir(h.workspaceOf(session))).toEqual([]);
        return;
      }
      expect(r.status, r.text).toBe(200);
      expect(await checkAcceptedFixture(join(h.workspaceOf(session), "dest"), fixture)).toEqual([]);
      await h.request("DELETE", `/v1/sandboxes/${session}`);
    });
  }

  it("a dest that is a sandbox-made link leading out of the workspace writes nothing outside", async () => {
    const session = "link-out";
    await h.request("PUT", `/v1/sandboxes/${session}`, { json: { ttlSeconds: 900 } });
    const made = await h.request("POST", `/v1/sandboxes/${session}/exec`, { json: { cmd: ["ln", "-s", outside, "out"], workdir: "/workspace", timeoutSeconds: 30 } });
    expect((made.json() as { exitCode: number }).exitCode).toBe(0);
    const outsideBefore = await snapshotTree(outside);
    for (const dest of ["%2Fworkspace%2Fout", "%2Fworkspace%2Fout%2Fnew"]) {
      const r = await h.request("POST", `/v1/sandboxes/${session}/files/upload?dest=${dest}`, { body: clientArchive({ target: "overwritten\n", [`${"x"}.txt`]: "x" }), headers: X_TAR });
      expect(r.status, dest).toBeGreaterThanOrEqual(400);
      expect(r.text).not.toContain(outside);
    }
    expect(await snapshotTree(outside), "nothing changed outside").toEqual(outsideBefore);
    // Downloading through the link is refused too: nothing of the outside directory is sent.
    const down = await h.request("GET", `/v1/sandboxes/${session}/files/download?src=%2Fworkspace%2Fout`);
    expect(down.status).toBe(422);
    expect(down.text).not.toContain("outside\n");
  });

  it("symbolic links from an upload are made after every file, so no file is written through one", async () => {
    const session = "link-order";
    await h.request("PUT", `/v1/sandboxes/${session}`, { json: { ttlSeconds: 900 } });
    const tar = Buffer.concat([
      tarEntry({ name: "real/", typeflag: "5" }),
      tarEntry({ name: "real/file.txt", typeflag: "0" }, "data\n"),
      tarEntry({ name: "alias", typeflag: "2", linkname: "real" }),
    ]);
    const r = await h.request("POST", `/v1/sandboxes/${session}/files/upload?dest=%2Fworkspace`, { body: Buffer.concat([tar, endOfArchive()]), headers: X_TAR });
    expect(r.status, r.text).toBe(200);
    const tree = await snapshotTree(h.workspaceOf(session));
    expect(tree.alias).toBe("symlink -> real");
    expect(tree["real/file.txt"]).toMatch(/^file 644 /);
  });
});
