import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { pipeline } from "node:stream";
import { createGzip } from "node:zlib";
import {
  AbortedError,
  type ByteSourceV1,
  type CallContextV1,
  CapabilityUnsupportedError,
  type ExecRequestV1,
  type ExecResultV1,
  type FileEntryV1,
  FileNotFoundError,
  listArchive,
  packEntries,
  type SandboxConnectionV1,
  type SandboxFilesV1,
  SandboxError,
  type SandboxInfoV1,
  ServerError,
  ValidationError,
} from "@sandkit/core";
import type { SandboxApiClient } from "./client.js";
import { BACKEND_NAME } from "./constants.js";
import { exactArgv, exactResponseLimit } from "./exact-output.js";
import { toExecResult } from "./exec-outcome.js";
import type { ExecuteConfig, ExecuteResult } from "./protocol-types.js";
import { commandLine, shellQuote } from "./shell.js";
import { spool } from "./spool.js";

/** The file an upload into a subdirectory travels in (unpacked by `tar` in the container, then removed). */
const UPLOAD_NAME = ".sandkit-upload.tar";
/** The file a subdirectory's download is packed into, in a saved environment the session does not adopt. */
const DOWNLOAD_NAME = ".sandkit-download.tgz";

/** How many times a session upload answered `503` overloaded is sent again with a fresh body. */
const OVERLOADED_RETRIES = 3;

/** Options of {@link SandboxApiSession.run}. */
export interface RunOptions {
  /** Makes the upload body (called once per attempt). */
  readonly archive?: (() => Promise<AsyncIterable<Uint8Array> | Uint8Array>) | undefined;
  /** Whether `archive` makes the same bytes on every call, so that a `503` may be retried. */
  readonly replayable?: boolean | undefined;
  /** Whether the session adopts the saved environment. Default `true`. */
  readonly adopt?: boolean | undefined;
  /** Largest response read, in bytes. */
  readonly maxResponseBytes?: number | undefined;
}

/** What a session is built from. */
export interface SessionParts {
  readonly client: SandboxApiClient;
  readonly info: SandboxInfoV1;
  /** The saved environment the session starts from. */
  readonly environment: string;
  /** Variables every command gets (from `createSandbox({ env })`); per-command env wins. */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * A sandkit session over the stateless sandbox-api protocol. The working tree lives in saved
 * environments: each `exec` (and each file change) starts from the last saved environment and
 * saves a new one, which the session adopts. Calls on one session run one at a time.
 *
 * What the protocol cannot give: standard input, more than the server's time budget per command,
 * live output, stopping a running command, processes that outlive a command, and deletion of
 * saved environments (they expire after about 24 h). Untrimmed and non-UTF-8 output come through
 * the exact-output wrapper (option `exactOutput`, on by default). A call that fails after reaching the server (an
 * abort, a lost connection) leaves the session at the previous environment: its changes are lost.
 */
export class SandboxApiSession implements SandboxConnectionV1 {
  readonly info: SandboxInfoV1;
  readonly files: SandboxFilesV1;
  readonly #client: SandboxApiClient;
  readonly #env: Readonly<Record<string, string>>;
  #environment: string;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(parts: SessionParts) {
    this.info = parts.info;
    this.#client = parts.client;
    this.#env = parts.env;
    this.#environment = parts.environment;
    this.files = createSessionFiles(this);
  }

  /** The saved environment holding the session's current working tree. */
  get environment(): string {
    return this.#environment;
  }

  /** The client this session talks through. */
  get client(): SandboxApiClient {
    return this.#client;
  }

  /**
   * Runs a command as `bash -c "cd <cwd> && exec <argv>"` in a fresh container holding the
   * current tree, and adopts the environment it saves. `timeoutMs` above the server's budget is a
   * `ValidationError`; a command stopped at its limit comes back `timedOut` with `exitCode: null`.
   * stdout and stderr come back byte for byte through the exact-output wrapper; with
   * `exactOutput: false`, as the server sends them (trimmed; non-UTF-8 output is a `ServerError`).
   */
  async exec(request: ExecRequestV1, call: CallContextV1): Promise<ExecResultV1> {
    const where = { backend: BACKEND_NAME, operation: "exec", sandboxId: this.info.id };
    if (request.stdin !== undefined) {
      throw new CapabilityUnsupportedError("the sandbox-api protocol has no standard input for commands", { capability: "exec.stdin", ...where });
    }
    const budgetMs = this.#client.options.budgetMs;
    let timeoutSeconds: number | undefined;
    if (request.timeoutMs !== undefined) {
      if (typeof request.timeoutMs !== "number" || !Number.isFinite(request.timeoutMs) || request.timeoutMs <= 0) {
        throw new ValidationError(`timeoutMs must be a positive number of milliseconds, got ${String(request.timeoutMs)}`, { field: "timeoutMs", ...where });
      }
      if (request.timeoutMs > budgetMs) {
        throw new ValidationError(`timeoutMs ${request.timeoutMs} is above the server's command budget of ${budgetMs} ms`, {
          field: "timeoutMs",
          ...where,
          suggestion: "Split the work into shorter commands, or set budgetMs to your server's EXECUTE_TIMEOUT if it is larger.",
        });
      }
      timeoutSeconds = request.timeoutMs / 1000;
    }
    // Commands start in the server's working directory, wherever it lies on that server: a cwd
    // inside this session's workdir travels relative to it, so the two need not agree.
    const exact = this.#client.options.exactOutput;
    const argv = exact ? exactArgv(request.argv, request.maxOutputBytes + 1) : request.argv;
    const command = commandLine(argv, cwdFor(request.cwd, this.info.workdir));
    const env = request.env === undefined ? this.#env : { ...this.#env, ...request.env };
    const answer = await this.run(
      { commands: [timeoutSeconds === undefined ? command : { command, timeoutSeconds }], ...(Object.keys(env).length === 0 ? {} : { env }) },
      call,
      exact ? { maxResponseBytes: exactResponseLimit(request.maxOutputBytes + 1) } : {},
    );
    return toExecResult(answer, { maxOutputBytes: request.maxOutputBytes, onOutput: request.onOutput, sandboxId: this.info.id, exact });
  }

  /**
   * Runs an execute from the current environment with `save`, after the calls before it, and
   * adopts the saved environment unless `adopt` is false. For the file operations.
   *
   * An upload body is a stream, which the transport cannot send again; when `replayable` says the
   * `archive` thunk makes the same bytes anew, a `503` overloaded answer (sent before any work) is
   * retried here with a fresh body, a few times with backoff, within the call's deadline.
   */
  run(config: Omit<ExecuteConfig, "baseEnvironment" | "save">, call: CallContextV1, options: RunOptions = {}): Promise<ExecuteResult> {
    const previous = this.#queue;
    const next = waitTurn(previous, call.signal, this.info.id).then(async () => {
      const answer = await this.#executeOnce(config, call, options, options.replayable === true ? OVERLOADED_RETRIES : 0);
      if (options.adopt !== false && answer.savedEnvironment !== undefined) this.#environment = answer.savedEnvironment;
      return answer;
    });
    // The next call waits for this one and for the one before (an aborted wait ends early).
    this.#queue = Promise.allSettled([previous, next]);
    return next;
  }

  async #executeOnce(config: Omit<ExecuteConfig, "baseEnvironment" | "save">, call: CallContextV1, options: RunOptions, retriesLeft: number): Promise<ExecuteResult> {
    for (let attempt = 0; ; attempt += 1) {
      const archive = options.archive === undefined ? undefined : await options.archive();
      try {
        return await this.#client.execute(
          { ...config, baseEnvironment: this.#environment, save: true },
          { archive, signal: call.signal, timeoutMs: this.#deadline(call, archive !== undefined), maxResponseBytes: options.maxResponseBytes },
        );
      } catch (error) {
        const overloaded = ServerError.isInstance(error) && error.status === 503;
        const delayMs = Math.min(2_000, 200 * 2 ** attempt) * (0.5 + Math.random() / 2);
        const fits = call.deadline === undefined || Date.now() + delayMs < call.deadline;
        if (!overloaded || attempt >= retriesLeft || !fits || call.signal.aborted) throw error;
        await sleep(delayMs, undefined, { signal: call.signal }).catch(() => undefined);
        if (call.signal.aborted) throw error;
      } finally {
        // A request that failed before reading its whole body leaves the packer running: stop it.
        (archive as { destroy?: () => void } | undefined)?.destroy?.();
      }
    }
  }

  /** Runs `fn` with the current environment, after the calls before it. */
  current<T>(fn: (environment: string) => Promise<T>, call: CallContextV1): Promise<T> {
    const previous = this.#queue;
    const next = waitTurn(previous, call.signal, this.info.id).then(() => fn(this.#environment));
    this.#queue = Promise.allSettled([previous, next]);
    return next;
  }

  #deadline(call: CallContextV1, upload: boolean): number {
    const options = this.#client.options;
    const limit = options.budgetMs + options.executeMarginMs + (upload ? options.transferTimeoutMs : 0);
    return call.deadline === undefined ? limit : Math.max(1, Math.min(limit, call.deadline - Date.now()));
  }
}

/** Resolves when the calls before this one have settled; rejects with `AbortedError` as soon as `signal` aborts. */
function waitTurn(previous: Promise<unknown>, signal: AbortSignal, sandboxId: string): Promise<void> {
  const where = { backend: BACKEND_NAME, operation: "exec", sandboxId };
  if (signal.aborted) return Promise.reject(SandboxError.isInstance(signal.reason) ? signal.reason : new AbortedError("the call was aborted before its turn", { ...where, cause: signal.reason }));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(SandboxError.isInstance(signal.reason) ? signal.reason : new AbortedError("the call was aborted while waiting for the calls before it", { ...where, cause: signal.reason }));
    signal.addEventListener("abort", onAbort, { once: true });
    void previous.then(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    });
  });
}

/** The `cd` target of a command: nothing for the workdir, a relative path inside it, else the absolute path. */
export function cwdFor(cwd: string | undefined, workdir: string): string | undefined {
  if (cwd === undefined || cwd === workdir) return undefined;
  if (cwd.startsWith(`${workdir}/`)) return cwd.slice(workdir.length + 1);
  return cwd;
}

/** The working-tree-relative form of a sandbox path; paths outside the working directory are refused. */
function relative(session: SandboxApiSession, path: string, operation: string): string {
  const root = session.info.workdir;
  if (path === root) return "";
  if (path.startsWith(`${root}/`)) return path.slice(root.length + 1);
  throw new ValidationError(`${path} is outside ${root}: only the working directory persists between sandbox-api calls`, {
    field: "path",
    backend: BACKEND_NAME,
    operation,
    sandboxId: session.info.id,
  });
}

function failed(session: SandboxApiSession, operation: string, path: string, answer: ExecuteResult): never {
  const where = { backend: BACKEND_NAME, operation, sandboxId: session.info.id };
  if (answer.outcome === "command-failed" && answer.status === 44) throw new FileNotFoundError(`${path} does not exist`, { path, ...where });
  throw new ValidationError(`${operation} of ${path} failed in the sandbox (${answer.outcome}, status ${answer.status})`, { field: "path", ...where });
}

async function* gzipOf(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const gzip = createGzip();
  const done = new Promise<void>((resolve, reject) => pipeline(Readable.from(source), gzip, (error) => (error ? reject(error) : resolve())));
  done.catch(() => undefined);
  for await (const chunk of gzip) yield chunk as Uint8Array;
  await done;
}

/** The file operations of a session, through uploaded and downloaded archives. */
export function createSessionFiles(session: SandboxApiSession): SandboxFilesV1 {
  const id = session.info.id;
  const script = async (operation: string, path: string, line: string, call: CallContextV1): Promise<void> => {
    const answer = await session.run({ commands: [line] }, call);
    if (answer.outcome !== "success") failed(session, operation, path, answer);
  };
  return {
    async read(path, options, call) {
      const rel = relative(session, path, "files.read");
      return session.current(async (environment) => {
        let stream;
        try {
          stream = await session.client.download(environment, rel, { signal: call.signal });
        } catch (error) {
          if (FileNotFoundError.isInstance(error)) throw new FileNotFoundError(`${path} does not exist`, { path, backend: BACKEND_NAME, operation: "files.read", sandboxId: id, cause: error });
          throw error;
        }
        const chunks: Uint8Array[] = [];
        let size = 0;
        for await (const chunk of stream as AsyncIterable<Uint8Array>) {
          size += chunk.length;
          if (size > options.maxBytes) {
            stream.destroy();
            throw new ValidationError(`${path} is larger than maxBytes (${options.maxBytes})`, { field: "maxBytes", backend: BACKEND_NAME, operation: "files.read", sandboxId: id });
          }
          chunks.push(chunk);
        }
        return Buffer.concat(chunks);
      }, call);
    },

    async write(path, data: ByteSourceV1, options, call) {
      const rel = relative(session, path, "files.write");
      if (rel === "") throw new ValidationError(`${path} is the working directory`, { field: "path", backend: BACKEND_NAME, operation: "files.write", sandboxId: id });
      const spooled = data instanceof Uint8Array ? undefined : await spool(data, call.signal);
      try {
        const entry = spooled === undefined ? { type: "file" as const, path: rel, mode: options.mode, content: data as Uint8Array } : { type: "file" as const, path: rel, mode: options.mode, size: spooled.size, content: () => spooled.open() };
        const answer = await session.run({ commands: ["true"] }, call, { archive: async () => packEntries([entry], { gzip: true, signal: call.signal, operation: "files.write" }), replayable: true });
        if (answer.outcome !== "success") failed(session, "files.write", path, answer);
      } finally {
        await spooled?.[Symbol.asyncDispose]();
      }
    },

    async list(path, call): Promise<FileEntryV1[]> {
      const rel = relative(session, path, "files.list");
      return session.current(async (environment) => {
        const stream = await session.client.download(environment, undefined, { signal: call.signal });
        const listing = await listArchive(stream as AsyncIterable<Uint8Array>, { signal: call.signal, operation: "files.list" });
        const prefix = rel === "" ? "" : `${rel}/`;
        const self = listing.find((entry) => entry.path === rel);
        if (rel !== "" && self !== undefined && self.type !== "directory") {
          throw new ValidationError(`${path} is not a directory`, { field: "path", backend: BACKEND_NAME, operation: "files.list", sandboxId: id });
        }
        const children = new Map<string, FileEntryV1>();
        let found = rel === "" || self !== undefined;
        for (const entry of listing) {
          if (entry.path === "" || !entry.path.startsWith(prefix) || entry.path === rel) continue;
          found = true;
          const rest = entry.path.slice(prefix.length);
          const name = rest.split("/")[0]!;
          const childPath = `${path === "/" ? "" : path}/${name}`;
          if (rest.includes("/")) {
            if (!children.has(name)) children.set(name, { name, path: childPath, type: "directory", size: 0 });
            continue;
          }
          const type = entry.type === "hardlink" ? "other" : entry.type;
          children.set(name, { name, path: childPath, type, size: type === "file" ? entry.size : 0, mode: entry.mode & 0o777, modifiedAt: entry.mtime });
        }
        if (!found) throw new FileNotFoundError(`${path} does not exist`, { path, backend: BACKEND_NAME, operation: "files.list", sandboxId: id });
        return [...children.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      }, call);
    },

    async remove(path, options, call) {
      const rel = relative(session, path, "files.remove");
      if (rel === "") throw new ValidationError(`${path} is the working directory`, { field: "path", backend: BACKEND_NAME, operation: "files.remove", sandboxId: id });
      const p = shellQuote(rel);
      const line = options.recursive ? `rm -rf -- ${p}` : `if [ -d ${p} ] && [ ! -L ${p} ]; then rmdir -- ${p}; else rm -f -- ${p}; fi`;
      await script("files.remove", path, line, call);
    },

    async mkdir(path, call) {
      const rel = relative(session, path, "files.mkdir");
      if (rel === "") return;
      await script("files.mkdir", path, `mkdir -p -- ${shellQuote(rel)}`, call);
    },

    async uploadArchive(dir, archive, call) {
      const rel = relative(session, dir, "files.upload");
      if (rel === "") {
        // The tree's root: the archive goes up as it is read, gzip-compressed on the way.
        const answer = await session.run({ commands: ["true"] }, call, { archive: async () => gzipOf(archive) });
        if (answer.outcome !== "success") failed(session, "files.upload", dir, answer);
        return;
      }
      // A subdirectory: the server unpacks uploads at the root only, so the tar travels as a file
      // (spooled to learn its size) and `tar` in the container unpacks it where it belongs.
      await using spooled = await spool(archive, call.signal);
      const target = shellQuote(rel);
      const line = `mkdir -p -- ${target} && tar -xf ${UPLOAD_NAME} -C ${target} --no-same-owner; s=$?; rm -f ${UPLOAD_NAME}; exit $s`;
      const answer = await session.run({ commands: [line] }, call, {
        archive: async () => packEntries([{ type: "file", path: UPLOAD_NAME, mode: 0o600, size: spooled.size, content: () => spooled.open() }], { gzip: true, signal: call.signal, operation: "files.upload" }),
        replayable: true,
      });
      if (answer.outcome !== "success") failed(session, "files.upload", dir, answer);
    },

    async downloadArchive(dir, call) {
      const rel = relative(session, dir, "files.download");
      if (rel === "") return session.current((environment) => session.client.download(environment, undefined, { signal: call.signal }), call);
      // A subdirectory: packed in the container into a saved environment the session does not
      // adopt (it expires on its own), then downloaded as one file.
      const target = shellQuote(rel);
      const answer = await session.run({ commands: [`[ -d ${target} ] || exit 44; tar -czf ${DOWNLOAD_NAME} -C ${target} .`] }, call, { adopt: false });
      if (answer.outcome !== "success" || answer.savedEnvironment === undefined) failed(session, "files.download", dir, answer);
      return session.client.download(answer.savedEnvironment, DOWNLOAD_NAME, { signal: call.signal });
    },
  };
}
