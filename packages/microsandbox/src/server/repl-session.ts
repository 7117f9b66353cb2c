import { randomBytes } from "node:crypto";
import type { SandboxConnectionV1 } from "@sandkit/core";
import { LineAssembler, type OutputLine } from "./output-lines.js";
import { NODE_DRIVER, PYTHON_DRIVER } from "./repl-drivers.js";

/** The two interpreters a REPL can run. */
export type ReplLanguage = "python" | "node";

/** Characters of output one run keeps (about 16 MiB of text); the rest is dropped. */
const MAX_RUN_CHARS = 16 * 1024 * 1024;
/** How long the driver may take to say it is ready. */
const READY_TIMEOUT_MS = 30_000;
/** How long writing one request into the driver's pipe may take. */
const WRITE_TIMEOUT_MS = 30_000;

/** The REPL could not be started or died outside a run: reported as an in-band `Error:` line. */
export class ReplUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ReplUnavailableError";
  }
}

interface ActiveRun {
  readonly id: number;
  readonly lines: LineAssembler;
  readonly done: (outcome: "end" | "exit") => void;
}

/**
 * One long-lived interpreter inside one sandbox, driven through the backend contract alone: the
 * driver runs as a single `exec` without a time limit whose live output (`onOutput`) carries the
 * frames, and each request is written into the driver's named pipe by a short `exec` of
 * `sh -c 'cat > "$1"'` with the request on standard input. Needs a backend with live output,
 * stdin, and concurrent commands (the local backend has all three).
 *
 * Runs are queued: one at a time, as upstream's portal. A run past its timeout kills the
 * interpreter (its state is lost); the next run starts a fresh one.
 */
export class ReplSession {
  readonly #connection: SandboxConnectionV1;
  readonly #language: ReplLanguage;
  readonly #onError: (error: unknown) => void;
  #queue: Promise<unknown> = Promise.resolve();
  #process: DriverProcess | undefined;
  #closed = false;

  constructor(connection: SandboxConnectionV1, language: ReplLanguage, onError: (error: unknown) => void) {
    this.#connection = connection;
    this.#language = language;
    this.#onError = onError;
  }

  /** Runs `code` and returns its output lines; a timeout ends with upstream's in-band line. */
  run(code: string, timeoutSeconds: number | undefined): Promise<OutputLine[]> {
    const next = this.#queue.then(() => this.#run(code, timeoutSeconds));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** Kills the interpreter and settles once it is gone. Later runs fail. */
  async close(): Promise<void> {
    this.#closed = true;
    const driver = this.#process;
    this.#process = undefined;
    driver?.kill();
    await driver?.exitedPromise;
  }

  async #run(code: string, timeoutSeconds: number | undefined): Promise<OutputLine[]> {
    if (this.#closed) throw new ReplUnavailableError("the sandbox was stopped");
    let driver = this.#process;
    if (driver === undefined || driver.hasExited) {
      driver = new DriverProcess(this.#connection, this.#language, this.#onError);
      this.#process = driver;
    }
    const timeoutMs = timeoutSeconds === undefined ? undefined : timeoutSeconds * 1000;
    let outcome: RunOutcome;
    try {
      outcome = await driver.run(code, timeoutMs);
    } catch (error) {
      // The interpreter never became ready: drop it so that the next run tries afresh.
      driver.kill();
      if (this.#process === driver) this.#process = undefined;
      throw error;
    }
    if (outcome.kind === "timeout") {
      driver.kill();
      void driver.exitedPromise.then(() => driver.removePipe());
      if (this.#process === driver) this.#process = undefined;
      return [
        ...outcome.lines,
        { stream: "stderr", text: "Error: the interpreter was restarted; variables and imports from earlier runs are gone" },
        { stream: "stderr", text: `Error: Execution timed out after ${timeoutSeconds} seconds` },
      ];
    }
    if (outcome.kind === "exit") {
      if (this.#process === driver) this.#process = undefined;
      return [...outcome.lines, { stream: "stderr", text: "Error: the interpreter exited; variables and imports from earlier runs are gone" }];
    }
    return outcome.lines;
  }
}

type RunOutcome = { readonly kind: "end" | "exit" | "timeout"; readonly lines: OutputLine[] };

/** One driver process and its frame parser. */
class DriverProcess {
  readonly #connection: SandboxConnectionV1;
  readonly #marker = `sandkit-${randomBytes(16).toString("hex")}`;
  readonly #abort = new AbortController();
  readonly #decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  #buffer = "";
  #fifo: string | undefined;
  #active: ActiveRun | undefined;
  #nextId = 1;
  #exited = false;
  readonly #ready: Promise<string>;
  readonly #exit: Promise<void>;

  constructor(connection: SandboxConnectionV1, language: ReplLanguage, onError: (error: unknown) => void) {
    this.#connection = connection;
    const fifo = `.sandkit-repl-${randomBytes(8).toString("hex")}.fifo`;
    const argv = language === "python" ? ["python3", "-u", "-c", PYTHON_DRIVER, this.#marker, fifo] : ["node", "-e", NODE_DRIVER, this.#marker, fifo];
    let resolveReady!: (path: string) => void;
    let rejectReady!: (error: unknown) => void;
    this.#ready = new Promise<string>((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    this.#ready.catch(() => undefined);
    const onReady = (path: string): void => {
      this.#fifo = path;
      resolveReady(path);
    };
    const execution = connection.exec(
      {
        argv,
        maxOutputBytes: 64 * 1024,
        onOutput: (chunk) => {
          const text = this.#decoders[chunk.stream].decode(chunk.data, { stream: true });
          if (chunk.stream === "stderr") this.#active?.lines.push("stderr", text);
          else this.#onStdout(text, onReady);
        },
      },
      { signal: this.#abort.signal },
    );
    this.#exit = execution.then(
      (result) => {
        if (this.#fifo === undefined) {
          rejectReady(new ReplUnavailableError(`the ${language} interpreter could not be started (exit code ${String(result.exitCode)}): ${result.stderr.slice(0, 500).trim()}`));
        }
      },
      (error: unknown) => {
        if (!this.#abort.signal.aborted) onError(error);
        rejectReady(new ReplUnavailableError(`the ${language} interpreter could not be started`, { cause: error }));
      },
    ).finally(() => {
      this.#exited = true;
      this.#active?.done("exit");
    });
  }

  /** Sends one request and waits for its `end` frame, the driver's exit, or the timeout. */
  async run(code: string, timeoutMs: number | undefined): Promise<RunOutcome> {
    const fifo = await withTimeout(this.#ready, READY_TIMEOUT_MS, () => new ReplUnavailableError("the interpreter did not start in time"));
    const id = this.#nextId++;
    const lines = new LineAssembler(MAX_RUN_CHARS);
    let timer: NodeJS.Timeout | undefined;
    const writer = new AbortController();
    const outcome = await new Promise<RunOutcome["kind"]>((resolve) => {
      this.#active = { id, lines, done: resolve };
      if (this.#exited) resolve("exit");
      if (timeoutMs !== undefined) timer = setTimeout(() => resolve("timeout"), timeoutMs);
      const request = new TextEncoder().encode(JSON.stringify({ id, code }));
      this.#connection
        .exec(
          { argv: ["sh", "-c", 'cat > "$1"', "sh", fifo], stdin: request, timeoutMs: WRITE_TIMEOUT_MS, maxOutputBytes: 4096 },
          { signal: AbortSignal.any([writer.signal, this.#abort.signal]) },
        )
        .then(
          (result) => {
            if (result.exitCode !== 0) resolve("exit");
          },
          () => resolve("exit"),
        );
    });
    clearTimeout(timer);
    writer.abort();
    this.#active = undefined;
    return { kind: outcome, lines: lines.finish() };
  }

  /**
   * Removes the driver's pipe after a kill (a killed driver cannot do it itself). Best effort:
   * the sandbox may be gone already.
   */
  async removePipe(): Promise<void> {
    if (this.#fifo === undefined) return;
    try {
      await this.#connection.exec({ argv: ["rm", "-f", "--", this.#fifo], timeoutMs: 10_000, maxOutputBytes: 4096 }, { signal: AbortSignal.timeout(15_000) });
    } catch {
      // The sandbox is gone or stopping; its workspace goes with it.
    }
  }

  /** Kills the driver (and so the interpreter's whole process group). */
  kill(): void {
    this.#abort.abort(new ReplUnavailableError("the interpreter was stopped"));
  }

  /** Whether the driver's command is over. */
  get hasExited(): boolean {
    return this.#exited;
  }

  /** Settles once the driver's command is over. */
  get exitedPromise(): Promise<void> {
    return this.#exit;
  }

  #onStdout(text: string, onReady: (path: string) => void): void {
    this.#buffer += text;
    let newline: number;
    while ((newline = this.#buffer.indexOf("\n")) !== -1) {
      const line = this.#buffer.slice(0, newline);
      this.#buffer = this.#buffer.slice(newline + 1);
      this.#onLine(line, onReady);
    }
    // Unframed text without a newline waits for the next line (a frame always ends with one).
  }

  #onLine(line: string, onReady: (path: string) => void): void {
    const at = line.indexOf(`${this.#marker}\t`);
    if (at === -1) {
      this.#active?.lines.push("stdout", `${line}\n`);
      return;
    }
    if (at > 0) this.#active?.lines.push("stdout", line.slice(0, at));
    const rest = line.slice(at + this.#marker.length + 1);
    const tab = rest.indexOf("\t");
    if (tab === -1) return;
    const kind = rest.slice(0, tab);
    let payload: unknown;
    try {
      payload = JSON.parse(rest.slice(tab + 1));
    } catch {
      return;
    }
    const active = this.#active;
    if (kind === "ready" && typeof payload === "string") onReady(payload);
    else if ((kind === "stdout" || kind === "stderr") && typeof payload === "string") active?.lines.push(kind, payload);
    else if (kind === "end" && active !== undefined && payload === active.id) active.done("end");
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(error()), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
