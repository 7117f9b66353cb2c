/**
 * The sandbox-api rows: the `@sandkit/sandbox-api` client against raw undici requests doing the
 * same work on the same sandbox-api server (`@sandkit/sandbox-api/server` over the local backend,
 * no isolation), which runs in a child process of its own so that its work does not share the
 * event loop with the client being measured.
 *
 * - execute round trip: `client.execute({ commands: ["true"] })` (validation, typed result) against
 *   a raw undici `POST /execute/` of the same form-urlencoded body the client sends.
 * - environment upload and download: `execute` with a gzip-compressed tar of one random file and
 *   `save: true`, then `download(environment)` of the saved environment, against raw undici sending
 *   the same multipart body and reading the same download; in MiB/s of archive. Each sample runs in
 *   a fresh child process, which also reports its peak RSS growth (after a warm-up transfer).
 *
 * The archive is 50 MiB by default, which keeps the module to about a minute on 2 cores;
 * SANDKIT_BENCH_SANDBOX_API_MIB=100 gives the 100 MiB environment of the issue (about 90 s here).
 * Uploads run at ~15 MiB/s on both sides: the server unpacks the archive into a sandbox, runs the
 * command and gzips the directory back into a saved environment, on the same 2 cores.
 */
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { once } from "node:events";
import { mkdir, mkdtemp, open, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { packDirectory } from "@sandkit/core";
import { SandboxApiClient } from "@sandkit/sandbox-api";
import { createSandboxApiServer } from "@sandkit/sandbox-api/server";
import { Agent } from "undici";
import { interleaved, microsPerCall, type BenchContext, type BenchRow, type Measure } from "./harness.ts";

const MiB = 1024 * 1024;
const ARCHIVE_MIB = Number(process.env.SANDKIT_BENCH_SANDBOX_API_MIB ?? 50);
const TARGET = 1.1;
const RSS_BUDGET_MIB = 64;
const EXEC_WARMUP = 4;
const EXEC_ROUNDS = 30;
const PER_SAMPLE = 10;
const TRANSFER_ROUNDS = 5;
// A download of the saved environment takes a fraction of a second: each sample times several.
const DOWNLOADS_PER_SAMPLE = 5;
const SERVER_FLAG = "--sandkit-sandbox-api-bench-server";
const TRANSFER_FLAG = "--sandkit-sandbox-api-bench-transfer";
const CHILD_ARGV = ["--experimental-strip-types", "--disable-warning=ExperimentalWarning"];

const here = fileURLToPath(import.meta.url);

// ---------------------------------------------------------------------------------------------
// The server child.

async function serverMain(): Promise<void> {
  const root = process.argv[process.argv.indexOf(SERVER_FLAG) + 1]!;
  const server = await createSandboxApiServer({
    local: { isolation: "none", root: join(root, "sandboxes") },
    environmentsDir: join(root, "environments"),
    stagingDir: join(root, "staging"),
    budgetMs: 120_000,
    maxUploadBytes: 4 * ARCHIVE_MIB * MiB + MiB,
    maxExtractedBytes: 4 * ARCHIVE_MIB * MiB + MiB,
  });
  process.send!({ url: server.url });
  process.on("disconnect", () => {
    void server.close();
  });
}

async function startServer(root: string): Promise<{ child: ChildProcess; url: string }> {
  for (const dir of ["sandboxes", "environments", "staging"]) await mkdir(join(root, dir), { recursive: true });
  const child = fork(here, [SERVER_FLAG, root], { execArgv: CHILD_ARGV, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const [message] = (await once(child, "message")) as [{ url: string }];
  return { child, url: message.url };
}

// ---------------------------------------------------------------------------------------------
// Raw requests, shaped as the client shapes them.

async function rawExecute(raw: Agent, origin: string, configJson: string, archive?: string): Promise<{ status: number; environment?: string }> {
  let contentType = "application/x-www-form-urlencoded";
  let body: string | Readable = new URLSearchParams({ config: configJson }).toString();
  if (archive !== undefined) {
    const boundary = `----raw-${randomBytes(12).toString("hex")}`;
    contentType = `multipart/form-data; boundary=${boundary}`;
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="config"\r\n\r\n${configJson}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="environment"; filename="environment.tgz"\r\nContent-Type: application/gzip\r\n\r\n`,
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    body = Readable.from(
      (async function* () {
        yield head;
        for await (const chunk of createReadStream(archive, { highWaterMark: 256 * 1024 })) yield chunk as Buffer;
        yield tail;
      })(),
      { objectMode: false },
    );
  }
  const response = await raw.request({ origin, path: "/execute/", method: "POST", headers: { "content-type": contentType }, body });
  const answer = (await response.body.json()) as { status: number; environment?: string };
  if (response.statusCode !== 200 || answer.status !== 0) throw new Error(`raw execute answered ${response.statusCode} with status ${String(answer.status)}`);
  return answer;
}

async function drain(stream: Readable | AsyncIterable<Uint8Array>): Promise<number> {
  let bytes = 0;
  for await (const chunk of stream) bytes += (chunk as Uint8Array).byteLength;
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// The transfer child: one upload (execute with save) and one download, through the client or raw.

interface TransferJob {
  readonly side: "sandkit" | "raw";
  readonly url: string;
  readonly archive: string;
  readonly warmupArchive: string;
}

interface TransferResult {
  readonly uploadSeconds: number;
  readonly downloadSeconds: number;
  readonly downloadedBytes: number;
  readonly rssGrowthMiB: number;
}

async function transferMain(): Promise<void> {
  const job = JSON.parse(process.argv[process.argv.indexOf(TRANSFER_FLAG) + 1]!) as TransferJob;
  const client = new SandboxApiClient({ url: job.url });
  const raw = new Agent();
  const config = { commands: ["true"], save: true } as const;
  const upload = async (archive: string): Promise<string> => {
    if (job.side === "sandkit") {
      const result = await client.execute(config, { archive: createReadStream(archive, { highWaterMark: 256 * 1024 }) });
      if (result.outcome !== "success" || result.savedEnvironment === undefined) throw new Error(`execute ended ${result.outcome}`);
      return result.savedEnvironment;
    }
    const answer = await rawExecute(raw, job.url, JSON.stringify({ commands: ["true"], save: true }), archive);
    if (answer.environment === undefined) throw new Error("raw execute saved no environment");
    return answer.environment;
  };
  const download = async (environment: string): Promise<number> => {
    if (job.side === "sandkit") return drain(await client.download(environment));
    const response = await raw.request({ origin: job.url, path: `/environments/${environment}/`, method: "GET" });
    if (response.statusCode !== 200) throw new Error(`raw download answered ${response.statusCode}`);
    return drain(response.body);
  };
  await download(await upload(job.warmupArchive));
  const rssBefore = process.memoryUsage.rss();
  let rssPeak = rssBefore;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
  }, 5);
  let started = performance.now();
  const environment = await upload(job.archive);
  const uploadSeconds = (performance.now() - started) / 1000;
  started = performance.now();
  let downloadedBytes = 0;
  for (let i = 0; i < DOWNLOADS_PER_SAMPLE; i += 1) downloadedBytes += await download(environment);
  const downloadSeconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
  await client.close();
  await raw.close();
  process.send!({ uploadSeconds, downloadSeconds, downloadedBytes, rssGrowthMiB: (rssPeak - rssBefore) / MiB } satisfies TransferResult);
}

async function runTransfer(job: TransferJob): Promise<TransferResult> {
  const child = fork(here, [TRANSFER_FLAG, JSON.stringify(job)], { execArgv: CHILD_ARGV, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  let result: TransferResult | undefined;
  child.on("message", (message) => {
    result = message as TransferResult;
  });
  const [code] = (await once(child, "exit")) as [number | null];
  if (code !== 0 || result === undefined) throw new Error(`the transfer child exited with ${String(code)}${result === undefined ? " and no result" : ""}`);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Archives and rows.

/** Writes a tar.gz (level 1) of one file of `bytes` random bytes; returns its size. */
async function makeArchive(work: string, name: string, bytes: number): Promise<{ path: string; bytes: number }> {
  const dir = join(work, `${name}-tree`);
  await mkdir(dir, { recursive: true });
  const block = randomBytes(MiB);
  const file = await open(join(dir, "payload.bin"), "w");
  try {
    for (let written = 0, i = 0; written < bytes; i += 1) {
      block.writeUInt32LE(i, 0);
      const length = Math.min(MiB, bytes - written);
      await file.write(block, 0, length);
      written += length;
    }
  } finally {
    await file.close();
  }
  const path = join(work, `${name}.tgz`);
  await pipeline(packDirectory(dir, { gzip: true, gzipLevel: 1 }), createWriteStream(path));
  await rm(dir, { recursive: true, force: true });
  return { path, bytes: (await stat(path)).size };
}

function measure(samples: number[]): Measure {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return { median: sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2, samples };
}

async function executeRow(context: BenchContext, url: string): Promise<BenchRow> {
  const client = new SandboxApiClient({ url });
  const raw = new Agent();
  try {
    const json = JSON.stringify({ commands: ["true"] });
    context.log("sandbox-api: execute round trip");
    const measured = await interleaved({
      warmup: EXEC_WARMUP,
      rounds: EXEC_ROUNDS,
      sandkit: () =>
        microsPerCall(PER_SAMPLE, async () => {
          const result = await client.execute({ commands: ["true"] });
          if (result.outcome !== "success") throw new Error(`execute ended ${result.outcome}`);
        }),
      baseline: () => microsPerCall(PER_SAMPLE, () => rawExecute(raw, url, json)),
    });
    return {
      name: "sandbox-api: execute round trip",
      unit: "µs/execute",
      targetRatio: TARGET,
      ...measured,
      note: `execute of \`true\` through SandboxApiClient.execute (config validation, typed result) vs a raw undici form-urlencoded POST /execute/ of the same body, to the sandkit sandbox-api server (local backend, no isolation) in a child process; ${EXEC_ROUNDS} samples of ${PER_SAMPLE} per side after ${EXEC_WARMUP} warm-up rounds`,
    };
  } finally {
    await client.close();
    await raw.close();
  }
}

async function transferRows(context: BenchContext, url: string, work: string): Promise<BenchRow[]> {
  context.log(`sandbox-api: writing a ${ARCHIVE_MIB} MiB environment archive in ${work}`);
  const archive = await makeArchive(work, "environment", ARCHIVE_MIB * MiB);
  const warmup = await makeArchive(work, "warmup", 4 * MiB);
  const up: Record<"sandkit" | "raw", number[]> = { sandkit: [], raw: [] };
  const down: Record<"sandkit" | "raw", number[]> = { sandkit: [], raw: [] };
  const rss: number[] = [];
  for (let round = 0; round < TRANSFER_ROUNDS; round += 1) {
    context.log(`sandbox-api: transfer round ${round + 1} of ${TRANSFER_ROUNDS}`);
    const sides = round % 2 === 0 ? (["sandkit", "raw"] as const) : (["raw", "sandkit"] as const);
    for (const side of sides) {
      const result = await runTransfer({ side, url, archive: archive.path, warmupArchive: warmup.path });
      up[side].push(archive.bytes / MiB / result.uploadSeconds);
      down[side].push(result.downloadedBytes / MiB / result.downloadSeconds);
      if (side === "sandkit") rss.push(result.rssGrowthMiB);
    }
  }
  const note = `a ${(archive.bytes / MiB).toFixed(1)} MiB tar.gz (one random ${ARCHIVE_MIB} MiB file) sent with execute({ save: true }) as multipart, then download() of the saved environment (${DOWNLOADS_PER_SAMPLE} times per sample, read to the end without unpacking), vs raw undici with the same body and GET; MiB/s of archive, each sample in a fresh child process, ${TRANSFER_ROUNDS} per side; SANDKIT_BENCH_SANDBOX_API_MIB=100 for the 100 MiB environment`;
  return [
    { name: `sandbox-api: execute with ${ARCHIVE_MIB} MiB environment, save`, unit: "MiB/s", better: "higher", targetRatio: TARGET, sandkit: measure(up.sandkit), baseline: measure(up.raw), note },
    { name: `sandbox-api: download ${ARCHIVE_MIB} MiB saved environment`, unit: "MiB/s", better: "higher", targetRatio: TARGET, sandkit: measure(down.sandkit), baseline: measure(down.raw) },
    {
      name: `sandbox-api: peak RSS growth, ${ARCHIVE_MIB} MiB upload/download`,
      unit: "MiB",
      targetRatio: 1,
      sandkit: measure(rss),
      baseline: { median: RSS_BUDGET_MIB, samples: [RSS_BUDGET_MIB] },
      note: `baseline column is the budget (${RSS_BUDGET_MIB} MiB); peak RSS of the client process during one upload and download over its RSS before, after a warm-up transfer, every sandkit sample`,
    },
  ];
}

/** The sandbox-api rows (see the file's comment). */
export async function rows(context: BenchContext): Promise<readonly BenchRow[]> {
  const work = await mkdtemp(join(tmpdir(), "sandkit-bench-sandbox-api-"));
  const { child, url } = await startServer(join(work, "server"));
  try {
    return [await executeRow(context, url), ...(await transferRows(context, url, work))];
  } finally {
    child.disconnect();
    await once(child, "exit");
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv.includes(SERVER_FLAG)) await serverMain();
else if (process.argv.includes(TRANSFER_FLAG)) await transferMain();
