/**
 * Keeps the first `limit` bytes of one output stream and counts the rest. The caller keeps
 * draining the stream (so the command never blocks on a full pipe) and learns whether anything
 * was dropped.
 */
export class OutputCapture {
  readonly #limit: number;
  readonly #chunks: Buffer[] = [];
  #kept = 0;
  #truncated = false;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Stores what fits of `chunk` and returns that part (empty once the limit is reached). */
  push(chunk: Buffer): Buffer {
    const room = this.#limit - this.#kept;
    if (chunk.length > room) this.#truncated = true;
    if (room <= 0) return chunk.subarray(0, 0);
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.#chunks.push(kept);
    this.#kept += kept.length;
    return kept;
  }

  /** Whether bytes past the limit were dropped. */
  get truncated(): boolean {
    return this.#truncated;
  }

  /** The kept bytes as UTF-8 text. When truncated, a multi-byte character cut at the limit is dropped rather than mangled. */
  text(): string {
    let bytes = Buffer.concat(this.#chunks, this.#kept);
    if (this.#truncated) bytes = bytes.subarray(0, completeUtf8Length(bytes));
    return bytes.toString("utf8");
  }
}

/** The length of `bytes` without a trailing, incomplete UTF-8 sequence. */
export function completeUtf8Length(bytes: Uint8Array): number {
  const end = bytes.length;
  for (let back = 1; back <= Math.min(3, end); back++) {
    const byte = bytes[end - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: keep looking for the lead
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return needed > back ? end - back : end;
  }
  return end;
}
