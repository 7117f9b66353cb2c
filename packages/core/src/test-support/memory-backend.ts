/**
 * An in-memory `SandboxBackendV1` for core's unit tests. Not exported from the package.
 *
 * It records what core asks of it (creates, destroys, exec requests, closes) and can be told to
 * misbehave: a slow create that ignores its signal, a create that fails after making a sandbox,
 * a destroy that hangs or fails.
 */
import { FileNotFoundError } from "../errors/file-not-found-error.js";
import { SandboxNotFoundError } from "../errors/sandbox-not-found-error.js";
import { ServerError } from "../errors/server-error.js";
import { ValidationError } from "../errors/validation-error.js";
import { Secret } from "../secret.js";
import type { SandboxBackendV1, SandboxConnectionV1 } from "../spec/v1/backend.js";
import type { CallContextV1 } from "../spec/v1/call-context.js";
import type { BackendCapabilitiesV1 } from "../spec/v1/capabilities.js";
import type { ByteSourceV1, SandboxFilesV1 } from "../spec/v1/files.js";
import type { CreateRequestV1, ExecRequestV1, ExecResultV1, FileEntryV1, HealthV1, KeepAliveResultV1, MetricsV1, RunCodeRequestV1 } from "../spec/v1/types.js";

const inspectSymbol = Symbol.for("nodejs.util.inspect.custom");

/** How the memory backend should behave. */
export interface MemoryBackendOptions {
  readonly name?: string;
  readonly capabilities?: Partial<Omit<BackendCapabilitiesV1, "exec">> & { readonly exec?: Partial<BackendCapabilitiesV1["exec"]> };
  /** Whether connections carry native `files`. Default true. */
  readonly nativeFiles?: boolean;
  /** A credential the backend holds, as a real adapter would. */
  readonly apiKey?: string;
  /** `create` resolves after this many ms and ignores its signal (a backend that cannot be cancelled). */
  readonly createDelayMs?: number;
  /** `create` makes the sandbox, then throws this (a failure part-way). */
  readonly createFailsWith?: unknown;
  /** `destroy`: succeed, never settle (ignoring the signal), or fail. */
  readonly destroy?: "ok" | "hang" | "fail";
  /** Replaces the built-in command interpreter. */
  readonly exec?: (request: ExecRequestV1, call: CallContextV1) => Promise<ExecResultV1>;
}

type Node = { readonly type: "file"; data: Uint8Array; mode: number } | { readonly type: "directory" } | { readonly type: "symlink"; target: string };

/** A sandbox's file tree in memory, with a `SandboxFilesV1` over it. */
export class MemoryFiles implements SandboxFilesV1 {
  readonly nodes = new Map<string, Node>([["/", { type: "directory" }]]);
  /** Size of every chunk `write` received, for tests of streaming. */
  readonly chunkSizes: number[] = [];

  constructor(dirs: readonly string[] = ["/workspace"]) {
    for (const dir of dirs) this.#mkdirp(dir);
  }

  async read(path: string, options: { readonly maxBytes: number }, call: CallContextV1): Promise<Uint8Array> {
    call.signal.throwIfAborted();
    const node = this.nodes.get(path);
    if (node === undefined) throw new FileNotFoundError(`${path} does not exist`, { path, operation: "files.read" });
    if (node.type !== "file") throw new ValidationError(`${path} is not a file`, { field: "path", operation: "files.read" });
    if (node.data.byteLength > options.maxBytes) throw new ValidationError(`${path} is too large`, { field: "maxBytes", operation: "files.read" });
    return node.data.slice();
  }

  async write(path: string, data: ByteSourceV1, options: { readonly mode?: number | undefined }, call: CallContextV1): Promise<void> {
    const parts: Uint8Array[] = [];
    if (data instanceof Uint8Array) {
      this.chunkSizes.push(data.byteLength);
      parts.push(data.slice());
    } else {
      for await (const chunk of data) {
        call.signal.throwIfAborted();
        this.chunkSizes.push(chunk.byteLength);
        parts.push(chunk.slice());
      }
    }
    this.#mkdirp(parentOf(path));
    this.nodes.set(path, { type: "file", data: Buffer.concat(parts), mode: options.mode ?? 0o644 });
  }

  async list(path: string, call: CallContextV1): Promise<FileEntryV1[]> {
    call.signal.throwIfAborted();
    const node = this.nodes.get(path);
    if (node === undefined) throw new FileNotFoundError(`${path} does not exist`, { path, operation: "files.list" });
    if (node.type !== "directory") throw new ValidationError(`${path} is not a directory`, { field: "path", operation: "files.list" });
    const prefix = path === "/" ? "/" : `${path}/`;
    const entries: FileEntryV1[] = [];
    for (const [child, childNode] of this.nodes) {
      if (child === path || !child.startsWith(prefix) || child.slice(prefix.length).includes("/")) continue;
      entries.push({
        name: child.slice(prefix.length),
        path: child,
        type: childNode.type,
        size: childNode.type === "file" ? childNode.data.byteLength : 0,
        mode: childNode.type === "file" ? childNode.mode : 0o755,
      });
    }
    return entries;
  }

  async remove(path: string, options: { readonly recursive: boolean }, call: CallContextV1): Promise<void> {
    call.signal.throwIfAborted();
    const node = this.nodes.get(path);
    if (node === undefined) return;
    if (node.type === "directory") {
      if (!options.recursive) throw new ValidationError(`${path} is a directory`, { field: "path", operation: "files.remove" });
      for (const key of [...this.nodes.keys()]) if (key.startsWith(`${path}/`)) this.nodes.delete(key);
    }
    this.nodes.delete(path);
  }

  async mkdir(path: string, call: CallContextV1): Promise<void> {
    call.signal.throwIfAborted();
    this.#mkdirp(path);
  }

  /** Adds a symbolic link node (the memory backend never follows it). */
  symlink(path: string, target: string): void {
    this.#mkdirp(parentOf(path));
    this.nodes.set(path, { type: "symlink", target });
  }

  /** The content of a file, as text. */
  text(path: string): string | undefined {
    const node = this.nodes.get(path);
    return node?.type === "file" ? new TextDecoder().decode(node.data) : undefined;
  }

  #mkdirp(path: string): void {
    const parts = path.split("/").filter((p) => p !== "");
    let current = "";
    for (const part of parts) {
      current += `/${part}`;
      const node = this.nodes.get(current);
      if (node === undefined) this.nodes.set(current, { type: "directory" });
      else if (node.type !== "directory") throw new ValidationError(`${current} is not a directory`, { field: "path" });
    }
  }
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash <= 0 ? "/" : path.slice(0, slash);
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function result(fields: Partial<ExecResultV1>): ExecResultV1 {
  return { exitCode: 0, stdout: "", stderr: "", stdoutTruncated: false, stderrTruncated: false, durationMs: 1, timedOut: false, ...fields };
}

/**
 * The built-in interpreter: `echo ARGS`, `exit N`, `cat` (stdin to stdout), `env NAME`,
 * `print N` (N bytes of "x", cut at maxOutputBytes), `sleep MS` (honours timeoutMs and the signal),
 * `hang` (until the signal aborts). Anything else exits 127.
 */
async function interpret(request: ExecRequestV1, call: CallContextV1, sandboxEnv: Readonly<Record<string, string>>): Promise<ExecResultV1> {
  const [program, ...args] = request.argv;
  const emit = (stream: "stdout" | "stderr", text: string): void => request.onOutput?.({ stream, data: new TextEncoder().encode(text) });
  switch (program) {
    case "echo": {
      const stdout = `${args.join(" ")}\n`;
      emit("stdout", stdout);
      return result({ stdout });
    }
    case "exit": {
      const code = Number(args[0] ?? "0");
      return result({ exitCode: code, stderr: `exiting with ${code}\n`, stdout: "partial\n" });
    }
    case "cat":
      return result({ stdout: new TextDecoder().decode(request.stdin ?? new Uint8Array(0)) });
    case "env": {
      const env = { ...sandboxEnv, ...request.env };
      return result({ stdout: `${env[args[0] ?? ""] ?? ""}\n` });
    }
    case "print": {
      const n = Number(args[0] ?? "0");
      const kept = Math.min(n, request.maxOutputBytes);
      return result({ stdout: "x".repeat(kept), stdoutTruncated: kept < n });
    }
    case "sleep": {
      const ms = Number(args[0] ?? "0");
      if (request.timeoutMs !== undefined && request.timeoutMs < ms) {
        await wait(request.timeoutMs, call.signal);
        return result({ exitCode: null, signal: "SIGKILL", timedOut: true, stdout: "started\n", durationMs: request.timeoutMs });
      }
      await wait(ms, call.signal);
      return result({ durationMs: ms });
    }
    case "hang":
      await wait(2 ** 31 - 1, call.signal);
      return result({});
    default:
      return result({ exitCode: 127, stderr: `${program}: not found\n` });
  }
}

/** The in-memory backend. Inspect `created`, `destroyed`, `execs` and `closed` in tests. */
export class MemoryBackend implements SandboxBackendV1 {
  readonly specificationVersion = "v1" as const;
  readonly name: string;
  readonly capabilities: BackendCapabilitiesV1;
  /** Ids of sandboxes created (including ones whose create then failed). */
  readonly created: string[] = [];
  /** Ids passed to `destroy`, in order. */
  readonly destroyed: string[] = [];
  /** Every exec request received. */
  readonly execs: ExecRequestV1[] = [];
  /** The file tree of each live sandbox. */
  readonly sandboxes = new Map<string, { files: MemoryFiles; env: Readonly<Record<string, string>> }>();
  /** How many times `close()` ran. */
  closed = 0;
  /** How many connections were released. */
  released = 0;
  readonly #options: MemoryBackendOptions;
  readonly #apiKey: Secret | undefined;
  #next = 0;

  constructor(options: MemoryBackendOptions = {}) {
    this.#options = options;
    this.name = options.name ?? "memory";
    this.#apiKey = Secret.from(options.apiKey);
    const caps = options.capabilities ?? {};
    this.capabilities = {
      exec: { stream: "live", stdin: true, env: true, cwd: true, ...caps.exec },
      files: caps.files ?? "per-file",
      ttl: caps.ttl ?? "keep-alive",
      metrics: caps.metrics ?? true,
      codeLanguages: caps.codeLanguages ?? ["echo"],
      attach: caps.attach ?? true,
      isolation: caps.isolation ?? "none",
    };
  }

  /** The credential, for tests that check it is never shown. */
  get apiKey(): Secret | undefined {
    return this.#apiKey;
  }

  async create(request: CreateRequestV1, call: CallContextV1): Promise<SandboxConnectionV1> {
    if (this.#options.createDelayMs === undefined) call.signal.throwIfAborted();
    const id = request.id ?? `mem-${++this.#next}`;
    if (this.#options.createDelayMs !== undefined) await new Promise((r) => setTimeout(r, this.#options.createDelayMs));
    this.created.push(id);
    this.sandboxes.set(id, { files: new MemoryFiles(), env: request.env ?? {} });
    if (this.#options.createFailsWith !== undefined) throw this.#options.createFailsWith;
    return this.#connect(id);
  }

  async attach(id: string, call: CallContextV1): Promise<SandboxConnectionV1> {
    call.signal.throwIfAborted();
    if (!this.sandboxes.has(id)) throw new SandboxNotFoundError(`sandbox ${id} does not exist`, { backend: this.name, sandboxId: id });
    return this.#connect(id);
  }

  async destroy(id: string, call: CallContextV1): Promise<void> {
    this.destroyed.push(id);
    if (this.#options.destroy === "hang") return new Promise<void>(() => undefined);
    call.signal.throwIfAborted();
    if (this.#options.destroy === "fail") throw new ServerError(`destroying ${id} failed`, { backend: this.name, status: 500 });
    this.sandboxes.delete(id);
  }

  async health(): Promise<HealthV1> {
    return { ok: true };
  }

  async keepAlive(id: string, options: { readonly ttlMs?: number | undefined }): Promise<KeepAliveResultV1> {
    return { expiresAt: new Date(Date.now() + (options.ttlMs ?? 60_000)) };
  }

  async close(): Promise<void> {
    this.closed += 1;
  }

  [inspectSymbol](): string {
    return `MemoryBackend { name: ${JSON.stringify(this.name)}, apiKey: ${String(this.#apiKey)} }`;
  }

  #connect(id: string): SandboxConnectionV1 {
    const state = this.sandboxes.get(id)!;
    const execImpl = this.#options.exec;
    const connection: SandboxConnectionV1 = {
      info: { id, backend: this.name, workdir: "/workspace", createdAt: new Date() },
      exec: async (request, call) => {
        this.execs.push(request);
        return execImpl !== undefined ? execImpl(request, call) : interpret(request, call, state.env);
      },
      files: this.#options.nativeFiles === false ? undefined : state.files,
      runCode: async (request: RunCodeRequestV1) => result({ stdout: request.code }),
      metrics: async (): Promise<MetricsV1> => ({ memoryBytes: 1024, running: true, takenAt: new Date() }),
      release: async () => {
        this.released += 1;
      },
    };
    return connection;
  }
}
