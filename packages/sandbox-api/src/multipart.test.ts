import { describe, expect, it } from "vitest";
import { executeMultipart, executeUrlencoded } from "./multipart.ts";

async function collect(body: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks).toString("latin1");
}

describe("execute bodies", () => {
  it("multipart: config without a filename, the archive with one, streamed from the source", async () => {
    let pulled = false;
    async function* archive(): AsyncGenerator<Uint8Array> {
      pulled = true;
      yield new Uint8Array([0x1f, 0x8b, 0x08]);
    }
    const { contentType, body } = executeMultipart('{"commands":["true"]}', archive());
    expect(pulled).toBe(false);
    const boundary = /boundary=(.+)$/.exec(contentType)![1]!;
    const text = await collect(body);
    expect(text).toBe(
      `--${boundary}\r\nContent-Disposition: form-data; name="config"\r\n\r\n{"commands":["true"]}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="environment"; filename="environment.tgz"\r\nContent-Type: application/gzip\r\n\r\n\x1f\x8b\x08\r\n--${boundary}--\r\n`,
    );
  });

  it("quotes the filename and uses a fresh boundary each time", () => {
    const a = executeMultipart("{}", new Uint8Array(), 'a"b.tgz');
    const b = executeMultipart("{}", new Uint8Array());
    expect(a.contentType).not.toBe(b.contentType);
  });

  it("urlencoded: config=<json>", () => {
    expect(executeUrlencoded('{"a":"b c"}')).toEqual({ contentType: "application/x-www-form-urlencoded", body: "config=%7B%22a%22%3A%22b+c%22%7D" });
  });
});
