import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { extractArchive, listArchive, UnsafeArchiveError } from "@sandkit/core";
import { endOfArchive, snapshotTree, tarEntry } from "@sandkit/testkit/fixtures";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, type HarnessBackendOptions, startHarness } from "./test-support/harness.js";

interface ErrorBody {
  error: { code: string; message: string; requestId?: string };
}

function clientArchive(): Buffer {
  const parts = [
    tarEntry({ name: "a.txt", typeflag: "0", mode: 0o644, mtime: 0 }, "héllo"),
    tarEntry({ name: "sub/b.bin", typeflag: "0", mode: 0o644, mtime: 0 }, Uint8Array.of(0, 1)),
  ];
  return gzipSync(Buffer.concat([...parts, endOfArchive()]));
}

const variants: [string, HarnessBackendOptions][] = [
  ["per-file backend (the local backend)", {}],
  ["backend with native archives (plain tar)", { nativeArchives: "plain" }],
  ["backend with native archives (tar.gz)", { nativeArchives: "gzip" }],
];

for (const [label, setup] of variants) {
  describe(`download (§12 rows 21-23), ${label}`, () => {
    let h: Harness;
    let out: string;
    beforeAll(async () => {
      h = await startHarness({}, setup);
      out = await mkdtemp(join(tmpdir(), "sandkit-noxrunner-download-"));
      expect((await h.request("PUT", "/v1/sandboxes/s1", { json: { ttlSeconds: 900 } })).status).toBe(200);
      const up = await h.request("POST", "/v1/sandboxes/s1/files/upload?dest=%2Fworkspace", { body: clientArchive(), headers: { "content-type": "application/x-tar" } });
      expect(up.status, up.text).toBe(200);
    });
    afterAll(async () => {
      await h.close();
      await rm(out, { recursive: true, force: true });
    });

    it("row 21: answers 200 application/x-gzip, attachment files.tar.gz, with a.txt, sub/ and sub/b.bin", async () => {
      const r = await h.request("GET", "/v1/sandboxes/s1/files/download?src=%2Fworkspace");
      expect(r.status).toBe(200);
      expect(r.headers["content-type"]).toBe("application/x-gzip");
      expect(r.headers["content-disposition"]).toBe('attachment; filename="files.tar.gz"');
      expect(r.headers["transfer-encoding"], "streamed, not buffered").toBe("chunked");
      expect([...r.body.subarray(0, 2)], "gzip magic").toEqual([0x1f, 0x8b]);
      const listing = await listArchive(r.body);
      const names = listing.map((entry) => `${entry.path}${entry.type === "directory" ? "/" : ""}`).filter((name) => name !== "/");
      expect(names.sort()).toEqual(["a.txt", "sub/", "sub/b.bin"]);
      const target = join(out, "row21");
      await extractArchive(r.body, target);
      expect(await readFile(join(target, "a.txt"), "utf8")).toBe("héllo");
      expect([...(await readFile(join(target, "sub/b.bin")))]).toEqual([0, 1]);
    });

    it("src defaults to /workspace; a sub-directory gives names relative to it", async () => {
      const all = await h.request("GET", "/v1/sandboxes/s1/files/download");
      expect((await listArchive(all.body)).some((entry) => entry.path === "sub/b.bin")).toBe(true);
      const sub = await h.request("GET", "/v1/sandboxes/s1/files/download?src=%2Fworkspace%2Fsub");
      expect((await listArchive(sub.body)).filter((entry) => entry.path !== "").map((entry) => entry.path)).toEqual(["b.bin"]);
    });

    it("row 22: an empty directory downloads as a valid, empty tar.gz (never an empty body)", async () => {
      await h.request("POST", "/v1/sandboxes/s1/exec", { json: { cmd: ["mkdir", "-p", "empty"], workdir: "/workspace", timeoutSeconds: 30 } });
      const r = await h.request("GET", "/v1/sandboxes/s1/files/download?src=%2Fworkspace%2Fempty");
      expect(r.status).toBe(200);
      expect(r.body.byteLength).toBeGreaterThan(0);
      expect([...r.body.subarray(0, 2)]).toEqual([0x1f, 0x8b]);
      expect((await listArchive(r.body)).filter((entry) => entry.path !== "")).toEqual([]);
    });

    it("row 23: download on an unknown session is 404 POD_NOT_FOUND", async () => {
      const r = await h.request("GET", "/v1/sandboxes/nope/files/download?src=%2Fworkspace", { headers: { "x-request-id": "r23" } });
      expect(r.status).toBe(404);
      expect(r.json()).toEqual({ error: { code: "POD_NOT_FOUND", message: 'sandbox "nope" not found', requestId: "r23" } });
    });

    it("src outside /workspace is 422 INVALID_PATH; a missing src is 404 PATH_NOT_FOUND; a file is 422 INVALID_PATH", async () => {
      const outside = await h.request("GET", "/v1/sandboxes/s1/files/download?src=%2Fetc");
      expect(outside.status).toBe(422);
      expect((outside.json() as ErrorBody).error.code).toBe("INVALID_PATH");
      const missing = await h.request("GET", "/v1/sandboxes/s1/files/download?src=%2Fworkspace%2Fno-such-dir");
      expect(missing.status).toBe(404);
      expect((missing.json() as ErrorBody).error.code).toBe("PATH_NOT_FOUND");
      const file = await h.request("GET", "/v1/sandboxes/s1/files/download?src=%2Fworkspace%2Fa.txt");
      expect(file.status).toBe(422);
      expect((file.json() as ErrorBody).error.code).toBe("INVALID_PATH");
      expect(file.text).not.toContain(h.root);
    });
  });
}

describe("download details (per-file backend)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ maxDownloadFileBytes: 1000 });
    await h.request("PUT", "/v1/sandboxes/s1", { json: { ttlSeconds: 900 } });
  });
  afterAll(async () => {
    await h.close();
  });

  it("symbolic links travel as links (their targets unchanged, escaping ones included: the client decides), with modes and empty directories", async () => {
    const made = await h.request("POST", "/v1/sandboxes/s1/exec", {
      json: {
        cmd: ["sh", "-c", "mkdir -p t/empty t/d && echo hi > t/d/f && chmod 755 t/d/f && ln -s d/f t/inner && mkdir t2 && ln -s /etc/passwd t2/outer"],
        workdir: "/workspace",
        timeoutSeconds: 30,
      },
    });
    expect((made.json() as { exitCode: number }).exitCode).toBe(0);
    const r = await h.request("GET", "/v1/sandboxes/s1/files/download?src=%2Fworkspace%2Ft");
    expect(r.status).toBe(200);
    const listing = await listArchive(r.body);
    const byPath = new Map(listing.map((entry) => [entry.path, entry]));
    expect(byPath.get("empty")?.type).toBe("directory");
    expect(byPath.get("d/f")).toMatchObject({ type: "file", size: 3, mode: 0o755 });
    expect(byPath.get("inner")).toMatchObject({ type: "symlink", linkTarget: "d/f" });
    // A link that leads out is passed on as it is: the client's extractor is the one to refuse it.
    const outer = await h.request("GET", "/v1/sandboxes/s1/files/download?src=%2Fworkspace%2Ft2");
    expect(outer.status).toBe(200);
    const refusal = await listArchive(outer.body).catch((error: unknown) => error);
    expect(UnsafeArchiveError.isInstance(refusal)).toBe(true);
    expect((refusal as UnsafeArchiveError).reason).toBe("link-escape");
  }, 20_000);

  it("a file larger than maxDownloadFileBytes cuts the stream: the client sees an incomplete body, not a short valid archive", async () => {
    await h.request("POST", "/v1/sandboxes/s1/exec", {
      json: { cmd: ["sh", "-c", "mkdir -p big && head -c 5000 /dev/zero > big/z.bin && echo small > big/a.txt"], workdir: "/workspace", timeoutSeconds: 30 },
    });
    const response = await request(`${h.server.url}/v1/sandboxes/s1/files/download?src=%2Fworkspace%2Fbig`);
    expect(response.statusCode).toBe(200);
    const outcome = await response.body.arrayBuffer().then(
      async (bytes) => listArchive(new Uint8Array(bytes)).then(() => "valid archive", () => "invalid archive"),
      () => "body failed",
    );
    expect(outcome).not.toBe("valid archive");
  });

  it("a download moves the sandbox's expiry", async () => {
    await using short = await startHarness();
    await short.request("PUT", "/v1/sandboxes/dl", { json: { ttlSeconds: 2 } });
    const dir = short.workspaceOf("dl").split("/").at(-2)!;
    const started = Date.now();
    while (Date.now() - started < 3_500) {
      expect((await short.request("GET", "/v1/sandboxes/dl/files/download")).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    expect(await short.sandboxDirs()).toContain(dir);
  }, 15_000);

  it("with unknownSession auto-create a download of an unknown session makes it and answers an empty archive (v0)", async () => {
    await using auto = await startHarness({ unknownSession: "auto-create" });
    const r = await auto.request("GET", "/v1/sandboxes/fresh/files/download?src=%2Fworkspace");
    expect(r.status).toBe(200);
    expect((await listArchive(r.body)).filter((entry) => entry.path !== "")).toEqual([]);
    expect(await auto.sandboxDirs()).toHaveLength(1);
  });

  it("round trip: what is uploaded comes back byte for byte", async () => {
    const tree = Buffer.concat([
      tarEntry({ name: "rt/", typeflag: "5" }),
      tarEntry({ name: "rt/bytes.bin", typeflag: "0" }, Buffer.from(Array.from({ length: 256 }, (_, i) => i))),
      tarEntry({ name: "rt/deep/er/x.txt", typeflag: "0", mode: 0o600 }, "x\n"),
      endOfArchive(),
    ]);
    expect((await h.request("POST", "/v1/sandboxes/s1/files/upload?dest=%2Fworkspace", { body: tree })).status).toBe(200);
    const r = await h.request("GET", "/v1/sandboxes/s1/files/download?src=%2Fworkspace%2Frt");
    const target = await mkdtemp(join(tmpdir(), "sandkit-noxrunner-rt-"));
    try {
      await extractArchive(r.body, target);
      expect(await snapshotTree(target)).toEqual(await snapshotTree(join(h.workspaceOf("s1"), "rt")));
    } finally {
      await rm(target, { recursive: true, force: true });
    }
  });
});
