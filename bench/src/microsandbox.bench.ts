/**
 * The microsandbox rows: the `@sandkit/microsandbox` adapter against raw undici JSON-RPC requests
 * doing the same work on the same microsandbox-compatible server (`@sandkit/microsandbox/server`
 * over the local backend without isolation, in `--dev` mode), which runs in a child process of its
 * own so that its work does not share the event loop with the client being measured.
 *
 * - runCode round trip: `sandbox.runCode("pass")` against a raw `sandbox.repl.run` with the same
 *   params (the server feeds both to the same Python REPL).
 * - exec round trip: `sandbox.exec(["true"])` with `exactOutput: false` (argv sent as is) against a
 *   raw `sandbox.command.run` of `true`: the protocol work alone. The default `exactOutput: true`
 *   adds one `sh` (and two `head | base64` pipelines) per command in the sandbox.
 * - a 50 MiB file round trip through the emulated file operations (`files.write` then `files.read`,
 *   base64 through `command.run`, 192 KiB per write request and 768 KiB per read) against raw
 *   undici sending the same chunks with the same shell commands, in MiB/s of file; the adapter's
 *   peak RSS growth during its round trips is a row of its own (against a budget).
 *
 * Until bench/package.json lists @sandkit/microsandbox and @sandkit/local, they are imported from
 * their built dist by relative path (build first: `pnpm build`).
 */
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createSandbox, type Sandbox } from "@sandkit/core";
import { Agent } from "undici";
import type * as LocalModule from "../../packages/local/dist/index.js";
import type * as MicrosandboxModule from "../../packages/microsandbox/dist/index.js";
import type * as ServerModule from "../../packages/microsandbox/dist/server/index.js";
import { interleaved, microsPerCall, type BenchContext, type BenchRow, type Measure } from "./harness.ts";

const MiB = 1024 * 1024;
const FILE_MIB = Number(process.env.SANDKIT_BENCH_MICROSANDBOX_FILE_MIB ?? 50);
const TARGET = 1.1;
const RSS_BUDGET_MIB = 128;
const CALL_WARMUP = 4;
const CALL_ROUNDS = 30;
const PER_SAMPLE = 10;
const FILE_ROUNDS = 3;
const WRITE_CHUNK = 192 * 1024;
const ARG_PIECE = 96 * 1024;
const READ_BLOCK = 64 * 1024;
const READ_BLOCKS = 12;
const SERVER_FLAG = "--sandkit-microsandbox-bench-server";

const here = fileURLToPath(import.meta.url);

function dist<T>(path: string): Promise<T> {
  return import(pathToFileURL(fileURLToPath(new URL(path, import.meta.url))).href) as Promise<T>;
}
const loadAdapter = (): Promise<typeof MicrosandboxModule> => dist("../../packages/microsandbox/dist/index.js");
const loadServer = (): Promise<typeof ServerModule> => dist("../../packages/microsandbox/dist/server/index.js");
const loadLocal = (): Promise<typeof LocalModule> => dist("../../packages/local/dist/index.js");

async function serverMain(): Promise<void> {
  const [{ createMicrosandboxServer }, { local }] = await Promise.all([loadServer(), loadLocal()]);
  const root = process.argv[process.argv.indexOf(SERVER_FLAG) + 1]!;
  const backend = local({ isolation: "none", root });
  const server = await createMicrosandboxServer({ backend, host: "127.0.0.1", port: 0, dev: true });
  process.send!({ url: server.url });
  process.on("disconnect", () => {
    void server.close().then(() => backend.close());
  });
}

async function startServer(root: string): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(here, [SERVER_FLAG, root], {
    execArgv: ["--experimental-strip-types", "--disable-warning=ExperimentalWarning"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const [message] = (await once(child, "message")) as [{ url: string }];
  return { child, url: message.url };
}

function measure(samples: number[]): Measure {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return { median: sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2, samples };
}

/** A raw JSON-RPC client: one undici request per call, the body parsed, the result returned. */
function rawRpc(raw: Agent, url: string) {
  return async (method: string, params: Record<string, unknown>): Promise<unknown> => {
    const response = await raw.request({
      origin: url,
      path: "/api/v1/rpc",
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", method, params, id: randomUUID() }),
    });
    const answer = (await response.body.json()) as { result?: unknown };
    if (response.statusCode !== 200 || answer.result === undefined) throw new Error(`raw ${method} answered ${response.statusCode}`);
    return answer.result;
  };
}

type Output = { output: { stream: string; text: string }[]; exit_code: number };

/** The raw side of the file round trip: the same chunks and shell commands as core's emulation. */
async function rawRoundTrip(rpc: ReturnType<typeof rawRpc>, sandbox: string, path: string, data: Buffer): Promise<void> {
  const run = async (script: string, args: string[]): Promise<Output> => {
    const result = (await rpc("sandbox.command.run", { sandbox, namespace: "default", command: "sh", args: ["-c", script, "sh", ...args], timeout: 300 })) as Output;
    if (result.exit_code !== 0) throw new Error("raw file command failed");
    return result;
  };
  await run(': > "$1"', [path]);
  for (let offset = 0; offset < data.byteLength; offset += WRITE_CHUNK) {
    const encoded = data.subarray(offset, offset + WRITE_CHUNK).toString("base64");
    const pieces: string[] = [];
    for (let i = 0; i < encoded.length; i += ARG_PIECE) pieces.push(encoded.slice(i, i + ARG_PIECE));
    await run('p=$1; shift; for c in "$@"; do printf %s "$c"; done | base64 -d >> "$p"', [path, ...pieces]);
  }
  let total = 0;
  for (let block = 0; ; block += READ_BLOCKS) {
    const result = await run('dd if="$1" bs=65536 skip="$2" count="$3" 2>/dev/null | base64', [path, String(block), String(READ_BLOCKS)]);
    const bytes = Buffer.from(result.output.filter((line) => line.stream === "stdout").map((line) => line.text).join(""), "base64");
    total += bytes.byteLength;
    if (bytes.byteLength < READ_BLOCK * READ_BLOCKS) break;
  }
  if (total !== data.byteLength) throw new Error(`raw read back ${total} bytes of ${data.byteLength}`);
}

/** The microsandbox rows (see the file's comment). */
export async function rows(context: BenchContext): Promise<readonly BenchRow[]> {
  const work = await mkdtemp(join(tmpdir(), "sandkit-bench-microsandbox-"));
  const { child, url } = await startServer(work);
  const { microsandbox } = await loadAdapter();
  const backend = microsandbox({ url, exactOutput: false, workdir: "/tmp" });
  const raw = new Agent();
  const rpc = rawRpc(raw, url);
  let sandbox: Sandbox | undefined;
  try {
    sandbox = await createSandbox({ backend, execTimeoutMs: 300_000 });
    const id = sandbox.id;
    const sbx = sandbox;
    const out: BenchRow[] = [];

    context.log("microsandbox: runCode round trip");
    const repl = await interleaved({
      warmup: CALL_WARMUP,
      rounds: CALL_ROUNDS,
      sandkit: () => microsPerCall(PER_SAMPLE, () => sbx.runCode("pass", { language: "python" })),
      baseline: () => microsPerCall(PER_SAMPLE, () => rpc("sandbox.repl.run", { sandbox: id, namespace: "default", language: "python", code: "pass", timeout: 300 })),
    });
    out.push({ name: "microsandbox: runCode round trip (repl.run)", unit: "µs/call", targetRatio: TARGET, ...repl, note: `${PER_SAMPLE} sequential calls per sample, ${CALL_ROUNDS} samples per side, interleaved` });

    context.log("microsandbox: exec round trip");
    const exec = await interleaved({
      warmup: CALL_WARMUP,
      rounds: CALL_ROUNDS,
      sandkit: () => microsPerCall(PER_SAMPLE, () => sbx.exec(["true"])),
      baseline: () => microsPerCall(PER_SAMPLE, () => rpc("sandbox.command.run", { sandbox: id, namespace: "default", command: "true", args: [], timeout: 300 })),
    });
    out.push({ name: "microsandbox: exec round trip (command.run, exactOutput: false)", unit: "µs/call", targetRatio: TARGET, ...exec });

    const data = randomBytes(FILE_MIB * MiB);
    const seconds = { sandkit: [] as number[], raw: [] as number[] };
    const rss: number[] = [];
    const sandkitRoundTrip = async (path: string): Promise<void> => {
      const before = process.memoryUsage.rss();
      let peak = before;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage.rss());
      }, 5);
      const started = performance.now();
      await sbx.files.write(path, data);
      const back = await sbx.files.read(path, { maxBytes: 2 * FILE_MIB * MiB });
      seconds.sandkit.push((performance.now() - started) / 1000);
      clearInterval(sampler);
      rss.push((Math.max(peak, process.memoryUsage.rss()) - before) / MiB);
      if (back.byteLength !== data.byteLength) throw new Error("the adapter read back another size");
    };
    const rawSide = async (path: string): Promise<void> => {
      const started = performance.now();
      await rawRoundTrip(rpc, id, path, data);
      seconds.raw.push((performance.now() - started) / 1000);
    };
    for (let round = 0; round < FILE_ROUNDS; round += 1) {
      context.log(`microsandbox: ${FILE_MIB} MiB file round trip ${round + 1} of ${FILE_ROUNDS}`);
      const path = join(work, `file-${round}`);
      if (round % 2 === 0) {
        await sandkitRoundTrip(`${path}-a`);
        await rawSide(`${path}-b`);
      } else {
        await rawSide(`${path}-b`);
        await sandkitRoundTrip(`${path}-a`);
      }
      await rm(`${path}-a`, { force: true });
      await rm(`${path}-b`, { force: true });
    }
    const throughput = (list: number[]): Measure => measure(list.map((s) => (2 * FILE_MIB) / s));
    out.push({
      name: `microsandbox: ${FILE_MIB} MiB file write + read (emulated files)`,
      unit: "MiB/s",
      better: "higher",
      targetRatio: TARGET,
      sandkit: throughput(seconds.sandkit),
      baseline: throughput(seconds.raw),
      note: `MiB/s of file moved (written and read back); base64 through command.run; ${FILE_ROUNDS} samples per side; SANDKIT_BENCH_MICROSANDBOX_FILE_MIB to change the size`,
    });
    out.push({
      name: `microsandbox: peak RSS growth, ${FILE_MIB} MiB file round trip`,
      unit: "MiB",
      targetRatio: 1,
      sandkit: measure(rss),
      baseline: { median: RSS_BUDGET_MIB, samples: [RSS_BUDGET_MIB] },
      note: `baseline column is the budget (${RSS_BUDGET_MIB} MiB); the client process's peak RSS over its RSS before the round trip (the ${FILE_MIB} MiB source buffer is allocated before)`,
    });
    return out;
  } finally {
    await sandbox?.close().catch(() => undefined);
    await backend.close();
    await raw.close();
    child.disconnect();
    await once(child, "exit");
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv.includes(SERVER_FLAG)) await serverMain();
