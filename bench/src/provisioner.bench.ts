/**
 * The provisioner rows: the `@sandkit/provisioner` adapter against raw undici requests doing the
 * same work on the same provisioner-compatible server (`@sandkit/provisioner/server` over the
 * local backend without isolation), which runs in a child process of its own so that its work does
 * not share the event loop with the client being measured.
 *
 * - exec round trip: `sandbox.exec(["true"])` against a raw undici `POST /v1/bash/exec` of
 *   `{"command":"true"}` to the same sandbox's data plane. The adapter's exec also closes the bash
 *   session it created (one more request, in the background), which the raw side does not.
 * - create-to-ready: `createSandbox` (POST, then the readiness wait on the data plane with backoff)
 *   against the server's ready delay, the least any client could take.
 *
 * Until bench/package.json lists @sandkit/provisioner, it is imported from its built dist by
 * relative path (build first: `pnpm build`).
 */
import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createSandbox } from "@sandkit/core";
import { Agent } from "undici";
import type * as LocalModule from "../../packages/local/dist/index.js";
import type * as ProvisionerModule from "../../packages/provisioner/dist/index.js";
import type * as ServerModule from "../../packages/provisioner/dist/server/index.js";
import { type BenchContext, type BenchRow, interleaved, microsPerCall } from "./harness.ts";

const EXEC_TARGET = 1.25;
const READY_TARGET = 1.5;
const READY_DELAY_MS = 400;
const EXEC_WARMUP = 4;
const EXEC_ROUNDS = 30;
const PER_SAMPLE = 10;
const READY_ROUNDS = 8;
const API_KEY = "bench-key-provisioner";
const SERVER_FLAG = "--sandkit-provisioner-bench-server";

const here = fileURLToPath(import.meta.url);

function dist<T>(path: string): Promise<T> {
  return import(pathToFileURL(fileURLToPath(new URL(path, import.meta.url))).href) as Promise<T>;
}
const loadAdapter = (): Promise<typeof ProvisionerModule> => dist("../../packages/provisioner/dist/index.js");
const loadServer = (): Promise<typeof ServerModule> => dist("../../packages/provisioner/dist/server/index.js");
const loadLocal = (): Promise<typeof LocalModule> => dist("../../packages/local/dist/index.js");

async function serverMain(): Promise<void> {
  const [{ createProvisionerServer }, { local }] = await Promise.all([loadServer(), loadLocal()]);
  const root = process.argv[process.argv.indexOf(SERVER_FLAG) + 1]!;
  const backend = local({ isolation: "none", root });
  const server = await createProvisionerServer({ backend, host: "127.0.0.1", port: 0, apiKey: API_KEY, readyDelayMs: READY_DELAY_MS });
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

async function execRow(context: BenchContext, url: string): Promise<BenchRow> {
  const { provisioner } = await loadAdapter();
  const backend = provisioner({ url, apiKey: API_KEY });
  const raw = new Agent();
  try {
    await using sandbox = await createSandbox({ backend });
    const connection = await backend.attach(sandbox.id, { signal: new AbortController().signal });
    const dataPlane = new URL(connection.sandboxUrl);
    const body = JSON.stringify({ command: "true" });
    const viaSandkit = async (): Promise<void> => {
      const result = await sandbox.exec(["true"]);
      if (result.exitCode !== 0) throw new Error("unexpected exec result");
    };
    const viaUndici = async (): Promise<void> => {
      const response = await raw.request({ origin: dataPlane.origin, path: "/v1/bash/exec", method: "POST", headers: { "content-type": "application/json" }, body });
      const answer = (await response.body.json()) as { success?: unknown; data?: { exit_code?: unknown } };
      if (response.statusCode !== 200 || answer.success !== true || answer.data?.exit_code !== 0) throw new Error("unexpected raw exec answer");
    };
    context.log("provisioner: exec round trip");
    const measured = await interleaved({
      warmup: EXEC_WARMUP,
      rounds: EXEC_ROUNDS,
      sandkit: () => microsPerCall(PER_SAMPLE, viaSandkit),
      baseline: () => microsPerCall(PER_SAMPLE, viaUndici),
    });
    return {
      name: "provisioner: exec round trip (data plane)",
      unit: "µs/exec",
      targetRatio: EXEC_TARGET,
      ...measured,
      note: `Sandbox.exec(["true"]) (quoting, validation, deadline, envelope and status checks, typed errors, session close in the background) vs a raw undici POST /v1/bash/exec of {"command":"true"} to the same data plane; ${EXEC_ROUNDS} samples of ${PER_SAMPLE} calls per side after ${EXEC_WARMUP} warm-up rounds`,
    };
  } finally {
    await backend.close();
    await raw.close();
  }
}

async function readyRow(context: BenchContext, url: string): Promise<BenchRow> {
  const { provisioner } = await loadAdapter();
  const backend = provisioner({ url, apiKey: API_KEY });
  try {
    context.log("provisioner: create-to-ready");
    const samples: number[] = [];
    for (let round = 0; round < READY_ROUNDS + 1; round += 1) {
      const started = performance.now();
      const sandbox = await createSandbox({ backend });
      const ms = performance.now() - started;
      await sandbox.close();
      if (round > 0) samples.push(ms);
    }
    const sorted = [...samples].sort((a, b) => a - b);
    const median = (sorted[Math.floor((sorted.length - 1) / 2)]! + sorted[Math.ceil((sorted.length - 1) / 2)]!) / 2;
    const floor = samples.map(() => READY_DELAY_MS);
    return {
      name: "provisioner: create-to-ready",
      unit: "ms",
      targetRatio: READY_TARGET,
      sandkit: { median, samples },
      baseline: { median: READY_DELAY_MS, samples: floor },
      note: `createSandbox (POST /api/sandboxes, then GET /v1/sandbox with backoff 100 ms -> 500 ms) vs the server's ready delay of ${READY_DELAY_MS} ms (its data plane refuses connections until then); ${READY_ROUNDS} creates after one warm-up`,
    };
  } finally {
    await backend.close();
  }
}

/** The provisioner rows (see the file's comment). */
export async function rows(context: BenchContext): Promise<readonly BenchRow[]> {
  const work = await mkdtemp(join(tmpdir(), "sandkit-bench-provisioner-"));
  const { child, url } = await startServer(work);
  try {
    return [await execRow(context, url), await readyRow(context, url)];
  } finally {
    child.disconnect();
    await once(child, "exit");
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv.includes(SERVER_FLAG)) await serverMain();
