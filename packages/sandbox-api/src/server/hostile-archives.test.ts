/**
 * Uploaded environments are hostile: every refused fixture of `@sandkit/testkit/fixtures` is a
 * 400 with nothing written in a sandbox, outside, or left in staging; every accepted one runs.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { extractArchive } from "@sandkit/core";
import { ARCHIVE_FIXTURES, checkAcceptedFixture, snapshotTree } from "@sandkit/testkit/fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, memberNames, startHarness } from "./test-support/harness.js";

let h: Harness;
let outside: string;
beforeAll(async () => {
  h = await startHarness();
  outside = await mkdtemp(join(tmpdir(), "sandkit-sandbox-api-outside-"));
  await writeFile(join(outside, "target"), "outside\n");
});
afterAll(async () => {
  await h.close();
  await rm(outside, { recursive: true, force: true });
});

/** A multipart execute body whose `environment` part is streamed from `archive`. */
async function* streamedForm(boundary: string, config: string, archive: Uint8Array | Readable): AsyncGenerator<Uint8Array> {
  yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="config"\r\n\r\n${config}\r\n`);
  yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="environment"; filename="env.tgz"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  if (archive instanceof Uint8Array) yield archive;
  else for await (const chunk of archive) yield chunk as Uint8Array;
  yield Buffer.from(`\r\n--${boundary}--\r\n`);
}

function execute(config: unknown, archive: Uint8Array | Readable) {
  const boundary = "sandkit-boundary-7d1f";
  return h.request("POST", "/execute/", {
    headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
    body: streamedForm(boundary, JSON.stringify(config), archive),
  });
}

describe("hostile uploaded environments", () => {
  for (const fixture of ARCHIVE_FIXTURES.filter((f) => f.expect === "reject")) {
    it(`${fixture.name}: 400, no sandbox made, nothing written outside, staging cleaned`, async () => {
      const rootBefore = await snapshotTree(h.root).catch(() => ({}));
      const outsideBefore = await snapshotTree(outside);
      const response = await execute({ commands: ["touch ran"], save: true }, await fixture.build({ outsideDir: outside }));
      expect(response.status).toBe(400);
      expect(response.text).toMatch(/^Invalid environment archive: /);
      expect(response.text).not.toContain(h.stagingDir);
      expect(await snapshotTree(h.root).catch(() => ({})), "no sandbox was made").toEqual(rootBefore);
      expect(await snapshotTree(outside), "nothing changed outside").toEqual(outsideBefore);
      expect(await h.stagingEntries(), "the staging dir is cleaned up").toEqual([]);
    }, 60_000);
  }

  for (const fixture of ARCHIVE_FIXTURES.filter((f) => f.expect === "accept")) {
    it(`${fixture.name}: accepted, and saved back as promised`, async () => {
      const response = await execute({ commands: ["true"], save: true }, await fixture.build({ outsideDir: outside }));
      expect(response.status, response.text).toBe(200);
      const body = response.json();
      expect(body.status).toBe(0);
      const archive = await h.request("GET", `/environments/${body.environment as string}/`);
      const dir = await mkdtemp(join(tmpdir(), "sandkit-sandbox-api-accepted-"));
      try {
        await extractArchive(archive.body, dir);
        expect(await checkAcceptedFixture(dir, fixture)).toEqual([]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      expect(await h.sandboxDirs()).toEqual([]);
    }, 60_000);
  }

  it("links made by commands: inside ones are saved, ones leading out are left out and never followed", async () => {
    const response = await h.executeForm({ commands: [`ln -s ${join(outside, "target")} out && ln -s ${outside} dirlink && ln -s ../.. up && echo in > f && ln -s f in`], save: true });
    expect(response.status, JSON.stringify(h.logged)).toBe(200);
    const body = response.json();
    expect(body.status, JSON.stringify(h.logged)).toBe(0);
    const archive = await h.request("GET", `/environments/${body.environment as string}/`);
    expect(await memberNames(archive.body)).toEqual(["f", "in"]);
    expect(archive.body.includes(Buffer.from("outside\n"))).toBe(false);
    // And the saved environment can be used as a base again.
    const again = (await h.executeForm({ commands: ["cat in"], environment: body.environment })).json();
    expect((again.execution as { stdout: string }[])[0]!.stdout).toBe("in");
  });
});

describe("archive forms clients send", () => {
  it("a first entry named '/' (Python's tarfile.add('/'), as in upstream's test archives) is the root, accepted", async () => {
    const { gzipSync } = await import("node:zlib");
    const { tarEntry, endOfArchive } = await import("@sandkit/testkit/fixtures");
    const archive = gzipSync(Buffer.concat([tarEntry({ name: "/", typeflag: "5" }), tarEntry({ name: "dir", typeflag: "5" }), tarEntry({ name: "dir/f.txt", typeflag: "0" }, "env1\n"), endOfArchive()]));
    const body = (await execute({ commands: ["cat dir/f.txt"] }, archive)).json();
    expect((body.execution as { stdout: string }[])[0]!.stdout).toBe("env1");
  });

  it("a '/' entry anywhere else is refused", async () => {
    const { gzipSync } = await import("node:zlib");
    const { tarEntry, endOfArchive } = await import("@sandkit/testkit/fixtures");
    const archive = gzipSync(Buffer.concat([tarEntry({ name: "a.txt", typeflag: "0" }, "a"), tarEntry({ name: "/", typeflag: "5" }), endOfArchive()]));
    const response = await execute({ commands: ["true"] }, archive);
    expect(response.status).toBe(400);
    expect(response.text).toBe("Invalid environment archive: an entry has an absolute path");
  });

  it("a plain tar is accepted; corrupt gzip, an empty file and a zip are 400 (upstream: 500)", async () => {
    const { tarEntry, endOfArchive } = await import("@sandkit/testkit/fixtures");
    const plain = Buffer.concat([tarEntry({ name: "p.txt", typeflag: "0" }, "plain"), endOfArchive()]);
    expect(((await execute({ commands: ["cat p.txt"] }, plain)).json().execution as { stdout: string }[])[0]!.stdout).toBe("plain");
    const corrupt = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const zip = Buffer.from("PK\x03\x04 not really a zip, but not a tar either ".repeat(20));
    for (const archive of [corrupt, new Uint8Array(0), zip]) {
      const response = await execute({ commands: ["true"] }, archive);
      expect(response.status, JSON.stringify(h.logged.slice(-1))).toBe(400);
      expect(response.text).toBe("Invalid environment archive: the archive is not a valid tar.gz");
    }
    expect(await h.stagingEntries()).toEqual([]);
  });
});
