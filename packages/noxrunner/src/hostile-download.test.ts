/**
 * Downloads are hostile input. A tiny test server that speaks only the routes these tests use
 * (touch, and download answering with a chosen archive) serves the testkit's hostile-archive
 * fixtures to the adapter; each archive goes through the adapter's `downloadArchive` into the
 * core archive layer, as every download and read does. Refused archives must fail with the
 * fixture's `UnsafeArchiveError` reason and leave everything outside the destination as it was;
 * tricky valid ones must extract as promised. Also §12 #22: a plain (uncompressed) tar is
 * accepted, an empty body means the directory does not exist.
 */
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { type CallContextV1, extractArchive, FileNotFoundError, UnsafeArchiveError } from "@sandkit/core";
import { ARCHIVE_FIXTURES, type ArchiveFixture, checkAcceptedFixture, snapshotTree, tarEntry, endOfArchive } from "@sandkit/testkit/fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NoxRunnerBackend, noxrunner } from "./index.ts";

const call = (timeoutMs = 60_000): CallContextV1 => ({ signal: AbortSignal.timeout(timeoutMs), deadline: Date.now() + timeoutMs });

let base: string;
let outside: string;
let server: Server;
let url: string;
let backend: NoxRunnerBackend;
/** What the download route answers, by session id. */
const answers = new Map<string, () => Promise<Readable | Uint8Array>>();

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "sandkit-noxrunner-hostile-"));
  outside = join(base, "outside");
  await mkdir(outside);
  await writeFile(join(outside, "target"), "untouched\n");
  await mkdir(join(base, "work"));
  for (const fixture of ARCHIVE_FIXTURES) {
    answers.set(fixture.name, async () => {
      const built = await fixture.build({ outsideDir: outside });
      return built instanceof Readable ? built : Buffer.from(built);
    });
  }
  answers.set("empty-body", async () => new Uint8Array(0));
  answers.set("plain-tar", async () => Buffer.concat([tarEntry({ name: "./", typeflag: "5" }), tarEntry({ name: "./a.txt", typeflag: "0" }, "plain\n"), endOfArchive()]));
  server = createServer((req, res) => {
    const match = /^\/v1\/sandboxes\/([^/]+)\/(touch|files\/download)(?:\?|$)/.exec(req.url ?? "");
    const answer = match === null ? undefined : answers.get(match[1]!);
    req.resume();
    if (match === null || answer === undefined) {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { code: "POD_NOT_FOUND", message: "no such fixture" } }));
      return;
    }
    if (match[2] === "touch") {
      res.writeHead(200).end();
      return;
    }
    void answer().then((body) => {
      res.writeHead(200, { "content-type": "application/x-gzip", "content-disposition": 'attachment; filename="files.tar.gz"' });
      if (body instanceof Uint8Array) res.end(body);
      else body.pipe(res);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  backend = noxrunner({ url });
});

afterAll(async () => {
  await backend?.close();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await rm(base, { recursive: true, force: true });
});

async function download(id: string, dest: string): Promise<unknown> {
  const connection = await backend.attach(id, call());
  try {
    const archive = await connection.files.downloadArchive!("/workspace", call());
    await extractArchive(archive, dest);
    return undefined;
  } catch (error) {
    return error;
  }
}

describe("hostile download archives", () => {
  const rejected = ARCHIVE_FIXTURES.filter((fixture) => fixture.expect === "reject");
  const accepted = ARCHIVE_FIXTURES.filter((fixture) => fixture.expect === "accept");

  it("covers the whole fixture set", () => {
    expect(rejected.length).toBeGreaterThan(15);
    expect(accepted.length).toBeGreaterThan(2);
  });

  it.each(rejected.map((fixture) => [fixture.name, fixture] as const))("refuses %s, writing nothing outside the destination", async (_name, fixture: ArchiveFixture) => {
    const dest = join(base, "work", fixture.name);
    const before = await snapshotTree(base, { skip: [dest] });
    const error = await download(fixture.name, dest);
    expect(error).toBeInstanceOf(UnsafeArchiveError);
    expect(error).toMatchObject({ reason: fixture.reason });
    expect(await snapshotTree(base, { skip: [dest] })).toEqual(before);
    expect(await readFile(join(outside, "target"), "utf8")).toBe("untouched\n");
  });

  it.each(accepted.map((fixture) => [fixture.name, fixture] as const))("extracts %s as promised", async (_name, fixture: ArchiveFixture) => {
    const dest = join(base, "work", fixture.name);
    const before = await snapshotTree(base, { skip: [dest] });
    expect(await download(fixture.name, dest)).toBeUndefined();
    expect(await checkAcceptedFixture(dest, fixture)).toEqual([]);
    expect(await snapshotTree(base, { skip: [dest] })).toEqual(before);
  });
});

describe("#22 what a download body may be", () => {
  it("a plain (uncompressed) tar is accepted", async () => {
    const dest = join(base, "work", "plain");
    expect(await download("plain-tar", dest)).toBeUndefined();
    expect(await readFile(join(dest, "a.txt"), "utf8")).toBe("plain\n");
  });

  it("an empty body is FileNotFoundError (the server had no directory to pack), and nothing is written", async () => {
    const dest = join(base, "work", "empty");
    const error = await download("empty-body", dest);
    expect(error).toBeInstanceOf(FileNotFoundError);
    expect(error).toMatchObject({ path: "/workspace", sandboxId: "empty-body" });
    await expect(readFile(dest)).rejects.toMatchObject({ code: "ENOENT" });
  });
});
