/**
 * The transport row: a JSON POST through sandkit's HTTP client (deadline, retry wrapper, typed
 * errors, shape validation) against the same request through raw undici, to one loopback server
 * in another process. Sequential, and 32 in flight.
 */
import { fork, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { bool, createHttpClient, int, num, obj, str } from "@sandkit/core";
import { Agent } from "undici";
import { interleaved, microsPerCall, microsPerCallConcurrent, type BenchContext, type BenchRow } from "./harness.ts";

const SEQUENTIAL_PER_SAMPLE = 25;
const CONCURRENT_PER_SAMPLE = 128;
const CONCURRENCY = 32;
const WARMUP = 20;
const ROUNDS = 160;
const TARGET = 1.1;

const execResult = obj({ exitCode: int, stdout: str, stderr: str, durationMs: num, timedOut: bool });
const payload = { argv: ["echo", "hello from the sandbox"], cwd: "/workspace", env: { LANG: "C.UTF-8" }, timeoutMs: 30_000 };

async function startServer(): Promise<{ child: ChildProcess; origin: string }> {
  const script = fileURLToPath(new URL("./servers/json-server.ts", import.meta.url));
  const child = fork(script, [], { execArgv: ["--experimental-strip-types", "--disable-warning=ExperimentalWarning"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const [message] = (await once(child, "message")) as [{ port: number }];
  return { child, origin: `http://127.0.0.1:${message.port}` };
}

export async function rows(context: BenchContext): Promise<readonly BenchRow[]> {
  const { child, origin } = await startServer();
  const sandkit = createHttpClient({ baseUrl: origin, backend: "bench" });
  const raw = new Agent();
  const viaSandkit = async (): Promise<void> => {
    const response = await sandkit.request({ operation: "exec", method: "POST", path: "/exec", json: payload, idempotent: false, shape: execResult });
    if (response.body.exitCode !== 0) throw new Error("unexpected body");
  };
  const viaUndici = async (): Promise<void> => {
    const response = await raw.request({ origin, path: "/exec", method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(payload) });
    const body = (await response.body.json()) as { exitCode: number };
    if (response.statusCode !== 200 || body.exitCode !== 0) throw new Error("unexpected response");
  };
  try {
    context.log("transport: sequential");
    const sequential = await interleaved({
      warmup: WARMUP,
      rounds: ROUNDS,
      sandkit: () => microsPerCall(SEQUENTIAL_PER_SAMPLE, viaSandkit),
      baseline: () => microsPerCall(SEQUENTIAL_PER_SAMPLE, viaUndici),
    });
    context.log(`transport: ${CONCURRENCY} concurrent`);
    const concurrent = await interleaved({
      warmup: WARMUP,
      rounds: ROUNDS,
      sandkit: () => microsPerCallConcurrent(CONCURRENT_PER_SAMPLE, CONCURRENCY, viaSandkit),
      baseline: () => microsPerCallConcurrent(CONCURRENT_PER_SAMPLE, CONCURRENCY, viaUndici),
    });
    const note = `JSON POST (${JSON.stringify(payload).length} B up, ~100 B down) to a node:http server in a child process; ${ROUNDS} samples per side after ${WARMUP} warm-up rounds`;
    return [
      { name: "transport: JSON POST, sequential", unit: "µs/request", targetRatio: TARGET, ...sequential, note },
      { name: `transport: JSON POST, ${CONCURRENCY} concurrent`, unit: "µs/request", targetRatio: TARGET, ...concurrent },
    ];
  } finally {
    await sandkit.close();
    await raw.close();
    child.disconnect();
    await once(child, "exit");
  }
}
