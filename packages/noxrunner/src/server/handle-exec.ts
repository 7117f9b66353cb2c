import { constants } from "node:os";
import { type ExecResultV1, FileNotFoundError, ValidationError } from "@sandkit/core";
import { backendFailure, backendPath, callFor, type SandboxRequest, type ServerContext, sessionFor } from "./handler-context.js";
import { ERROR_CODES, HttpError } from "./http-error.js";
import { parseJsonObject, readBody, sendJson } from "./http-io.js";
import { parseExecBody } from "./request-bodies.js";
import { goDuration } from "./wire-format.js";

/** `timeoutSeconds` of 0 or less means this (the reference server's default). */
export const DEFAULT_EXEC_TIMEOUT_SECONDS = 30;
/** Time allowed beyond the command's own timeout for the backend to stop it and answer. */
const EXEC_MARGIN_MS = 30_000;

/** The JSON body of a successful exec. */
export interface ExecResponseBody {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
  /** Present (true) only when stdout was cut at `maxOutputBytes`: an addition to the protocol. */
  readonly stdoutTruncated?: true;
  /** Present (true) only when stderr was cut at `maxOutputBytes`: an addition to the protocol. */
  readonly stderrTruncated?: true;
}

/**
 * `POST /v1/sandboxes/{id}/exec`. Checks run in the reference server's order: the body (`400`,
 * `422`), the session (`404`), then the timeout against the maximum (`504 EXEC_TIMEOUT`,
 * nothing runs). The argv runs as given, without the reference server's `sh -lc` wrapper (see
 * docs/server.md). A non-zero exit is a 200; a timeout is a 200 with exit code 124 or a `504`,
 * as `execTimeoutStyle` says. A successful exec moves the sandbox's expiry.
 */
export async function handleExec(ctx: ServerContext, request: SandboxRequest): Promise<void> {
  const body = parseExecBody(parseJsonObject(await readBody(request.req, ctx.options.maxJsonBytes)));
  const session = await sessionFor(ctx, request, "exec");
  const max = ctx.options.maxTimeoutSeconds;
  const timeoutSeconds = body.timeoutSeconds > 0 ? body.timeoutSeconds : Math.min(DEFAULT_EXEC_TIMEOUT_SECONDS, max);
  if (timeoutSeconds > max) throw new HttpError(504, ERROR_CODES.EXEC_TIMEOUT, `Timeout exceeds maximum of ${goDuration(max)}`);
  const call = callFor(ctx, request, timeoutSeconds * 1000 + EXEC_MARGIN_MS);
  let result: ExecResultV1 | undefined;
  let cdFailure: string | undefined;
  try {
    result = await ctx.sessions.use(session, () =>
      session.connection.exec(
        {
          argv: body.cmd,
          cwd: backendPath(body.workdir, session.workdir),
          env: body.env,
          timeoutMs: timeoutSeconds * 1000,
          maxOutputBytes: ctx.options.maxOutputBytes,
        },
        call,
      ),
    );
  } catch (error) {
    cdFailure = cdFailureOf(error, body.workdir);
    if (cdFailure === undefined) throw backendFailure(ctx, call.fail(error, { operation: "exec" }), "exec", session);
  } finally {
    call.dispose();
  }
  ctx.sessions.refresh(session);
  if (result === undefined) {
    // The workdir could not be entered: what `cd <workdir> && ...` in a shell would answer.
    sendJson(request.res, 200, { exitCode: 2, stdout: "", stderr: `sh: cd: ${body.workdir}: ${cdFailure}\n`, durationMs: 0 } satisfies ExecResponseBody);
    return;
  }
  if (result.timedOut && ctx.options.execTimeoutStyle === "http-504") {
    throw new HttpError(504, ERROR_CODES.EXEC_TIMEOUT, `Command timed out after ${goDuration(timeoutSeconds)}`);
  }
  sendJson(request.res, 200, execResponseOf(result, timeoutSeconds));
}

/**
 * The wire body of a result. A timed-out command gets exit code 124 and the line `Command timed
 * out after N seconds` after its stderr (its output so far is kept). A command killed by a
 * signal gets 128 + the signal number, as a shell would report it; an exit the backend could
 * not tell gets -1, the reference server's "unknown".
 */
export function execResponseOf(result: ExecResultV1, timeoutSeconds: number): ExecResponseBody {
  let exitCode: number;
  let stderr = result.stderr;
  if (result.timedOut) {
    exitCode = 124;
    stderr = `${stderr}${stderr === "" || stderr.endsWith("\n") ? "" : "\n"}Command timed out after ${timeoutSeconds} seconds`;
  } else if (typeof result.exitCode === "number") {
    exitCode = result.exitCode;
  } else {
    const signal = typeof result.signal === "string" ? (constants.signals as Readonly<Record<string, number>>)[result.signal] : undefined;
    exitCode = signal === undefined ? -1 : 128 + signal;
  }
  return {
    exitCode,
    stdout: result.stdout,
    stderr,
    durationMs: Math.max(0, Math.round(result.durationMs)),
    ...(result.stdoutTruncated ? { stdoutTruncated: true as const } : {}),
    ...(result.stderrTruncated ? { stderrTruncated: true as const } : {}),
  };
}

/** Why the backend could not enter the workdir, when that is what `error` says; `undefined` otherwise. */
function cdFailureOf(error: unknown, workdir: string): string | undefined {
  if (FileNotFoundError.isInstance(error)) return "No such file or directory";
  if (ValidationError.isInstance(error) && error.field === "cwd") {
    return workdir.length > 0 ? "Not a directory or not reachable" : undefined;
  }
  return undefined;
}
