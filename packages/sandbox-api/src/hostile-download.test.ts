/**
 * Downloads are hostile input: an archive a sandbox made (here with `..` names, an absolute name
 * and a link leading out) and downloaded through the client is refused by core's extractor, and
 * nothing lands outside the target directory.
 */
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { extractArchive, packEntries, UnsafeArchiveError } from "@sandkit/core";
import { SandboxApiClient } from "./client.ts";
import { type Harness, startHarness } from "./test-support/harness.ts";

/** One ustar header block, written by hand (core's packer refuses such names, as it should). */
function header(name: string, type: "0" | "2", size: number, linkName = ""): Buffer {
  const block = Buffer.alloc(512);
  block.write(name, 0, 100, "utf8");
  block.write("0000644\0", 100);
  block.write("0000000\0", 108);
  block.write("0000000\0", 116);
  block.write(`${size.toString(8).padStart(11, "0")}\0`, 124);
  block.write("00000000000\0", 136);
  block.write("        ", 148);
  block.write(type, 156);
  block.write(linkName, 157, 100, "utf8");
  block.write("ustar\0", 257);
  block.write("00", 263);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  return block;
}

function hostileTar(entries: readonly { name: string; type: "0" | "2"; content?: string; linkName?: string }[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const content = Buffer.from(entry.content ?? "");
    parts.push(header(entry.name, entry.type, content.length, entry.linkName));
    if (content.length > 0) parts.push(content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(parts));
}

let harness: Harness;
let client: SandboxApiClient;
let scratch: string;

beforeAll(async () => {
  harness = await startHarness();
  client = new SandboxApiClient({ url: harness.server.url });
  scratch = await mkdtemp(join(tmpdir(), "sandkit-sandbox-api-hostile-"));
});

afterAll(async () => {
  await client?.close();
  await harness?.close();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

/** Stores `bytes` as `evil.tgz` in a saved environment, as a sandbox could, and returns its UUID. */
async function storeInEnvironment(bytes: Uint8Array): Promise<string> {
  const archive = packEntries([{ type: "file", path: "evil.tgz", content: bytes }], { gzip: true });
  const r = await client.execute({ commands: ["test -s evil.tgz"], save: true }, { archive });
  expect(r.outcome).toBe("success");
  return r.savedEnvironment!;
}

describe("hostile downloaded archives", () => {
  for (const [title, mustRefuse, entries] of [
    ["a name climbing out with ..", true, [{ name: "../escape.txt", type: "0", content: "x" }]],
    ["an absolute name", true, [{ name: "/tmp/sandkit-absolute-escape.txt", type: "0", content: "x" }]],
    [
      "a link leading out, then a file written through it",
      false,
      [
        { name: "out", type: "2", linkName: "/tmp" },
        { name: "out/sandkit-through-link.txt", type: "0", content: "x" },
      ],
    ],
  ] as const) {
    it(`refuses ${title}, and writes nothing outside the target`, async () => {
      const saved = await storeInEnvironment(hostileTar(entries as never));
      const parent = await mkdtemp(join(scratch, "case-"));
      const target = join(parent, "out-dir");
      await mkdir(target);
      const stream = await client.download(saved, "evil.tgz");
      let refused = false;
      try {
        const result = await extractArchive(stream, target, { symlinks: "skip" });
        // Links skipped rather than refused: then the file behind the link must not have landed outside.
        expect(result.skipped.length).toBeGreaterThan(0);
      } catch (error) {
        expect(error).toBeInstanceOf(UnsafeArchiveError);
        refused = true;
      }
      expect(await readdir(parent)).toEqual(["out-dir"]);
      await expect(readdir("/tmp").then((names) => names.filter((n) => n.startsWith("sandkit-absolute-escape") || n.startsWith("sandkit-through-link")))).resolves.toEqual([]);
      if (mustRefuse) expect(refused, "refused with UnsafeArchiveError").toBe(true);
    });
  }
});
