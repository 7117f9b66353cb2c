import type { ExecResult, Sandbox } from "@sandkit/core";
import { expect } from "vitest";
import { pollUntil } from "./assertions.js";
import type { ConformanceHarness } from "./harness.js";

/**
 * Shell code that starts a background subshell appending a byte to `file` every 50 ms, waits
 * until the first beat has landed, and prints `up`. The subshell also holds the command's stdout
 * open. If it survives its command, the heartbeat goes on.
 */
export function heartbeatScript(file: string): string {
  return `(while :; do printf . >> ${file}; sleep 0.05; done) & while [ ! -s ${file} ]; do sleep 0.01; done; echo up;`;
}

/**
 * Starts a long command with a heartbeat (in the file `beat`) and resolves once it runs: on live
 * backends when `up` reaches `onStdout`, on buffered ones when the heartbeat file appears. The
 * command's own promise is returned inside an object so that it is not awaited here.
 */
export async function startHeartbeatCommand(
  h: ConformanceHarness,
  sbx: Sandbox,
  signal?: AbortSignal,
): Promise<{ readonly running: Promise<ExecResult> }> {
  let seen = "";
  let markUp: () => void = () => undefined;
  const up = new Promise<void>((resolve) => {
    markUp = resolve;
  });
  const running = sbx.exec(["sh", "-c", `${heartbeatScript("beat")} sleep 30`], {
    signal,
    timeoutMs: h.scaled(20_000),
    onStdout: (text) => {
      seen += text;
      if (seen.includes("up")) markUp();
    },
  });
  running.catch(() => undefined);
  if (h.capabilities(sbx).exec.stream === "live") {
    const ended = running.then((result) => {
      throw new Error(`the command ended before it was seen running: ${JSON.stringify(result)}`);
    });
    ended.catch(() => undefined);
    await Promise.race([up, ended]);
  } else {
    // Buffered output arrives only at the end: watch for the heartbeat file instead.
    const started = await pollUntil(async () => (await sbx.exec(["test", "-s", "beat"])).exitCode === 0, { timeoutMs: h.scaled(10_000) });
    expect(started, "the command started").toBe(true);
  }
  return { running };
}

async function heartbeatSize(sandbox: Sandbox, file: string): Promise<number> {
  const result = await sandbox.exec(["sh", "-c", `wc -c < ${file}`]);
  expect(result.exitCode, `reading heartbeat file ${file}: ${result.stderr}`).toBe(0);
  return Number.parseInt(result.stdout.trim(), 10);
}

/**
 * Asserts that the heartbeat of {@link heartbeatScript} has stopped: its file does not grow over
 * an observation window of ten beats. This is the bounded check that no process of a stopped
 * command is left: it fails as soon as the file grows.
 */
export async function expectHeartbeatStopped(h: ConformanceHarness, sandbox: Sandbox, file: string): Promise<void> {
  const first = await heartbeatSize(sandbox, file);
  expect(first, "the heartbeat had started before the command was stopped").toBeGreaterThan(0);
  const advanced = await pollUntil(async () => (await heartbeatSize(sandbox, file)) !== first, {
    timeoutMs: h.scaled(500),
    intervalMs: 50,
  });
  expect(advanced, "a background process of the stopped command is still running (its heartbeat went on)").toBe(false);
}
