/**
 * The NoxRunner rows: the `@sandkit/noxrunner` adapter against raw undici requests doing the same
 * work on the same NoxRunner-compatible server (`@sandkit/noxrunner/server` over the local
 * backend), which runs in a child process of its own so that its work does not share the event
 * loop with the client being measured.
 *
 * - exec round trip, sequential and with 32 sessions in flight: `sandbox.exec(["true"])` against
 *   a raw `POST /v1/sandboxes/{id}/exec` with the same JSON body (the server spawns a real process
 *   for both; the local backend runs it without isolation here, to keep the process start small
 *   next to the protocol work being compared).
 * - upload and download of a tree: the adapter's archive calls (`uploadArchive` fed by
 *   `packDirectory`, `downloadArchive` into `extractArchive`) against raw undici streaming the
 *   same `packDirectory` output, and extracting the same response, in MiB/s of tree; each sample
 *   runs in a fresh child process, which also reports its peak RSS growth (after a warm-up
 *   transfer) for the memory row.
 *
 * The tree is 128 MiB by default (one large file and 2 000 small ones), which keeps the rows to
 * about a minute on 2 cores. SANDKIT_BENCH_NOXRUNNER_TREE_MIB sets another size: 960 took 7.7
 * minutes here (every byte is gzip-compressed, sent, unpacked and copied into the sandbox by the
 * server, and back, on the same 2 cores). 1024 does not pass yet: the server copies an upload into
 * a local sandbox through the local backend's archive extraction, whose default limit is 1 GiB of
 * tar data, headers included. Trees and the server's sandboxes live on tmpfs when there is one.
 *
 * Until bench/package.json lists @sandkit/noxrunner and @sandkit/local, they are imported from
 * their built dist by relative path (build first: `pnpm build`).
 */
import { execFile, fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdir, mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { createSandbox, extractArchive, packDirectory, type CallContextV1, type Sandbox } from "@sandkit/core";
import { Agent } from "undici";
import type * as LocalModule from "../../packages/local/dist/index.js";
import type * as NoxRunnerModule from "../../packages/noxrunner/dist/index.js";
import type * as ServerModule from "../../packages/noxrunner/dist/server/index.js";
import { interleaved, microsPerCall, microsPerCallConcurrent, type BenchContext, type BenchRow, type Measure } from "./harness.ts";

const MiB = 1024 * 1024;
const TREE_MIB = Number(process.env.SANDKIT_BENCH_NOXRUNNER_TREE_MIB ?? 128);
const SMALL_FILES = 2000;
const SMALL_FILE_BYTES = 4096;
const SMALL_DIRS = 20;
const TARGET = 1.1;
const RSS_BUDGET_MIB = 64;
// Small samples and many rounds: each exec spawns a process on a shared 2-core machine, so load
// comes and goes quickly; pairs of samples taken back to back see the same load.
const EXEC_WARMUP = 4;
const EXEC_ROUNDS = 40;
const SEQUENTIAL_PER_SAMPLE = 10;
const CONCURRENCY = 32;
const CONCURRENT_PER_SAMPLE = 64;
const TRANSFER_ROUNDS = 3;
const SERVER_FLAG = "--sandkit-noxrunner-bench-server";
const TRANSFER_FLAG = "--sandkit-noxrunner-bench-transfer";
const GZIP = { gzip: true, gzipLevel: 1 } as const;

const here = fileURLToPath(import.meta.url);
const run = promisify(execFile);

function dist<T>(path: string): Promise<T> {
  return import(pathToFileURL(fileURLToPath(new URL(path, import.meta.url))).href) as Promise<T>;
}
const loadNoxRunner = (): Promise<typeof NoxRunnerModule> => dist("../../packages/noxrunner/dist/index.js");
const loadServer = (): Promise<typeof ServerModule> => dist("../../packages/noxrunner/dist/server/index.js");
const loadLocal = (): Promise<typeof LocalModule> => dist("../../packages/local/dist/index.js");

function callFor(timeoutMs: number): CallContextV1 {
  return { signal: AbortSignal.timeout(timeoutMs), deadline: Date.now() + timeoutMs };
}

/** Extraction limits large enough for the tree. */
function limits(): { maxBytes: number; maxEntryBytes: number; maxEntries: number } {
  return { maxBytes: 4 * TREE_MIB * MiB, maxEntryBytes: 2 * TREE_MIB * MiB, maxEntries: 4 * SMALL_FILES };
}

// ---------------------------------------------------------------------------------------------
// The server child: a NoxRunner-compatible server over the local backend, on loopback.

async function serverMain(): Promise<void> {
  const [{ createNoxRunnerServer }, { local }] = await Promise.all([loadServer(), loadLocal()]);
  const root = process.argv[process.argv.indexOf(SERVER_FLAG) + 1]!;
  const backend = local({ isolation: "none", root });
  const big = 8 * TREE_MIB * MiB;
  const server = await createNoxRunnerServer({
    backend,
    host: "127.0.0.1",
    port: 0,
    stagingDir: root,
    maxUploadBytes: big,
    maxUploadExtractedBytes: big,
    maxUploadEntries: 10 * SMALL_FILES,
    maxDownloadFileBytes: big,
    maxDownloadEntries: 10 * SMALL_FILES,
  });
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

// ---------------------------------------------------------------------------------------------
// The transfer child: one upload or download, through the adapter or raw undici.

interface TransferJob {
  readonly side: "sandkit" | "raw";
  readonly direction: "upload" | "download";
  readonly url: string;
  readonly sessionId: string;
  /** Upload: the local tree; download: the local destination. */
  readonly local: string;
  /** Upload: the sandbox destination; download: the sandbox source. */
  readonly remote: string;
  /** A small tree (upload) or sandbox directory (download) for the warm-up transfer. */
  readonly warmupLocal: string;
  readonly warmupRemote: string;
}

interface TransferResult {
  readonly seconds: number;
  readonly rssGrowthMiB: number;
}

async function transferMain(): Promise<void> {
  const job = JSON.parse(process.argv[process.argv.indexOf(TRANSFER_FLAG) + 1]!) as TransferJob;
  const { noxrunner } = await loadNoxRunner();
  const backend = noxrunner({ url: job.url });
  const raw = new Agent();
  const origin = job.url;
  const transfer = async (local: string, remote: string): Promise<void> => {
    if (job.side === "sandkit") {
      const connection = await backend.attach(job.sessionId, callFor(60_000));
      if (job.direction === "upload") await connection.files!.uploadArchive!(remote, packDirectory(local, GZIP), callFor(600_000));
      else await extractArchive(await connection.files!.downloadArchive!(remote, callFor(600_000)), local, limits());
      return;
    }
    const query = `${job.direction === "upload" ? "dest" : "src"}=${encodeURIComponent(remote)}`;
    if (job.direction === "upload") {
      const response = await raw.request({
        origin,
        path: `/v1/sandboxes/${job.sessionId}/files/upload?${query}`,
        method: "POST",
        headers: { "content-type": "application/x-tar" },
        body: packDirectory(local, GZIP),
      });
      await response.body.dump();
      if (response.statusCode !== 200) throw new Error(`raw upload answered ${response.statusCode}`);
    } else {
      const response = await raw.request({ origin, path: `/v1/sandboxes/${job.sessionId}/files/download?${query}`, method: "GET" });
      if (response.statusCode !== 200) throw new Error(`raw download answered ${response.statusCode}`);
      await extractArchive(response.body, local, limits());
    }
  };
  await transfer(job.warmupLocal, job.warmupRemote);
  const rssBefore = process.memoryUsage.rss();
  let rssPeak = rssBefore;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
  }, 5);
  const started = performance.now();
  await transfer(job.local, job.remote);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
  await backend.close();
  await raw.close();
  process.send!({ seconds, rssGrowthMiB: (rssPeak - rssBefore) / MiB } satisfies TransferResult);
}

async function runTransfer(job: TransferJob): Promise<TransferResult> {
  const child = fork(here, [TRANSFER_FLAG, JSON.stringify(job)], {
    execArgv: ["--experimental-strip-types", "--disable-warning=ExperimentalWarning"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let result: TransferResult | undefined;
  child.on("message", (message) => {
    result = message as TransferResult;
  });
  const [code] = (await once(child, "exit")) as [number | null];
  if (code !== 0 || result === undefined) throw new Error(`the transfer child exited with ${String(code)}${result === undefined ? " and no result" : ""}`);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Trees.

async function makeTree(root: string, totalBytes: number, smallFiles: number): Promise<void> {
  const smallTotal = smallFiles * SMALL_FILE_BYTES;
  await mkdir(root, { recursive: true });
  const block = randomBytes(MiB);
  const large = await open(join(root, "large.bin"), "w");
  try {
    for (let written = 0, i = 0; written < totalBytes - smallTotal; i += 1) {
      block.writeUInt32LE(i, 0);
      const length = Math.min(MiB, totalBytes - smallTotal - written);
      await large.write(block, 0, length);
      written += length;
    }
  } finally {
    await large.close();
  }
  const dirs = Math.max(1, Math.min(SMALL_DIRS, smallFiles));
  for (let d = 0; d < dirs; d += 1) {
    const dir = join(root, "small", `d${String(d).padStart(3, "0")}`);
    await mkdir(dir, { recursive: true });
    await Promise.all(
      Array.from({ length: Math.ceil(smallFiles / dirs) }, (_, f) => writeFile(join(dir, `f${String(f).padStart(4, "0")}.txt`), randomBytes(SMALL_FILE_BYTES))),
    );
  }
}

async function workRoot(): Promise<string> {
  try {
    const { stdout } = await run("df", ["-Pk", "/dev/shm"]);
    const availableKiB = Number(stdout.trim().split("\n").at(-1)?.split(/\s+/)[3]);
    if (availableKiB * 1024 > 6 * TREE_MIB * MiB) return "/dev/shm";
  } catch {
    // no tmpfs
  }
  return tmpdir();
}

function measure(samples: number[]): Measure {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return { median: sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2, samples };
}

// ---------------------------------------------------------------------------------------------
// The rows.

async function execRows(context: BenchContext, url: string): Promise<BenchRow[]> {
  const { noxrunner } = await loadNoxRunner();
  const backend = noxrunner({ url });
  const raw = new Agent({ connections: CONCURRENCY });
  const sandboxes: Sandbox[] = [];
  try {
    for (let i = 0; i < CONCURRENCY; i += 1) sandboxes.push(await createSandbox({ backend }));
    const body = JSON.stringify({ cmd: ["true"], workdir: "/workspace", timeoutSeconds: 30 });
    const viaSandkit = async (sandbox: Sandbox): Promise<void> => {
      const result = await sandbox.exec(["true"]);
      if (result.exitCode !== 0) throw new Error("unexpected exec result");
    };
    const viaUndici = async (sandbox: Sandbox): Promise<void> => {
      const response = await raw.request({
        origin: url,
        path: `/v1/sandboxes/${sandbox.id}/exec`,
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      const answer = (await response.body.json()) as { exitCode?: unknown };
      if (response.statusCode !== 200 || answer.exitCode !== 0) throw new Error("unexpected raw exec answer");
    };
    const first = sandboxes[0]!;
    context.log("noxrunner: exec round trip, sequential");
    const sequential = await interleaved({
      warmup: EXEC_WARMUP,
      rounds: EXEC_ROUNDS,
      sandkit: () => microsPerCall(SEQUENTIAL_PER_SAMPLE, () => viaSandkit(first)),
      baseline: () => microsPerCall(SEQUENTIAL_PER_SAMPLE, () => viaUndici(first)),
    });
    context.log(`noxrunner: exec round trip, ${CONCURRENCY} sessions in flight`);
    let nextSandkit = 0;
    let nextRaw = 0;
    const concurrent = await interleaved({
      warmup: EXEC_WARMUP,
      rounds: EXEC_ROUNDS,
      sandkit: () => microsPerCallConcurrent(CONCURRENT_PER_SAMPLE, CONCURRENCY, () => viaSandkit(sandboxes[nextSandkit++ % CONCURRENCY]!)),
      baseline: () => microsPerCallConcurrent(CONCURRENT_PER_SAMPLE, CONCURRENCY, () => viaUndici(sandboxes[nextRaw++ % CONCURRENCY]!)),
    });
    const note = `exec of \`true\` through Sandbox.exec (validation, deadline, typed errors, result shaping) vs a raw undici POST of the same body, to the sandkit NoxRunner server (local backend, no isolation) in a child process; ${EXEC_ROUNDS} samples per side after ${EXEC_WARMUP} warm-up rounds`;
    return [
      { name: "noxrunner: exec round trip, sequential", unit: "µs/exec", targetRatio: TARGET, ...sequential, note },
      { name: `noxrunner: exec round trip, ${CONCURRENCY} sessions in flight`, unit: "µs/exec", targetRatio: TARGET, ...concurrent },
    ];
  } finally {
    await Promise.all(sandboxes.map((sandbox) => sandbox.close().catch(() => undefined)));
    await backend.close();
    await raw.close();
  }
}

async function transferRows(context: BenchContext, url: string, work: string): Promise<BenchRow[]> {
  const { noxrunner } = await loadNoxRunner();
  const backend = noxrunner({ url });
  const src = join(work, "tree");
  const warmup = join(work, "warmup-tree");
  context.log(`noxrunner: writing a ${TREE_MIB} MiB tree (one large file, ${SMALL_FILES} small ones) in ${work}`);
  await makeTree(src, TREE_MIB * MiB, SMALL_FILES);
  await makeTree(warmup, 8 * MiB, 200);
  const sandbox = await createSandbox({ backend, execTimeoutMs: 120_000 });
  const connection = await backend.attach(sandbox.id, callFor(30_000));
  try {
    // The download source: the tree, uploaded once.
    await connection.files!.uploadArchive!("/workspace/tree", packDirectory(src, GZIP), callFor(600_000));
    await connection.files!.uploadArchive!("/workspace/warmup", packDirectory(warmup, GZIP), callFor(600_000));
    const seconds: Record<string, number[]> = { "sandkit-upload": [], "raw-upload": [], "sandkit-download": [], "raw-download": [] };
    const rss: number[] = [];
    let n = 0;
    const sample = async (side: "sandkit" | "raw", direction: "upload" | "download"): Promise<void> => {
      n += 1;
      const local = direction === "upload" ? src : join(work, `dl-${n}`);
      const job: TransferJob = {
        side,
        direction,
        url,
        sessionId: sandbox.id,
        local,
        remote: direction === "upload" ? `/workspace/up-${n}` : "/workspace/tree",
        warmupLocal: direction === "upload" ? warmup : join(work, `dl-${n}-warmup`),
        warmupRemote: direction === "upload" ? `/workspace/up-${n}-warmup` : "/workspace/warmup",
      };
      const result = await runTransfer(job);
      seconds[`${side}-${direction}`]!.push(result.seconds);
      if (side === "sandkit") rss.push(result.rssGrowthMiB);
      if (direction === "upload") {
        // Relative to the workspace: the server's local backend runs commands without isolation here.
        await sandbox.exec(["rm", "-rf", "--", `up-${n}`, `up-${n}-warmup`]);
      } else {
        await rm(join(work, `dl-${n}`), { recursive: true, force: true });
        await rm(join(work, `dl-${n}-warmup`), { recursive: true, force: true });
      }
    };
    for (let round = 0; round < TRANSFER_ROUNDS; round += 1) {
      context.log(`noxrunner: transfer round ${round + 1} of ${TRANSFER_ROUNDS}`);
      const sides = round % 2 === 0 ? (["sandkit", "raw"] as const) : (["raw", "sandkit"] as const);
      for (const side of sides) await sample(side, "upload");
      for (const side of sides) await sample(side, "download");
    }
    const throughput = (key: string): Measure => measure(seconds[key]!.map((s) => TREE_MIB / s));
    const note = `${TREE_MIB} MiB tree (one large file, ${SMALL_FILES} files of 4 KiB) as tar.gz (level 1); the adapter's uploadArchive/downloadArchive vs raw undici with the same packDirectory/extractArchive, each sample in a fresh child process, ${TRANSFER_ROUNDS} samples per side; SANDKIT_BENCH_NOXRUNNER_TREE_MIB=1024 for the 1 GiB tree`;
    return [
      { name: `noxrunner: upload ${TREE_MIB} MiB tree`, unit: "MiB/s", better: "higher", targetRatio: TARGET, sandkit: throughput("sandkit-upload"), baseline: throughput("raw-upload"), note },
      { name: `noxrunner: download ${TREE_MIB} MiB tree`, unit: "MiB/s", better: "higher", targetRatio: TARGET, sandkit: throughput("sandkit-download"), baseline: throughput("raw-download") },
      {
        name: `noxrunner: peak RSS growth, ${TREE_MIB} MiB upload/download`,
        unit: "MiB",
        targetRatio: 1,
        sandkit: measure(rss),
        baseline: { median: RSS_BUDGET_MIB, samples: [RSS_BUDGET_MIB] },
        note: `baseline column is the budget (${RSS_BUDGET_MIB} MiB); peak RSS of the client process during one transfer over its RSS before it, after a warm-up transfer, every sandkit sample`,
      },
    ];
  } finally {
    await sandbox.close().catch(() => undefined);
    await backend.close();
  }
}

/** The NoxRunner rows (see the file's comment). */
export async function rows(context: BenchContext): Promise<readonly BenchRow[]> {
  const work = await mkdtemp(join(await workRoot(), "sandkit-bench-noxrunner-"));
  const serverRoot = join(work, "server");
  await mkdir(serverRoot);
  const { child, url } = await startServer(serverRoot);
  try {
    return [...(await execRows(context, url)), ...(await transferRows(context, url, work))];
  } finally {
    child.disconnect();
    await once(child, "exit");
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv.includes(SERVER_FLAG)) await serverMain();
else if (process.argv.includes(TRANSFER_FLAG)) await transferMain();
