import { randomUUID } from "node:crypto";
import { SandboxError, ValidationError, type ExecResultV1, type OutputChunkV1 } from "@sandkit/core";
import { sendFailure, sendOk } from "./aio-envelope.js";
import { type DataPlaneContext, type DataPlaneRequest, rememberSession, rememberShellSession } from "./data-plane-context.js";
import { readJsonObject } from "./http-io.js";
import { RequestFields } from "./request-fields.js";

/** Where `/v1/shell/exec` cuts its output when `truncate` is on (the AIO default). */
const SHELL_TRUNCATE_CHARS = 30_000;
/** The default `max_output_length` of `/v1/bash/exec`. */
const BASH_MAX_OUTPUT = 50_000;

/** `data` of a `/v1/shell/exec` answer. */
export interface ShellExecData {
  readonly session_id: string;
  readonly command: string;
  readonly status: "completed" | "hard_timeout";
  readonly output: string;
  readonly exit_code: number | null;
  readonly console: null;
}

/** `data` of a `/v1/bash/exec` answer. */
export interface BashExecData {
  readonly session_id: string;
  readonly command_id: string;
  readonly command: string;
  readonly status: "completed" | "timed_out";
  readonly stdout: string;
  readonly stderr: string;
  readonly exit_code: number | null;
  readonly offset: number;
  readonly stderr_offset: number;
}

/** A command run for the AIO API: its result and its output in arrival order. */
interface RunResult {
  readonly result: ExecResultV1;
  readonly merged: string;
}

/**
 * `POST /v1/shell/exec`: runs `command` with bash in the backend sandbox. The AIO server runs it
 * in a persistent PTY; here each command is its own process (no state carries over between
 * commands of one session), stdout and stderr are merged in arrival order as a PTY would, and
 * one trailing newline is dropped. `hard_timeout` kills the command (status `hard_timeout`).
 * `timeout`, `no_change_timeout` and `async_mode` are accepted, but the call always waits for the
 * command to end or be killed. An unknown `id` is `404`.
 */
export async function handleShellExec(ctx: DataPlaneContext, request: DataPlaneRequest): Promise<void> {
  const fields = new RequestFields(await readJsonObject(request.req, ctx.options.maxJsonBytes));
  const command = fields.requiredString("command");
  const id = fields.string("id");
  const execDir = fields.string("exec_dir");
  fields.boolean("async_mode");
  fields.number("timeout", 0);
  fields.boolean("strict");
  fields.integer("no_change_timeout", 0);
  const hardTimeout = fields.number("hard_timeout", 0);
  fields.boolean("preserve_symlinks");
  const truncate = fields.boolean("truncate") ?? true;
  fields.done();
  let session = id === undefined ? undefined : ctx.shellSessions.get(id);
  if (id !== undefined && session === undefined) {
    sendFailure(request.res, 404, `Session not found: ${id}`);
    return;
  }
  session ??= { id: randomUUID(), workingDir: ctx.connection.info.workdir };
  rememberShellSession(ctx, session);
  const cwd = execDir === undefined ? session.workingDir : ctx.paths.toBackend(execDir);
  if (cwd === undefined) {
    sendFailure(request.res, 400, `Invalid exec_dir: ${execDir ?? ""}`);
    return;
  }
  const run = await runCommand(ctx, request, { command, cwd, env: undefined, hardTimeoutSeconds: hardTimeout });
  if (run === undefined) return;
  let output = run.merged.endsWith("\n") ? run.merged.slice(0, -1) : run.merged;
  if (truncate && output.length > SHELL_TRUNCATE_CHARS) output = `${output.slice(0, SHELL_TRUNCATE_CHARS)}\n... (truncated)`;
  const data: ShellExecData = {
    session_id: session.id,
    command,
    status: run.result.timedOut ? "hard_timeout" : "completed",
    output,
    exit_code: run.result.timedOut ? null : run.result.exitCode,
    console: null,
  };
  sendOk(request.res, data);
}

/** `POST /v1/shell/sessions/create`: remembers a session (an existing id is returned as it is). */
export async function handleShellSessionCreate(ctx: DataPlaneContext, request: DataPlaneRequest): Promise<void> {
  const fields = new RequestFields(await readJsonObject(request.req, ctx.options.maxJsonBytes));
  const id = fields.string("id") ?? randomUUID();
  const execDir = fields.string("exec_dir");
  fields.integer("no_change_timeout", 0);
  fields.boolean("preserve_symlinks");
  fields.done();
  const existing = ctx.shellSessions.get(id);
  if (existing !== undefined) {
    sendOk(request.res, { session_id: existing.id, working_dir: existing.workingDir });
    return;
  }
  const workingDir = execDir === undefined ? ctx.connection.info.workdir : ctx.paths.toBackend(execDir);
  if (workingDir === undefined) {
    sendFailure(request.res, 400, `Invalid exec_dir: ${execDir ?? ""}`);
    return;
  }
  rememberShellSession(ctx, { id, workingDir });
  sendOk(request.res, { session_id: id, working_dir: workingDir });
}

/** `DELETE /v1/shell/sessions/{id}`: forgets a session; an unknown one is `404`. */
export function handleShellSessionDelete(ctx: DataPlaneContext, request: DataPlaneRequest, id: string): void {
  if (!ctx.shellSessions.delete(id)) {
    sendFailure(request.res, 404, `Session not found: ${id}`);
    return;
  }
  sendOk(request.res, null, "Session deleted");
}

/**
 * `POST /v1/bash/exec`: runs `command` with bash, stdout and stderr apart, with `env` for this
 * command only and `exec_dir` as its directory. A non-zero exit is still `completed`;
 * `hard_timeout` kills the command (status `timed_out`, `exit_code` null). Output is cut in the
 * middle past `max_output_length` (default 50 000; 0 keeps everything up to the server's limit).
 */
export async function handleBashExec(ctx: DataPlaneContext, request: DataPlaneRequest): Promise<void> {
  const fields = new RequestFields(await readJsonObject(request.req, ctx.options.maxJsonBytes));
  const command = fields.requiredString("command");
  const sessionId = fields.string("session_id") ?? randomUUID();
  const execDir = fields.string("exec_dir");
  const env = fields.stringMap("env");
  fields.boolean("async_mode");
  fields.number("timeout", 0);
  const hardTimeout = fields.number("hard_timeout", 0);
  const maxOutput = fields.integer("max_output_length", 0) ?? BASH_MAX_OUTPUT;
  fields.done();
  const session = ctx.bashSessions.get(sessionId);
  const cwd = execDir === undefined ? (session?.workingDir ?? ctx.connection.info.workdir) : ctx.paths.toBackend(execDir);
  if (cwd === undefined) {
    sendFailure(request.res, 400, `Invalid exec_dir: ${execDir ?? ""}`);
    return;
  }
  rememberSession(ctx.bashSessions, session ?? { id: sessionId, workingDir: ctx.connection.info.workdir });
  const run = await runCommand(ctx, request, { command, cwd, env, hardTimeoutSeconds: hardTimeout });
  if (run === undefined) return;
  const data: BashExecData = {
    session_id: sessionId,
    command_id: randomUUID(),
    command,
    status: run.result.timedOut ? "timed_out" : "completed",
    stdout: middleTruncate(run.result.stdout, maxOutput),
    stderr: middleTruncate(run.result.stderr, maxOutput),
    exit_code: run.result.timedOut ? null : run.result.exitCode,
    offset: Buffer.byteLength(run.result.stdout),
    stderr_offset: Buffer.byteLength(run.result.stderr),
  };
  sendOk(request.res, data);
}

/** `POST /v1/bash/sessions/create` `{session_id?, exec_dir?}`: remembers a bash session (an existing one is returned as it is). */
export async function handleBashSessionCreate(ctx: DataPlaneContext, request: DataPlaneRequest): Promise<void> {
  const fields = new RequestFields(await readJsonObject(request.req, ctx.options.maxJsonBytes));
  const id = fields.string("session_id") ?? randomUUID();
  const execDir = fields.string("exec_dir");
  fields.done();
  const existing = ctx.bashSessions.get(id);
  if (existing !== undefined) {
    sendOk(request.res, { session_id: existing.id, working_dir: existing.workingDir });
    return;
  }
  const workingDir = execDir === undefined ? ctx.connection.info.workdir : ctx.paths.toBackend(execDir);
  if (workingDir === undefined) {
    sendFailure(request.res, 400, `Invalid exec_dir: ${execDir ?? ""}`);
    return;
  }
  rememberSession(ctx.bashSessions, { id, workingDir });
  sendOk(request.res, { session_id: id, working_dir: workingDir });
}

/** `POST /v1/bash/sessions/{id}/close`: forgets a bash session; an unknown one is `404`. */
export function handleBashSessionClose(ctx: DataPlaneContext, request: DataPlaneRequest, id: string): void {
  if (!ctx.bashSessions.delete(id)) {
    sendFailure(request.res, 404, `Session not found: ${id}`);
    return;
  }
  sendOk(request.res, null, "Session closed");
}

/** Keeps the head and tail of `text` when it is longer than `max` (0: no limit). */
export function middleTruncate(text: string, max: number): string {
  if (max === 0 || text.length <= max) return text;
  const half = Math.floor(max / 2);
  return `${text.slice(0, half)}\n... (${text.length - max} characters truncated) ...\n${text.slice(text.length - (max - half))}`;
}

/**
 * Runs one command through the backend; answers the request itself and returns `undefined`
 * when the backend refused it (a bad directory is `400`, anything else `500`, both with the
 * envelope).
 */
async function runCommand(
  ctx: DataPlaneContext,
  request: DataPlaneRequest,
  command: { readonly command: string; readonly cwd: string; readonly env: Readonly<Record<string, string>> | undefined; readonly hardTimeoutSeconds: number | undefined },
): Promise<RunResult | undefined> {
  const limitSeconds = Math.min(command.hardTimeoutSeconds ?? ctx.options.maxExecTimeoutSeconds, ctx.options.maxExecTimeoutSeconds);
  const chunks: Buffer[] = [];
  let kept = 0;
  const onOutput = (chunk: OutputChunkV1): void => {
    if (kept >= ctx.options.maxOutputBytes * 2) return;
    const data = Buffer.from(chunk.data.buffer, chunk.data.byteOffset, chunk.data.byteLength);
    chunks.push(Buffer.from(data));
    kept += data.byteLength;
  };
  try {
    const result = await ctx.connection.exec(
      {
        argv: ["bash", "-c", command.command],
        cwd: command.cwd,
        env: command.env,
        timeoutMs: Math.max(1, Math.round(limitSeconds * 1000)),
        maxOutputBytes: ctx.options.maxOutputBytes,
        onOutput,
      },
      { signal: request.signal },
    );
    return { result, merged: Buffer.concat(chunks).toString("utf8") };
  } catch (error) {
    if (request.res.destroyed) return undefined;
    if (ValidationError.isInstance(error) || (SandboxError.isInstance(error) && error.code === "FILE_NOT_FOUND")) {
      sendFailure(request.res, 400, `The command could not be started: ${error.message}`);
    } else {
      sendFailure(request.res, 500, "The command could not be run");
    }
    return undefined;
  }
}
