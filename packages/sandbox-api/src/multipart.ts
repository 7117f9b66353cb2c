import { randomBytes } from "node:crypto";

const encoder = new TextEncoder();

/** A streamed `multipart/form-data` body and its content type. */
export interface MultipartBody {
  readonly contentType: string;
  readonly body: AsyncIterable<Uint8Array>;
}

/** Quotes a form-data parameter value (RFC 7578: backslash and quote escaped, line breaks refused by the caller). */
function quoted(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * Builds the execute body: a `config` text part (no filename, so the server reads it as a form
 * field) and an `environment` file part (with a filename, so the server files it as an upload)
 * whose bytes are pulled from `archive` only as the request is written. Nothing is held whole.
 */
export function executeMultipart(configJson: string, archive: Uint8Array | AsyncIterable<Uint8Array>, filename = "environment.tgz"): MultipartBody {
  const boundary = `----sandkit-${randomBytes(18).toString("hex")}`;
  const head = encoder.encode(
    `--${boundary}\r\nContent-Disposition: form-data; name="config"\r\n\r\n${configJson}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="environment"; filename=${quoted(filename)}\r\nContent-Type: application/gzip\r\n\r\n`,
  );
  const tail = encoder.encode(`\r\n--${boundary}--\r\n`);
  async function* body(): AsyncGenerator<Uint8Array> {
    yield head;
    if (archive instanceof Uint8Array) yield archive;
    else for await (const chunk of archive) yield chunk;
    yield tail;
  }
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: body() };
}

/** The execute body without an archive: `config=<json>`, form-urlencoded (what the Python clients send). */
export function executeUrlencoded(configJson: string): { readonly contentType: string; readonly body: string } {
  return { contentType: "application/x-www-form-urlencoded", body: new URLSearchParams({ config: configJson }).toString() };
}
