import { createWriteStream, createReadStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

/** Bytes spooled to a private temporary file, to learn their size before a tar header is written. */
export interface Spooled extends AsyncDisposable {
  readonly size: number;
  /** Opens a stream of the bytes. */
  open(): AsyncIterable<Uint8Array>;
}

/** Writes a stream to a temporary file (never whole in memory); removed on dispose. */
export async function spool(source: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<Spooled> {
  const dir = await mkdtemp(join(tmpdir(), "sandkit-sandbox-api-"));
  const file = join(dir, "spool");
  const dispose = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    await pipeline(Readable.from(source), createWriteStream(file, { mode: 0o600 }), { signal });
    const { size } = await stat(file);
    return { size, open: () => createReadStream(file), [Symbol.asyncDispose]: dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}
