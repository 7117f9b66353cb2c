#!/usr/bin/env node
// The `sandkit` command. The logic lives in main.ts; this file wires it to the process: signals,
// a closed output pipe, and the exit status.
import { Interrupted } from "./interrupt.js";
import { main } from "./main.js";

const controller = new AbortController();
let stopping = false;

function onSignal(signal: NodeJS.Signals): void {
  if (stopping) {
    // A second Ctrl-C: the user does not want to wait for the sandbox to be removed.
    process.exit(new Interrupted(signal).exitStatus);
  }
  stopping = true;
  controller.abort(new Interrupted(signal));
}

process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);
process.on("SIGHUP", onSignal);
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  // `sandkit exec -- yes | head`: the reader went away, so stop the command (once; every later
  // write fails the same way) and still remove the sandbox.
  if (error.code !== "EPIPE") throw error;
  if (!controller.signal.aborted) controller.abort(new Interrupted("SIGPIPE"));
});

const status = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  signal: controller.signal,
});
process.exitCode = status;
// The sandbox is disposed by now. Should anything still hold the event loop open, do not hang.
setTimeout(() => process.exit(status), 2_000).unref();
