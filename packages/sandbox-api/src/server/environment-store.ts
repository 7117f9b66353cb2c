import { randomUUID } from "node:crypto";
import { createWriteStream, type Stats } from "node:fs";
import { mkdir, mkdtemp, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { UUID_PATTERN } from "./routes.js";

/** Name of a stored environment file: `<lowercase uuid4>.tgz`. */
const STORED_NAME = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.tgz$/;
/** Prefix of files being written (never served, swept when stale). */
const PARTIAL_PREFIX = ".partial-";

/** A stored environment that exists and has not expired. */
export interface StoredEnvironment {
  readonly uuid: string;
  /** Absolute path of its `.tgz`. */
  readonly path: string;
  readonly size: number;
  /** When it stops being served. */
  readonly expiresAt: Date;
}

/**
 * Saved environments, as `<uuid>.tgz` files in one directory. Names are always made here from
 * a fresh UUID4 (or checked against the lowercase UUID pattern when looked up): nothing a client
 * sends becomes a file name. An environment expires `expiryMs` after it was written (by its
 * modification time); expired ones are not served and are deleted by a periodic sweep.
 */
export class EnvironmentStore {
  readonly #dir: string;
  readonly #expiryMs: number;
  readonly #owned: boolean;
  readonly #timer: NodeJS.Timeout;
  #closed = false;

  private constructor(dir: string, expiryMs: number, owned: boolean) {
    this.#dir = dir;
    this.#expiryMs = expiryMs;
    this.#owned = owned;
    this.#timer = setInterval(() => void this.sweep().catch(() => undefined), Math.min(Math.max(Math.floor(expiryMs / 4), 1_000), 3_600_000));
    this.#timer.unref();
  }

  /** Opens `dir` (created if needed), or a fresh temporary directory removed by `close()` when `dir` is undefined. */
  static async open(dir: string | undefined, expiryMs: number, tempPrefix: string): Promise<EnvironmentStore> {
    if (dir === undefined) return new EnvironmentStore(await mkdtemp(tempPrefix), expiryMs, true);
    await mkdir(dir, { recursive: true });
    return new EnvironmentStore(dir, expiryMs, false);
  }

  /** The directory the environments live in. */
  get dir(): string {
    return this.#dir;
  }

  /** The stored environment `uuid`, or `undefined` when the value is not a lowercase UUID, unknown, or expired. */
  async find(uuid: unknown): Promise<StoredEnvironment | undefined> {
    if (typeof uuid !== "string" || !UUID_PATTERN.test(uuid)) return undefined;
    const path = join(this.#dir, `${uuid}.tgz`);
    let stats: Stats;
    try {
      stats = await stat(path);
    } catch {
      return undefined;
    }
    if (!stats.isFile() || this.#expired(stats)) return undefined;
    return { uuid, path, size: stats.size, expiresAt: new Date(stats.mtimeMs + this.#expiryMs) };
  }

  /** Writes `archive` (tar.gz bytes) as a new environment under a fresh UUID4; visible only once complete. */
  async save(archive: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<StoredEnvironment> {
    const uuid = randomUUID();
    const partial = join(this.#dir, `${PARTIAL_PREFIX}${uuid}`);
    const path = join(this.#dir, `${uuid}.tgz`);
    try {
      await pipeline(Readable.from(archive, { objectMode: false }), createWriteStream(partial, { flags: "wx", mode: 0o600 }), { signal });
      await rename(partial, path);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
    const stats = await stat(path);
    return { uuid, path, size: stats.size, expiresAt: new Date(stats.mtimeMs + this.#expiryMs) };
  }

  /** Deletes expired environments and stale partial files. */
  async sweep(): Promise<void> {
    if (this.#closed) return;
    for (const name of await readdir(this.#dir)) {
      if (!STORED_NAME.test(name) && !name.startsWith(PARTIAL_PREFIX)) continue;
      const path = join(this.#dir, name);
      const stats = await stat(path).catch(() => undefined);
      if (stats === undefined || !stats.isFile()) continue;
      // A partial file older than the expiry belongs to a save that died with its process.
      if (this.#expired(stats)) await rm(path, { force: true });
    }
  }

  /** Stops the sweep; removes the directory when this store made it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    if (this.#owned) await rm(this.#dir, { recursive: true, force: true, maxRetries: 2 });
  }

  #expired(stats: Stats): boolean {
    return Date.now() - stats.mtimeMs >= this.#expiryMs;
  }
}
