import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { endOfArchive, gnuLongName, paxHeader, tarEntry } from "@sandkit/testkit/fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tarMember } from "./tar-member.js";
import { tarGz } from "./test-support/harness.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sandkit-sandbox-api-member-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function read(archive: Uint8Array, path: string): Promise<string> {
  const file = join(dir, `a${Math.random().toString(36).slice(2)}.tgz`);
  await writeFile(file, archive);
  const chunks: Buffer[] = [];
  for await (const chunk of tarMember(file, path)) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString("utf8");
}

describe("tarMember", () => {
  it("finds members of a packed archive, big and small, past others", async () => {
    const big = "x".repeat(700_000);
    const archive = await tarGz({ "a.txt": "a", "dir/big.bin": big, "dir/z.txt": "z\n", [`${"d".repeat(120)}/long.txt`]: "long" });
    expect(await read(archive, "dir/z.txt")).toBe("z\n");
    expect(await read(archive, "dir/big.bin")).toBe(big);
    expect(await read(archive, `${"d".repeat(120)}/long.txt`)).toBe("long");
  });

  it("reads PAX paths, GNU long names and ./ prefixes the way the archive layer names them", async () => {
    const archive = gzipSync(
      Buffer.concat([
        tarEntry({ name: "./", typeflag: "5" }),
        paxHeader({ path: "pax/named.txt" }),
        tarEntry({ name: "ignored", typeflag: "0" }, "pax"),
        gnuLongName(`gnu/${"g".repeat(150)}.txt`),
        tarEntry({ name: "short", typeflag: "0" }, "gnu"),
        tarEntry({ name: "./dot/f.txt", typeflag: "0" }, "dot"),
        endOfArchive(),
      ]),
    );
    expect(await read(archive, "pax/named.txt")).toBe("pax");
    expect(await read(archive, `gnu/${"g".repeat(150)}.txt`)).toBe("gnu");
    expect(await read(archive, "dot/f.txt")).toBe("dot");
    await expect(read(archive, "ignored")).rejects.toThrow("the member is not in the archive");
  });
});
