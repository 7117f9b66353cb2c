import { Readable } from "node:stream";
import { gunzipSync, gzipSync } from "node:zlib";
import { FileNotFoundError } from "@sandkit/core";
import { describe, expect, it } from "vitest";
import { ensureGzip, isGzip, openDownload } from "./archive-streams.ts";

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of source) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function* chunks(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield part;
}

describe("ensureGzip", () => {
  it("passes a gzip stream through untouched, even split before its magic number ends", async () => {
    const gz = gzipSync(Buffer.from("tar bytes"));
    const out = await collect(ensureGzip(chunks(gz.subarray(0, 1), gz.subarray(1))));
    expect(out.equals(gz)).toBe(true);
  });

  it("compresses anything else", async () => {
    const plain = Buffer.alloc(4096, 7);
    const out = await collect(ensureGzip(chunks(plain.subarray(0, 100), plain.subarray(100))));
    expect(isGzip(out)).toBe(true);
    expect(gunzipSync(out).equals(plain)).toBe(true);
  });

  it("fails with the source's own error", async () => {
    const boom = new Error("source failed");
    const failing = (async function* () {
      yield Buffer.from("plain");
      throw boom;
    })();
    await expect(collect(ensureGzip(failing))).rejects.toBe(boom);
  });
});

describe("openDownload", () => {
  it("refuses an empty body with FileNotFoundError", async () => {
    await expect(openDownload(Readable.from([]), "/workspace/nope", "s1")).rejects.toBeInstanceOf(FileNotFoundError);
  });

  it("refuses a gzip stream that holds nothing", async () => {
    const error = await openDownload(Readable.from([gzipSync(Buffer.alloc(0))]), "/workspace/nope", "s1").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileNotFoundError);
    expect(error).toMatchObject({ path: "/workspace/nope", operation: "files.download", sandboxId: "s1" });
  });

  it("returns every byte of a real archive, the peeked ones included", async () => {
    const big = Buffer.alloc(300_000, 1);
    const body = Readable.from([big.subarray(0, 10), big.subarray(10, 5000), big.subarray(5000)]);
    const out = await collect(await openDownload(body, "/workspace", "s1"));
    expect(out.equals(big)).toBe(true);
  });

  it("destroys the body when the reader stops early", async () => {
    const body = Readable.from((async function* () {
      for (let i = 0; i < 100; i += 1) yield Buffer.alloc(1024, i);
    })());
    const archive = await openDownload(body, "/workspace", "s1");
    for await (const _chunk of archive) break;
    expect(body.destroyed).toBe(true);
  });
});
