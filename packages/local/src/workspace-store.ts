import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { chmod, lstat, mkdir, mkdtemp, open, readdir, readFile, realpath, rename, unlink } from "node:fs/promises";
import { basename, join } from "node:path";
import { errnoOf, invalid } from "./local-errors.js";
import { openDirectory } from "./pinned-dir.js";
import { removeEntry } from "./remove-tree.js";

/** What is stored beside a workspace, so that another process with the same root can attach. */
export interface SandboxMeta {
  readonly id: string;
  readonly createdAt: string;
  readonly ttlMs?: number | undefined;
  readonly expiresAt?: string | undefined;
  readonly env: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
}

/** Where one sandbox lives on the host. */
export interface SandboxLocation {
  /** The private directory made with `mkdtemp` (mode 0700); holds `workspace/` and `sandbox.json`. */
  readonly containerDir: string;
  /** The directory mounted at `/workspace` (mode 0700), a real path. */
  readonly workspaceDir: string;
}

const PREFIX = "sandkit-";
const SUFFIX = /^[A-Za-z0-9]{6}$/;
const META_FILE = "sandbox.json";
const WORKSPACE_DIR = "workspace";

/**
 * The sandboxes under one root directory. Each is a private directory
 * `<root>/sandkit-<id>-XXXXXX` (mode 0700, made with `mkdtemp`, so its name cannot be guessed
 * ahead) holding the workspace and a metadata file that commands never see. A sandbox is found
 * by id from its directory's name; directories that are not this user's private directories are
 * ignored.
 */
export class WorkspaceStore {
  readonly #root: string;
  #ready: Promise<string> | undefined;

  constructor(root: string) {
    this.#root = root;
  }

  /** The root as a real path, created (mode 0700) when missing. */
  ready(): Promise<string> {
    this.#ready ??= (async () => {
      await mkdir(this.#root, { recursive: true, mode: 0o700 });
      return realpath(this.#root);
    })();
    this.#ready.catch(() => {
      this.#ready = undefined;
    });
    return this.#ready;
  }

  /** Makes a new sandbox directory for `id`; `ValidationError` (field `id`) when the id is taken. */
  async create(meta: SandboxMeta): Promise<SandboxLocation> {
    const root = await this.ready();
    if ((await this.#matches(root, meta.id)).length > 0) throw taken(meta.id);
    const containerDir = await mkdtemp(join(root, `${PREFIX}${meta.id}-`));
    try {
      await chmod(containerDir, 0o700);
      const workspaceDir = join(containerDir, WORKSPACE_DIR);
      await mkdir(workspaceDir, 0o700);
      await chmod(workspaceDir, 0o700);
      await this.writeMeta(containerDir, meta);
      // Two creators racing for one id both see two directories: both give up rather than share.
      if ((await this.#matches(root, meta.id)).length > 1) throw taken(meta.id);
      return { containerDir, workspaceDir };
    } catch (error) {
      await this.remove(containerDir).catch(() => undefined);
      throw error;
    }
  }

  /** Finds the sandbox `id`, or `undefined` when there is none. */
  async find(id: string): Promise<SandboxLocation | undefined> {
    const root = await this.ready();
    const [containerDir] = await this.#matches(root, id);
    if (containerDir === undefined) return undefined;
    return { containerDir, workspaceDir: join(containerDir, WORKSPACE_DIR) };
  }

  /** Whether the sandbox directory still exists. */
  async exists(location: SandboxLocation): Promise<boolean> {
    try {
      return (await lstat(location.workspaceDir)).isDirectory();
    } catch {
      return false;
    }
  }

  /** Reads the metadata; `undefined` when it is missing or not readable as metadata. */
  async readMeta(containerDir: string, id: string): Promise<SandboxMeta | undefined> {
    let text: string;
    try {
      text = await readFile(join(containerDir, META_FILE), { encoding: "utf8", flag: constants.O_RDONLY | constants.O_NOFOLLOW });
    } catch {
      return undefined;
    }
    return parseMeta(text, id);
  }

  /** Replaces the metadata atomically (mode 0600: it holds the sandbox's environment). */
  async writeMeta(containerDir: string, meta: SandboxMeta): Promise<void> {
    const temp = join(containerDir, `.${META_FILE}.${randomBytes(6).toString("hex")}`);
    const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      await handle.writeFile(JSON.stringify(meta));
      await handle.close();
      await rename(temp, join(containerDir, META_FILE));
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw error;
    }
  }

  /** Removes a sandbox directory and everything in it, never following a link. Missing is fine. */
  async remove(containerDir: string): Promise<void> {
    const root = await this.ready();
    await using dir = await openDirectory(root);
    await removeEntry(dir, basename(containerDir));
  }

  async #matches(root: string, id: string): Promise<string[]> {
    const prefix = `${PREFIX}${id}-`;
    const names = (await readdir(root)).filter((name) => name.startsWith(prefix) && SUFFIX.test(name.slice(prefix.length)));
    const found: string[] = [];
    const uid = process.getuid?.();
    for (const name of names) {
      const path = join(root, name);
      try {
        const stats = await lstat(path);
        if (!stats.isDirectory() || (stats.mode & 0o077) !== 0 || (uid !== undefined && stats.uid !== uid)) continue;
        found.push(path);
      } catch (error) {
        if (errnoOf(error) !== "ENOENT") throw error;
      }
    }
    return found;
  }
}

function taken(id: string): Error {
  return invalid(`a sandbox with id ${JSON.stringify(id)} already exists`, "id", { operation: "create", sandboxId: id });
}

function parseMeta(text: string, id: string): SandboxMeta | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const raw = value as Record<string, unknown>;
  if (raw.id !== id || typeof raw.createdAt !== "string") return undefined;
  const ttlMs = typeof raw.ttlMs === "number" && Number.isFinite(raw.ttlMs) && raw.ttlMs > 0 ? raw.ttlMs : undefined;
  const expiresAt = typeof raw.expiresAt === "string" && !Number.isNaN(Date.parse(raw.expiresAt)) ? raw.expiresAt : undefined;
  return { id, createdAt: raw.createdAt, ttlMs, expiresAt, env: stringRecord(raw.env), labels: stringRecord(raw.labels) };
}

function stringRecord(value: unknown): Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === "string"));
}
