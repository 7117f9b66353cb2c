import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readExecuteForm } from "./form-body.js";
import { HttpError } from "./http-io.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "sandkit-sandbox-api-form-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const limits = { maxBodyBytes: 1 << 20, maxFieldBytes: 1 << 16 };

function requestOf(contentType: string | undefined, body: string | Buffer, chunkSize = 5): IncomingMessage {
  const bytes = Buffer.from(body);
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.byteLength; i += chunkSize) chunks.push(bytes.subarray(i, i + chunkSize));
  const stream = Readable.from(chunks, { objectMode: false }) as Readable & { headers: Record<string, string> };
  stream.headers = contentType === undefined ? {} : { "content-type": contentType };
  return stream as unknown as IncomingMessage;
}

describe("readExecuteForm", () => {
  it("reads urlencoded config (the last one when repeated), with + as space", async () => {
    const form = await readExecuteForm(requestOf("application/x-www-form-urlencoded", "config=1&config=%7B%22a%22%3A+1%7D"), join(dir, "a"), limits);
    expect(form).toEqual({ config: '{"a": 1}', archive: false });
  });

  it("parses multipart with a preamble, a quoted boundary, padding, a headerless part and an RFC 5987 filename", async () => {
    const body =
      "preamble\r\n--b\"x\r\n" +
      "\r\nheaderless part\r\n" +
      "--b\"x  \r\ncontent-disposition: form-data; name=config\r\n\r\n{\"commands\":[1]}\r\n" +
      "--b\"x\r\nContent-Disposition: form-data; name=\"environment\"; filename*=UTF-8''%C3%A9.tgz\r\nContent-Type: application/gzip\r\n\r\nARCHIVE\r\n\r\n" +
      "--b\"x\r\nContent-Disposition: form-data; name=\"config\"\r\n\r\nlast\r\n" +
      "--b\"x--\r\nepilogue";
    const form = await readExecuteForm(requestOf('multipart/form-data; boundary="b\\"x"', body, 3), join(dir, "a"), limits);
    expect(form).toEqual({ config: "last", archive: true });
    expect(await readFile(join(dir, "a"), "utf8")).toBe("ARCHIVE\r\n");
  });

  it("has no config for other content types, or a config sent as a file", async () => {
    expect(await readExecuteForm(requestOf("application/json", '{"commands":["true"]}'), join(dir, "a"), limits)).toEqual({ config: undefined, archive: false });
    expect(await readExecuteForm(requestOf(undefined, "config=x"), join(dir, "a"), limits)).toEqual({ config: undefined, archive: false });
    const asFile = '--b\r\nContent-Disposition: form-data; name="config"; filename="c.json"\r\n\r\n{}\r\n--b--\r\n';
    expect(await readExecuteForm(requestOf("multipart/form-data; boundary=b", asFile), join(dir, "a"), limits)).toEqual({ config: undefined, archive: false });
  });

  it("refuses bodies past the limits and malformed multipart", async () => {
    const expectStatus = async (promise: Promise<unknown>, status: number): Promise<void> => {
      await expect(promise).rejects.toSatisfy((error) => error instanceof HttpError && error.status === status);
    };
    await expectStatus(readExecuteForm(requestOf("application/x-www-form-urlencoded", `config=${"x".repeat(200)}`), join(dir, "a"), { maxBodyBytes: 100, maxFieldBytes: 100 }), 413);
    await expectStatus(readExecuteForm(requestOf("application/x-www-form-urlencoded", `config=${"x".repeat(200)}`), join(dir, "a"), { maxBodyBytes: 1000, maxFieldBytes: 100 }), 400);
    await expectStatus(readExecuteForm(requestOf("multipart/form-data", "--b--"), join(dir, "a"), limits), 400);
    await expectStatus(readExecuteForm(requestOf("multipart/form-data; boundary=b", "--bX\r\n"), join(dir, "a"), limits), 400);
    const unterminated = '--b\r\nContent-Disposition: form-data; name="environment"; filename="e"\r\n\r\npartial';
    await expectStatus(readExecuteForm(requestOf("multipart/form-data; boundary=b", unterminated), join(dir, "a"), limits), 400);
    await expect(readFile(join(dir, "a"))).rejects.toThrow();
  });
});
