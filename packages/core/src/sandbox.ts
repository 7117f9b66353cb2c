import { CapabilityUnsupportedError } from "./errors/capability-unsupported-error.js";
import { CommandFailedError } from "./errors/command-failed-error.js";
import { CommandTimeoutError } from "./errors/command-timeout-error.js";
import { SandboxClosedError } from "./errors/sandbox-closed-error.js";
import { SandboxError } from "./errors/sandbox-error.js";
import { ValidationError } from "./errors/validation-error.js";
import type { CallOptions, ExecOptions, ExecResult, RunCodeOptions } from "./exec-types.js";
import { SandboxFiles } from "./files/sandbox-files.js";
import { checkMs, createCallContext, untilAborted } from "./internal/call-context.js";
import { resolveSandboxPath } from "./paths.js";
import type { SandboxBackendV1, SandboxConnectionV1 } from "./spec/v1/backend.js";
import type { BackendCapabilitiesV1, CapabilityName } from "./spec/v1/capabilities.js";
import type { ExecResultV1, KeepAliveResultV1, MetricsV1, OutputChunkV1, SandboxInfoV1 } from "./spec/v1/types.js";
import { type TraceChannelName, type TraceContext, traced } from "./tracing.js";

const inspectSymbol = Symbol.for("nodejs.util.inspect.custom");

/** How a `Sandbox` behaves; set through `createSandbox`. */
export interface SandboxSettings {
  /** Default command time limit for `exec`, in milliseconds. Default: none. */
  readonly execTimeoutMs?: number | undefined;
  /** How long a remote backend may take past a command's `timeoutMs` before sandkit gives up on it. Default 30 000. */
  readonly execGraceMs?: number | undefined;
  /** Bytes kept per output stream. Default 1 MiB. */
  readonly maxOutputBytes?: number | undefined;
  /** How long `close()` may take to destroy the sandbox, in milliseconds. Default 10 000. */
  readonly disposeTimeoutMs?: number | undefined;
  /** What `close()` does: `destroy` the sandbox, or `detach` and leave it running. */
  readonly onClose?: "destroy" | "detach" | undefined;
  /** Whether closing the sandbox also closes the backend (true when `createSandbox` made the backend). */
  readonly ownsBackend?: boolean | undefined;
  /** Receives errors from `await using` disposal, which never throws. Default: a process warning. */
  readonly onDisposeError?: ((error: unknown) => void) | undefined;
}

const DEFAULT_MAX_OUTPUT = 1024 * 1024;
const DEFAULT_EXEC_GRACE_MS = 30_000;
const DEFAULT_DISPOSE_TIMEOUT_MS = 10_000;

/**
 * A started sandbox. Hold it in `await using` so that it is always destroyed:
 *
 * ```ts
 * await using sbx = await createSandbox();
 * const r = await sbx.exec(["python3", "-c", "print(6 * 7)"]);
 * ```
 *
 * `exec` never throws for a non-zero exit or a command timeout; it returns a result. Everything
 * else fails with a `SandboxError` subclass.
 */
export class Sandbox implements AsyncDisposable {
  /** The sandbox's id on its backend. */
  readonly id: string;
  /** Facts about the sandbox: backend, workdir, expiry. */
  readonly info: SandboxInfoV1;
  /** File operations: read, write, list, remove, mkdir, upload, download. */
  readonly files: SandboxFiles;

  readonly #backend: SandboxBackendV1;
  readonly #connection: SandboxConnectionV1;
  readonly #settings: SandboxSettings;
  readonly #closing = new AbortController();
  #closed: Promise<void> | undefined;

  /** @internal Use `createSandbox`. */
  constructor(backend: SandboxBackendV1, connection: SandboxConnectionV1, settings: SandboxSettings = {}) {
    this.#backend = backend;
    this.#connection = connection;
    this.#settings = settings;
    this.id = connection.info.id;
    this.info = connection.info;
    checkMs(settings.maxOutputBytes, "maxOutputBytes");
    checkMs(settings.execTimeoutMs, "execTimeoutMs");
    this.files = new SandboxFiles({
      backend,
      connection,
      run: (operation, details, options, fn) => this.#run(operation, details, options, fn),
      exec: (argv, options) => this.exec(argv, options),
    });
  }

  /** The backend's name, e.g. `"local"`. */
  get backend(): string {
    return this.#backend.name;
  }

  /** What the backend can do. */
  get capabilities(): BackendCapabilitiesV1 {
    return this.#backend.capabilities;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /**
   * Runs `argv` (no shell). Returns `{ exitCode, stdout, stderr, durationMs, timedOut }`; a non-zero
   * exit is a result. With `check: true` a failure throws `CommandFailedError` (or
   * `CommandTimeoutError`).
   */
  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== "string")) {
      throw new ValidationError("argv must be a non-empty array of strings", { field: "argv", operation: "exec", backend: this.backend });
    }
    if (argv.some((a) => a.includes("\0"))) {
      throw new ValidationError("argv must not contain NUL bytes", { field: "argv", operation: "exec", backend: this.backend });
    }
    const caps = this.capabilities.exec;
    if (options.stdin !== undefined && !caps.stdin) this.#unsupported("exec.stdin", "stdin");
    if (options.env !== undefined && Object.keys(options.env).length > 0 && !caps.env) this.#unsupported("exec.env", "per-command env");
    if (options.cwd !== undefined && !caps.cwd) this.#unsupported("exec.cwd", "a per-command cwd");
    const timeoutMs = checkMs(options.timeoutMs, "timeoutMs") ?? this.#settings.execTimeoutMs;
    const maxOutputBytes = checkMs(options.maxOutputBytes, "maxOutputBytes") ?? this.#settings.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    const cwd = options.cwd === undefined ? undefined : resolveSandboxPath(options.cwd, this.info.workdir, "cwd");
    if (options.env !== undefined) validateEnv(options.env);
    const stdin = typeof options.stdin === "string" ? new TextEncoder().encode(options.stdin) : options.stdin;
    const onOutput = outputForwarder(options.onStdout, options.onStderr);
    const deadline = timeoutMs === undefined ? undefined : timeoutMs + (this.#settings.execGraceMs ?? DEFAULT_EXEC_GRACE_MS);
    const raw = await this.#run(
      "exec",
      { command: argv[0] },
      { signal: options.signal, timeoutMs: deadline },
      (call) =>
        this.#connection.exec({ argv: [...argv], cwd, env: options.env, stdin, timeoutMs, maxOutputBytes, onOutput: onOutput?.push }, call),
    );
    onOutput?.flush();
    const result = toExecResult(raw);
    if (options.check === true) this.#check(argv, result, timeoutMs);
    return result;
  }

  /** Runs a shell command line with `sh -c`. Same result and options as `exec`. */
  async sh(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    if (typeof command !== "string" || command.length === 0) {
      throw new ValidationError("command must be a non-empty string", { field: "command", operation: "sh", backend: this.backend });
    }
    return this.exec(["sh", "-c", command], options);
  }

  /**
   * Runs code in a language runtime (`capabilities.codeLanguages`). Whether state carries over
   * between calls depends on the backend (microsandbox keeps a REPL; local starts fresh).
   */
  async runCode(code: string, options: RunCodeOptions): Promise<ExecResult> {
    const runCode = this.#connection.runCode?.bind(this.#connection);
    const languages = this.capabilities.codeLanguages;
    if (runCode === undefined || languages.length === 0) this.#unsupported("runCode", "runCode");
    if (!languages.includes(options.language)) {
      throw new ValidationError(`language ${JSON.stringify(options.language)} is not one of ${languages.join(", ")} on backend ${this.backend}`, {
        field: "language",
        operation: "runCode",
        backend: this.backend,
      });
    }
    const timeoutMs = checkMs(options.timeoutMs, "timeoutMs") ?? this.#settings.execTimeoutMs;
    const maxOutputBytes = checkMs(options.maxOutputBytes, "maxOutputBytes") ?? this.#settings.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    const onOutput = outputForwarder(options.onStdout, options.onStderr);
    const deadline = timeoutMs === undefined ? undefined : timeoutMs + (this.#settings.execGraceMs ?? DEFAULT_EXEC_GRACE_MS);
    const raw = await this.#run("runCode", { command: options.language }, { signal: options.signal, timeoutMs: deadline }, (call) =>
      runCode!({ code, language: options.language, timeoutMs, maxOutputBytes, onOutput: onOutput?.push }, call),
    );
    onOutput?.flush();
    const result = toExecResult(raw);
    if (options.check === true) this.#check([options.language], result, timeoutMs);
    return result;
  }

  /** Extends the sandbox's idle lifetime (`capabilities.ttl === "keep-alive"`). */
  async keepAlive(options: CallOptions & { readonly ttlMs?: number | undefined } = {}): Promise<KeepAliveResultV1> {
    const keepAlive = this.#backend.keepAlive?.bind(this.#backend);
    if (keepAlive === undefined || this.capabilities.ttl !== "keep-alive") this.#unsupported("keepAlive", "keepAlive");
    const ttlMs = checkMs(options.ttlMs, "ttlMs");
    return this.#run("keepAlive", {}, options, (call) => keepAlive!(this.id, { ttlMs }, call));
  }

  /** Resource usage, in the units the field names state (`capabilities.metrics`). */
  async metrics(options: CallOptions = {}): Promise<MetricsV1> {
    const metrics = this.#connection.metrics?.bind(this.#connection);
    if (metrics === undefined || !this.capabilities.metrics) this.#unsupported("metrics", "metrics");
    return this.#run("metrics", {}, options, (call) => metrics!(call));
  }

  /**
   * Destroys the sandbox (or detaches, with `onClose: "detach"`) and frees client resources.
   * Idempotent: later calls return the first call's promise. Bounded by `disposeTimeoutMs`.
   * Operations still running are aborted.
   */
  close(): Promise<void> {
    this.#closed ??= this.#shutdown(this.#settings.onClose ?? "destroy");
    return this.#closed;
  }

  /** Closes without destroying the sandbox and returns its id, for `createSandbox({ attach: id })` later. */
  async detach(): Promise<string> {
    this.#closed ??= this.#shutdown("detach");
    await this.#closed;
    return this.id;
  }

  /**
   * Disposal for `await using`. Never throws, so it cannot hide the error that ended the block:
   * a failure to destroy goes to `onDisposeError` (default: a process warning).
   */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.close();
    } catch (error) {
      const report = this.#settings.onDisposeError;
      if (report !== undefined) report(error);
      else process.emitWarning(`sandkit: sandbox ${this.id} on ${this.backend} was not cleaned up: ${describe(error)}`, { code: "SANDKIT_DISPOSE" });
    }
  }

  [inspectSymbol](): string {
    return `Sandbox { backend: ${JSON.stringify(this.backend)}, id: ${JSON.stringify(this.id)}, workdir: ${JSON.stringify(this.info.workdir)}${this.closed ? ", closed: true" : ""} }`;
  }

  toJSON(): Record<string, unknown> {
    return { backend: this.backend, id: this.id, workdir: this.info.workdir, closed: this.closed };
  }

  async #shutdown(mode: "destroy" | "detach"): Promise<void> {
    this.#closing.abort(new SandboxClosedError(`sandbox ${this.id} is closing`, { backend: this.backend, sandboxId: this.id }));
    const timeoutMs = this.#settings.disposeTimeoutMs ?? DEFAULT_DISPOSE_TIMEOUT_MS;
    const errors: unknown[] = [];
    if (mode === "destroy") {
      // A destroy that ignores its signal is cut off at the deadline.
      const call = createCallContext({ timeoutMs });
      const where = { backend: this.backend, operation: "destroy", sandboxId: this.id };
      try {
        await traced("sandkit:destroy", { ...where, operation: "destroy" }, () => untilAborted(this.#backend.destroy(this.id, call), call.signal));
      } catch (error) {
        errors.push(call.fail(error, where));
      } finally {
        call.dispose();
      }
    }
    // Client-side cleanup runs whatever happened to the destroy, with its own deadline.
    const call = createCallContext({ timeoutMs });
    try {
      const release = this.#connection.release?.bind(this.#connection);
      if (release !== undefined) {
        try {
          await untilAborted(release(), call.signal);
        } catch (error) {
          errors.push(call.fail(error, { backend: this.backend, operation: "release", sandboxId: this.id }));
        }
      }
      if (this.#settings.ownsBackend === true) {
        try {
          await untilAborted(this.#backend.close(), call.signal);
        } catch (error) {
          errors.push(call.fail(error, { backend: this.backend, operation: "close", sandboxId: this.id }));
        }
      }
    } finally {
      call.dispose();
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `closing sandbox ${this.id} failed in ${errors.length} ways`);
  }

  /** Runs one backend call with its deadline, the closing signal, tracing and error typing. */
  async #run<T>(
    operation: string,
    details: Omit<TraceContext, "operation" | "backend" | "sandboxId">,
    options: CallOptions,
    fn: (call: ReturnType<typeof createCallContext>) => Promise<T>,
  ): Promise<T> {
    if (this.#closed !== undefined) {
      throw new SandboxClosedError(`sandbox ${this.id} is closed; ${operation} cannot run`, {
        backend: this.backend,
        operation,
        sandboxId: this.id,
      });
    }
    const call = createCallContext({ signal: options.signal, timeoutMs: checkMs(options.timeoutMs, "timeoutMs"), owner: this.#closing.signal });
    const where = { backend: this.backend, operation, sandboxId: this.id };
    try {
      // Nothing starts once the caller has given up, and the caller's promise settles at the
      // abort or deadline even when a backend is slow to honour its signal.
      if (call.signal.aborted) throw call.signal.reason;
      return await traced(`sandkit:${operation}` as TraceChannelName, { ...details, ...where }, () => untilAborted(fn(call), call.signal));
    } catch (error) {
      throw call.fail(error, where);
    } finally {
      call.dispose();
    }
  }

  #check(argv: readonly string[], result: ExecResult, timeoutMs: number | undefined): void {
    const where = { backend: this.backend, operation: "exec", sandboxId: this.id };
    if (result.timedOut) {
      throw new CommandTimeoutError(`${argv[0]} did not finish within ${timeoutMs} ms`, {
        ...where,
        timeoutMs: timeoutMs ?? 0,
        stdout: result.stdout,
        stderr: result.stderr,
      });
    }
    if (result.exitCode !== 0) {
      const how = result.exitCode === null ? `was killed by ${result.signal ?? "a signal"}` : `exited with code ${result.exitCode}`;
      throw new CommandFailedError(`${argv[0]} ${how}`, { ...where, ...result });
    }
  }

  #unsupported(capability: CapabilityName, what: string): never {
    throw new CapabilityUnsupportedError(`backend ${this.backend} does not support ${what}`, {
      capability,
      backend: this.backend,
      sandboxId: this.id,
    });
  }
}

function toExecResult(raw: ExecResultV1): ExecResult {
  return {
    exitCode: raw.exitCode,
    signal: raw.signal ?? null,
    stdout: raw.stdout,
    stderr: raw.stderr,
    truncated: raw.stdoutTruncated || raw.stderrTruncated,
    stdoutTruncated: raw.stdoutTruncated,
    stderrTruncated: raw.stderrTruncated,
    durationMs: raw.durationMs,
    timedOut: raw.timedOut,
  };
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function validateEnv(env: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(env)) {
    if (!ENV_NAME.test(name)) throw new ValidationError(`environment variable name ${JSON.stringify(name)} is not valid`, { field: "env" });
    if (typeof value !== "string" || value.includes("\0")) {
      throw new ValidationError(`environment variable ${name} must be a string without NUL bytes`, { field: "env" });
    }
  }
}

/** Decodes output chunks per stream (UTF-8, split sequences kept) and hands text to the callbacks. */
function outputForwarder(
  onStdout: ((text: string) => void) | undefined,
  onStderr: ((text: string) => void) | undefined,
): { push: (chunk: OutputChunkV1) => void; flush: () => void } | undefined {
  if (onStdout === undefined && onStderr === undefined) return undefined;
  const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  const sinks = { stdout: onStdout, stderr: onStderr };
  return {
    push(chunk) {
      const sink = sinks[chunk.stream];
      if (sink === undefined) return;
      const text = decoders[chunk.stream].decode(chunk.data, { stream: true });
      if (text.length > 0) sink(text);
    },
    flush() {
      for (const stream of ["stdout", "stderr"] as const) {
        const text = decoders[stream].decode();
        if (text.length > 0) sinks[stream]?.(text);
      }
    },
  };
}

function describe(error: unknown): string {
  if (SandboxError.isInstance(error)) return `${(error as SandboxError).code}: ${(error as SandboxError).message}`;
  return error instanceof Error ? error.message : String(error);
}
