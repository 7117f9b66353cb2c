import { createWriteStream, type WriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { finished } from "node:stream/promises";
import { bodyChunks, declaredLength } from "@sandkit/core/server-kit";
import { HttpError } from "./http-io.js";

/** Limits applied while an execute body is read. */
export interface FormLimits {
  /** Largest whole body. Past it: `413`, and the connection is closed. */
  readonly maxBodyBytes: number;
  /** Largest text fields together (a urlencoded body as a whole). Past it: `400`, like Django. */
  readonly maxFieldBytes: number;
}

/** What an execute body held. */
export interface ExecuteForm {
  /** The `config` text field (the last one when repeated), when there was one. */
  readonly config: string | undefined;
  /**
   * The `environment` file part (the last one when repeated, with a non-empty filename, as Django
   * requires), written to `archivePath`. Its filename is never used.
   */
  readonly archive: boolean;
}

/** Largest header block of one multipart part. */
const MAX_PART_HEADER_BYTES = 16 * 1024;
const CRLF = Buffer.from("\r\n");
const HEADER_END = Buffer.from("\r\n\r\n");

/** The body was larger than `maxBodyBytes`. */
function bodyTooLarge(max: number): HttpError {
  return new HttpError(413, `Request body exceeds ${max} bytes`, { closeConnection: true });
}

function malformed(what: string): HttpError {
  return new HttpError(400, `Malformed multipart body: ${what}`);
}

function fieldsTooLarge(): HttpError {
  return new HttpError(400, "Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.");
}

/**
 * Reads an execute body: `application/x-www-form-urlencoded` or `multipart/form-data` (parsed
 * here, streaming, with the archive written straight to `archivePath`). Any other content type
 * has no form fields (so `config` is missing) and is not read.
 */
export async function readExecuteForm(req: IncomingMessage, archivePath: string, limits: FormLimits): Promise<ExecuteForm> {
  const declared = declaredLength(req);
  if (declared !== undefined && declared > limits.maxBodyBytes) throw bodyTooLarge(limits.maxBodyBytes);
  const type = req.headers["content-type"] ?? "";
  const [mediaType = "", ...params] = type.split(";");
  switch (mediaType.trim().toLowerCase()) {
    case "application/x-www-form-urlencoded":
      return { config: await readUrlencoded(req, limits), archive: false };
    case "multipart/form-data": {
      const boundary = parameter(params.join(";"), "boundary");
      if (boundary === undefined || boundary.length === 0 || boundary.length > 200) throw malformed("no boundary");
      return await readMultipart(req, boundary, archivePath, limits);
    }
    default:
      return { config: undefined, archive: false };
  }
}

async function readUrlencoded(req: IncomingMessage, limits: FormLimits): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of bodyChunks(req)) {
    total += chunk.byteLength;
    if (total > limits.maxBodyBytes) throw bodyTooLarge(limits.maxBodyBytes);
    if (total > limits.maxFieldBytes) throw fieldsTooLarge();
    chunks.push(chunk);
  }
  const values = new URLSearchParams(Buffer.concat(chunks, total).toString("utf8")).getAll("config");
  return values.at(-1);
}

/** One part being read: a text field kept in memory, a file written to disk, or something dropped. */
type PartSink =
  | { readonly kind: "field"; readonly name: string; readonly chunks: Buffer[] }
  | { readonly kind: "file"; readonly out: WriteStream }
  | { readonly kind: "skip" };

async function readMultipart(req: IncomingMessage, boundary: string, archivePath: string, limits: FormLimits): Promise<ExecuteForm> {
  // The body is read as if it started with CRLF, so the first delimiter looks like every other one.
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  let buffer: Buffer = Buffer.from(CRLF);
  let state: "preamble" | "after-delimiter" | "headers" | "body" | "end" = "preamble";
  let sink: PartSink = { kind: "skip" };
  let total = 0;
  let fieldBytes = 0;
  let config: string | undefined;
  let archive = false;
  let open: WriteStream | undefined;

  const write = async (data: Buffer): Promise<void> => {
    if (data.byteLength === 0) return;
    if (sink.kind === "field") {
      fieldBytes += data.byteLength;
      if (fieldBytes > limits.maxFieldBytes) throw fieldsTooLarge();
      sink.chunks.push(data);
    } else if (sink.kind === "file") {
      if (!sink.out.write(data)) await waitDrain(sink.out);
    }
  };
  const endPart = async (): Promise<void> => {
    if (sink.kind === "field" && sink.name === "config") config = Buffer.concat(sink.chunks).toString("utf8");
    if (sink.kind === "file") {
      sink.out.end();
      await finished(sink.out);
      open = undefined;
      archive = true;
    }
    sink = { kind: "skip" };
  };

  try {
    for await (const chunk of bodyChunks(req)) {
      total += chunk.byteLength;
      if (total > limits.maxBodyBytes) throw bodyTooLarge(limits.maxBodyBytes);
      if (state === "end") continue; // the epilogue is ignored
      buffer = buffer.byteLength === 0 ? chunk : Buffer.concat([buffer, chunk]);
      for (;;) {
        if (state === "preamble") {
          const at = buffer.indexOf(delimiter);
          if (at === -1) {
            buffer = buffer.subarray(Math.max(0, buffer.byteLength - delimiter.byteLength + 1));
            break;
          }
          buffer = buffer.subarray(at + delimiter.byteLength);
          state = "after-delimiter";
        } else if (state === "after-delimiter") {
          // Transport padding (spaces, tabs) may follow a delimiter before its CRLF.
          const eol = buffer.indexOf(CRLF);
          const head = buffer.subarray(0, eol === -1 ? buffer.byteLength : eol).toString("latin1");
          if (head.startsWith("--")) {
            state = "end";
            buffer = Buffer.alloc(0);
            break;
          }
          if (eol === -1) {
            if (buffer.byteLength > 256) throw malformed("bad delimiter line");
            break;
          }
          if (!/^[ \t]*$/.test(head)) throw malformed("bad delimiter line");
          buffer = buffer.subarray(eol + 2);
          state = "headers";
        } else if (state === "headers") {
          if (buffer.byteLength < 2) break;
          // A part with no headers at all starts with the blank line right away.
          if (buffer[0] === 0x0d && buffer[1] === 0x0a) {
            buffer = buffer.subarray(2);
            sink = { kind: "skip" };
            state = "body";
            continue;
          }
          const at = buffer.indexOf(HEADER_END);
          if (at === -1) {
            if (buffer.byteLength > MAX_PART_HEADER_BYTES) throw malformed("part headers too large");
            break;
          }
          if (at > MAX_PART_HEADER_BYTES) throw malformed("part headers too large");
          const disposition = contentDisposition(buffer.subarray(0, at).toString("utf8"));
          buffer = buffer.subarray(at + HEADER_END.byteLength);
          sink = await sinkFor(disposition, archivePath);
          if (sink.kind === "file") open = sink.out;
          state = "body";
        } else if (state === "body") {
          const at = buffer.indexOf(delimiter);
          if (at === -1) {
            const keep = delimiter.byteLength - 1;
            if (buffer.byteLength > keep) {
              await write(buffer.subarray(0, buffer.byteLength - keep));
              buffer = buffer.subarray(buffer.byteLength - keep);
            }
            break;
          }
          await write(buffer.subarray(0, at));
          await endPart();
          buffer = buffer.subarray(at + delimiter.byteLength);
          state = "after-delimiter";
        } else {
          break;
        }
      }
    }
    if (state !== "end") throw malformed("the body ended before the closing boundary");
  } catch (error) {
    if (open !== undefined) {
      open.destroy();
      await rm(archivePath, { force: true });
    }
    throw error;
  }
  return { config, archive };
}

async function sinkFor(disposition: { readonly name?: string; readonly filename?: string } | undefined, archivePath: string): Promise<PartSink> {
  if (disposition?.name === undefined) return { kind: "skip" };
  const { name, filename } = disposition;
  if (filename !== undefined && filename.length > 0) {
    // Django files a part with a non-empty filename under FILES: only `environment` is read.
    if (name !== "environment") return { kind: "skip" };
    const out = createWriteStream(archivePath, { flags: "w", mode: 0o600 });
    await new Promise<void>((resolve, reject) => {
      out.once("open", () => resolve());
      out.once("error", reject);
    });
    return { kind: "file", out };
  }
  return name === "config" ? { kind: "field", name, chunks: [] } : { kind: "skip" };
}

/** The `name` and `filename` of a part's `Content-Disposition: form-data` header. */
function contentDisposition(headerBlock: string): { name?: string; filename?: string } | undefined {
  for (const line of headerBlock.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon === -1 || line.slice(0, colon).trim().toLowerCase() !== "content-disposition") continue;
    const value = line.slice(colon + 1);
    const [kind = "", ...rest] = value.split(";");
    if (kind.trim().toLowerCase() !== "form-data") return undefined;
    const params = rest.join(";");
    const name = parameter(params, "name");
    const filename = parameter(params, "filename*") ?? parameter(params, "filename");
    return { ...(name === undefined ? {} : { name }), ...(filename === undefined ? {} : { filename }) };
  }
  return undefined;
}

/** A parameter of a header value (`; key=value` or `; key="quoted"`), unquoted. */
function parameter(params: string, key: string): string | undefined {
  const pattern = /;?\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/gy;
  let match: RegExpExecArray | null;
  const text = params.startsWith(";") ? params : `;${params}`;
  pattern.lastIndex = 0;
  while ((match = pattern.exec(text)) !== null) {
    if (match[1]!.toLowerCase() !== key) continue;
    const raw = match[2]!.trim();
    if (raw.startsWith('"')) return raw.slice(1, -1).replace(/\\(.)/g, "$1");
    if (key.endsWith("*")) {
      // RFC 5987: charset'language'percent-encoded
      const quote = raw.indexOf("'", raw.indexOf("'") + 1);
      try {
        return decodeURIComponent(raw.slice(quote + 1));
      } catch {
        return raw;
      }
    }
    return raw;
  }
  return undefined;
}

function waitDrain(out: WriteStream): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onDrain = (): void => {
      out.off("error", onError);
      resolve();
    };
    const onError = (error: Error): void => {
      out.off("drain", onDrain);
      reject(error);
    };
    out.once("drain", onDrain);
    out.once("error", onError);
  });
}
