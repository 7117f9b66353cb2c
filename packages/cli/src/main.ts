import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename, posix, resolve } from "node:path";
import { createSandbox, type ExecResult, resolveSandboxPath, type Sandbox } from "@sandkit/core";
import { exitStatusOf, TIMEOUT_EXIT_STATUS } from "./exit-status.js";
import { helpText } from "./help.js";
import { Interrupted } from "./interrupt.js";
import { relayOutput, type TextSink } from "./output.js";
import { type CliInvocation, parseCommandLine } from "./parse-args.js";
import { reportError } from "./report-error.js";
import { type Environment, sandboxConfigFrom } from "./sandbox-config.js";
import { parseServeArgs, serve } from "./serve.js";
import { UsageError } from "./usage-error.js";
import { cliVersion } from "./version.js";

/** What the CLI talks to. `bin.ts` passes the process's own; tests may pass buffers. */
export interface CliIO {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  /** Variables for defaults (`SANDKIT_*`). */
  readonly env: Environment;
  /** The directory local file arguments are relative to. */
  readonly cwd: string;
  /**
   * Stops the command and disposes the sandbox. Abort it with an {@link Interrupted} reason to
   * make the CLI exit with 128 + that signal's number.
   */
  readonly signal?: AbortSignal | undefined;
}

type SandboxInvocation = Extract<CliInvocation, { readonly backend: unknown }>;

/**
 * Output the CLI keeps and passes through per stream unless `--max-output` says otherwise:
 * larger than a library's default, because a terminal user asked for this output.
 */
export const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

/**
 * Runs the `sandkit` command line `argv` (without `node` and the script) and resolves to the exit
 * status. It never throws: failures are written to `io.stderr` and become the status.
 */
export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  const args = [...argv];
  while (args[0] === "--") args.shift();
  if (args[0] === "serve") {
    try {
      return await serve(parseServeArgs(args.slice(1), io.env), io);
    } catch (error) {
      return usageFailure(error, io);
    }
  }
  let invocation: CliInvocation;
  try {
    invocation = parseCommandLine(argv);
  } catch (error) {
    return usageFailure(error, io);
  }
  switch (invocation.action) {
    case "help":
      io.stdout.write(helpText());
      return 0;
    case "version":
      io.stdout.write(`${cliVersion()}\n`);
      return 0;
    default:
      return runInSandbox(invocation, io);
  }
}

async function runInSandbox(invocation: SandboxInvocation, io: CliIO): Promise<number> {
  const debug = io.env.SANDKIT_DEBUG === "1";
  try {
    const config = sandboxConfigFrom(invocation.backend, io.env);
    const localFile = invocation.action === "run" ? await checkLocalFile(resolve(io.cwd, invocation.file)) : undefined;
    await using sandbox = await createSandbox(
      {
        ...config,
        signal: io.signal,
        onDisposeError: (error: unknown) => {
          io.stderr.write("sandkit: warning: the sandbox may not have been removed\n");
          reportError(error, io.stderr, debug);
        },
      },
      io.env,
    );
    const argv = invocation.action === "exec"
      ? invocation.argv
      : invocation.action === "sh"
        ? ["sh", "-c", invocation.script]
        : [...invocation.interpreter, await uploadScript(sandbox, localFile!, invocation.command.cwd, io.signal), ...invocation.args];
    const relay = relayOutput(io.stdout, io.stderr);
    const maxOutputBytes = invocation.command.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    const result = await sandbox.exec(argv, {
      timeoutMs: invocation.command.timeoutMs,
      maxOutputBytes,
      cwd: invocation.command.cwd,
      env: Object.keys(invocation.command.env).length > 0 ? invocation.command.env : undefined,
      signal: io.signal,
      onStdout: relay.onStdout,
      onStderr: relay.onStderr,
    });
    relay.finish(result);
    return finish(result, maxOutputBytes, sandbox.capabilities.exec.stream === "live", io.stderr);
  } catch (error) {
    const reason: unknown = io.signal?.aborted === true ? io.signal.reason : undefined;
    if (reason instanceof Interrupted) {
      io.stderr.write(`sandkit: stopped by ${reason.signalName}; the sandbox was removed\n`);
      return reason.exitStatus;
    }
    if (error instanceof UsageError) return usageFailure(error, io);
    return reportError(error, io.stderr, debug);
  }
}

/**
 * Copies the local script into the sandbox's workdir and returns its path relative to the
 * command's working directory (`./name.py`). Relative, because a backend that runs commands on
 * the host (local, isolation none) has the workdir somewhere else than its sandbox path.
 */
async function uploadScript(sandbox: Sandbox, localFile: string, cwd: string | undefined, signal: AbortSignal | undefined): Promise<string> {
  const workdir = sandbox.info.workdir;
  const target = posix.join(workdir, basename(localFile));
  await sandbox.files.write(target, createReadStream(localFile), { signal });
  const from = cwd === undefined ? workdir : resolveSandboxPath(cwd, workdir, "cwd");
  const relative = posix.relative(from, target);
  // "./" keeps a name such as "-x.py" from reading as an interpreter option.
  return relative.startsWith("../") ? relative : `./${relative}`;
}

async function checkLocalFile(path: string): Promise<string> {
  let isFile: boolean;
  try {
    isFile = (await stat(path)).isFile();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(code === "ENOENT" ? `no such file: ${path}` : `cannot read ${path} (${code ?? "error"})`);
  }
  if (!isFile) throw new UsageError(`not a regular file: ${path}`);
  return path;
}

function finish(result: ExecResult, maxOutputBytes: number, live: boolean, stderr: TextSink): number {
  const status = exitStatusOf(result);
  if (result.timedOut) {
    stderr.write(`sandkit: the command timed out after ${Math.round(result.durationMs)} ms and was stopped (exit status ${TIMEOUT_EXIT_STATUS})\n`);
  } else if (result.exitCode === null) {
    stderr.write(`sandkit: the command was killed by ${result.signal ?? "a signal"} (exit status ${status})\n`);
  }
  const cut = [result.stdoutTruncated ? "stdout" : undefined, result.stderrTruncated ? "stderr" : undefined].filter((s) => s !== undefined);
  // A live backend streamed every byte; only a buffered one lost what lay past the cap.
  if (cut.length > 0 && !live) {
    stderr.write(`sandkit: warning: the command wrote more than ${maxOutputBytes} bytes to ${cut.join(" and ")}; the rest was dropped (raise the limit with --max-output)\n`);
  }
  return status;
}

function usageFailure(error: unknown, io: CliIO): number {
  if (!(error instanceof UsageError)) return reportError(error, io.stderr);
  io.stderr.write(`sandkit: ${error.message}\nRun "sandkit --help" for usage.\n`);
  return UsageError.exitCode;
}
