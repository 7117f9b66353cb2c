import { createReadStream } from "node:fs";
import { pipeline, Readable } from "node:stream";
import { createGunzip } from "node:zlib";

const BLOCK = 512;

/** Header fields this reader needs. */
interface Header {
  readonly name: string;
  readonly size: number;
  readonly typeflag: string;
}

/**
 * Streams the content of the regular file `path` from the stored tar.gz at `archive`, reading
 * past every other entry without keeping it. Names are compared after the archive layer's
 * normalisation (empty and `.` segments dropped), PAX `path`/`size` and GNU long names included.
 * Meant for archives that `listArchive` has already checked and found the member in; it fails
 * the stream when the member is not there.
 */
export async function* tarMember(archive: string, path: string, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const source = pipeline(createReadStream(archive, { highWaterMark: 256 * 1024, signal }), createGunzip(), () => undefined);
  const reader = new BlockReader(source);
  try {
    let pax: Record<string, string> = {};
    let longName: string | undefined;
    for (;;) {
      const block = await reader.take(BLOCK);
      if (block === undefined || block.every((byte) => byte === 0)) break;
      const header = parseHeader(block);
      const padded = Math.ceil(header.size / BLOCK) * BLOCK;
      if (header.typeflag === "x" || header.typeflag === "L") {
        const body = await reader.take(padded);
        if (body === undefined) break;
        const text = body.subarray(0, header.size).toString("utf8");
        if (header.typeflag === "L") longName = text.replace(/\0.*$/s, "");
        else pax = parsePax(text);
        continue;
      }
      if (header.typeflag === "K" || header.typeflag === "g") {
        // A long link target, or global PAX records: nothing this reader needs.
        if (!(await reader.skip(padded))) break;
        continue;
      }
      const name = pax.path ?? longName ?? header.name;
      const size = pax.size !== undefined ? Number(pax.size) : header.size;
      const contentBlocks = Math.ceil(size / BLOCK) * BLOCK;
      pax = {};
      longName = undefined;
      if ((header.typeflag === "0" || header.typeflag === "\0" || header.typeflag === "7") && normalise(name) === path) {
        yield* reader.stream(size);
        return;
      }
      if (!(await reader.skip(contentBlocks))) break;
    }
    throw new Error("the member is not in the archive");
  } finally {
    source.destroy();
  }
}

function normalise(name: string): string {
  return name
    .split("/")
    .filter((segment) => segment !== "" && segment !== ".")
    .join("/");
}

function parseHeader(block: Buffer): Header {
  const text = (start: number, length: number): string => block.subarray(start, start + length).toString("utf8").replace(/\0.*$/s, "");
  const name = text(0, 100);
  const prefix = block.subarray(257, 262).toString("latin1") === "ustar" && block[263] === 0x30 ? text(345, 155) : "";
  return { name: prefix === "" ? name : `${prefix}/${name}`, size: parseSize(block.subarray(124, 136)), typeflag: String.fromCharCode(block[156]!) };
}

function parseSize(field: Buffer): number {
  if ((field[0]! & 0x80) !== 0) {
    // base-256
    let value = 0;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!;
    return value;
  }
  const digits = field.toString("latin1").replace(/[\0 ].*$/s, "").trim();
  return digits === "" ? 0 : Number.parseInt(digits, 8);
}

function parsePax(text: string): Record<string, string> {
  const records: Record<string, string> = {};
  let offset = 0;
  const bytes = Buffer.from(text, "utf8");
  while (offset < bytes.length) {
    const space = bytes.indexOf(0x20, offset);
    if (space === -1) break;
    const length = Number(bytes.subarray(offset, space).toString("latin1"));
    if (!Number.isSafeInteger(length) || length <= 0) break;
    const record = bytes.subarray(space + 1, offset + length - 1).toString("utf8");
    const equals = record.indexOf("=");
    if (equals > 0) records[record.slice(0, equals)] = record.slice(equals + 1);
    offset += length;
  }
  return records;
}

/** Exact-size reads over a byte stream. */
class BlockReader {
  readonly #iterator: AsyncIterator<Buffer>;
  #buffer: Buffer = Buffer.alloc(0);
  #done = false;

  constructor(source: Readable) {
    this.#iterator = (source as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  async #fill(bytes: number): Promise<boolean> {
    while (this.#buffer.byteLength < bytes && !this.#done) {
      const next = await this.#iterator.next();
      if (next.done === true) this.#done = true;
      else this.#buffer = this.#buffer.byteLength === 0 ? next.value : Buffer.concat([this.#buffer, next.value]);
    }
    return this.#buffer.byteLength >= bytes;
  }

  /** The next `bytes` bytes, or `undefined` at the end. */
  async take(bytes: number): Promise<Buffer | undefined> {
    if (!(await this.#fill(bytes))) return undefined;
    const out = this.#buffer.subarray(0, bytes);
    this.#buffer = this.#buffer.subarray(bytes);
    return out;
  }

  /** Drops `bytes` bytes; `false` when the stream ended first. */
  async skip(bytes: number): Promise<boolean> {
    let left = bytes;
    while (left > 0) {
      if (this.#buffer.byteLength === 0 && !(await this.#fill(1))) return false;
      const n = Math.min(left, this.#buffer.byteLength);
      this.#buffer = this.#buffer.subarray(n);
      left -= n;
    }
    return true;
  }

  /** The next `bytes` bytes as chunks. */
  async *stream(bytes: number): AsyncGenerator<Uint8Array> {
    let left = bytes;
    while (left > 0) {
      if (this.#buffer.byteLength === 0 && !(await this.#fill(1))) throw new Error("the archive ended inside a member");
      const n = Math.min(left, this.#buffer.byteLength);
      yield this.#buffer.subarray(0, n);
      this.#buffer = this.#buffer.subarray(n);
      left -= n;
    }
  }
}
