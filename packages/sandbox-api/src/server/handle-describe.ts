import { createCallContext, type SandboxConnectionV1 } from "@sandkit/core";
import { sendJson } from "@sandkit/core/server-kit";
import { describe, type RequestContext, type ServerContext } from "./context.js";
import { CpuUsage, frequencies, loadPerCpu, logicalCpus, memory, physicalCores, processCount, storageOf, swap } from "./host-facts.js";
import { HttpError } from "./http-io.js";

/** The version this server reports as `host.sandbox_version`: the upstream version whose protocol it speaks. */
export const SANDBOX_VERSION = "3.0.3";

/** `GET /specifications/` (§3.4): host and sandbox limits. */
export interface SpecificationsBody {
  readonly host: {
    readonly cpu: { readonly core: number | null; readonly logical: number; readonly freq_min: number; readonly freq_max: number };
    readonly memory: { readonly ram: number; readonly swap: number; readonly storage: Readonly<Record<string, number>> };
    /** Upstream: the Docker version. Here: `sandkit-<backend name>`. */
    readonly docker_version: string;
    readonly sandbox_version: string;
  };
  readonly container: {
    /** The pool size (`poolSize`). */
    readonly count: number;
    readonly cpu: { readonly count: number; readonly period: number; readonly shares: number; readonly quota: number };
    readonly memory: { readonly ram: number; readonly swap: number; readonly storage: number };
    readonly io: { readonly read_iops: Readonly<Record<string, number>>; readonly read_bps: Readonly<Record<string, number>>; readonly write_iops: Readonly<Record<string, number>>; readonly write_bps: Readonly<Record<string, number>> };
    readonly process: number;
    readonly working_dir_device: string;
  };
}

/** `GET /usages/` (§3.5): current host load. */
export interface UsagesBody {
  readonly cpu: { readonly frequency: number; readonly usage: number; readonly usage_avg: readonly [number, number, number] };
  readonly memory: { readonly ram: number; readonly swap: number; readonly storage: Readonly<Record<string, number>> };
  readonly io: { readonly read_iops: Readonly<Record<string, number>>; readonly write_iops: Readonly<Record<string, number>>; readonly read_bps: Readonly<Record<string, number>>; readonly write_bps: Readonly<Record<string, number>> };
  readonly network: { readonly sent_bytes: number; readonly received_bytes: number; readonly sent_packets: number; readonly received_packets: number };
  readonly process: number;
  /** Executes running right now. */
  readonly container: number;
}

/** `GET /libraries/` (§3.6): software in the sandboxes. */
export interface LibrariesBody {
  readonly libraries: {
    readonly system: Readonly<Record<string, string>>;
    readonly python: Readonly<Record<string, string>>;
    readonly perl: Readonly<Record<string, string>>;
    readonly c: Readonly<Record<string, string>>;
  };
  readonly bin: readonly string[];
}

const cpuUsage = new CpuUsage();

/** `GET|HEAD /specifications/`, `/usages/`, `/libraries/`. */
export async function handleDescribe(ctx: ServerContext, request: RequestContext, kind: "specifications" | "usages" | "libraries"): Promise<void> {
  let body: SpecificationsBody | UsagesBody | LibrariesBody;
  if (kind === "specifications") body = await specifications(ctx);
  else if (kind === "usages") body = await usages(ctx);
  else body = await libraries(ctx, request);
  sendJson(request.res, 200, body);
}

async function specifications(ctx: ServerContext): Promise<SpecificationsBody> {
  const storage = await storageOf(ctx.environments.dir);
  const freq = frequencies();
  return {
    host: {
      cpu: { core: await physicalCores(), logical: logicalCpus(), freq_min: freq.min, freq_max: freq.max },
      memory: { ram: memory().total, swap: (await swap()).total, storage: { [storage.device]: storage.total } },
      docker_version: `sandkit-${ctx.backend.name}`,
      sandbox_version: SANDBOX_VERSION,
    },
    container: {
      count: ctx.pool.size,
      // The backend sets no per-sandbox limits this server could report: -1 is upstream's "unset".
      cpu: { count: logicalCpus(), period: -1, shares: -1, quota: -1 },
      memory: { ram: -1, swap: -1, storage: -1 },
      io: { read_iops: {}, read_bps: {}, write_iops: {}, write_bps: {} },
      process: -1,
      working_dir_device: storage.device,
    },
  };
}

async function usages(ctx: ServerContext): Promise<UsagesBody> {
  const storage = await storageOf(ctx.environments.dir);
  return {
    cpu: { frequency: frequencies().current, usage: cpuUsage.sample(), usage_avg: loadPerCpu() },
    memory: { ram: memory().used, swap: (await swap()).used, storage: { [storage.device]: storage.used } },
    // Not measured (upstream slept 2 s to sample them): empty per-device maps and zero rates.
    io: { read_iops: {}, write_iops: {}, read_bps: {}, write_bps: {} },
    network: { sent_bytes: 0, received_bytes: 0, sent_packets: 0, received_packets: 0 },
    process: await processCount(),
    container: ctx.pool.used,
  };
}

/** How long a `/libraries/` answer is reused: it costs a sandbox and a few seconds. */
const LIBRARIES_CACHE_MS = 5 * 60_000;
const LIBRARIES_TIMEOUT_MS = 60_000;
const LIBRARIES_OUTPUT_BYTES = 4 * 1024 * 1024;
const cache = new WeakMap<ServerContext, { readonly at: number; readonly body: Promise<LibrariesBody> }>();

/**
 * The script run in a sandbox: one section per kind, each line `name<TAB>version` (or a bare
 * name for `bin`). Python, Perl and dpkg are asked only when present.
 */
const LIBRARIES_SCRIPT = String.raw`
echo '#bin'; compgen -c | sort -u
echo '#system'; command -v dpkg-query >/dev/null && dpkg-query -W -f='${"${Package}"}\t${"${Version}"}\n' 2>/dev/null
echo '#python'; command -v python3 >/dev/null && python3 - <<'PY' 2>/dev/null
import importlib.metadata as m
for d in m.distributions():
    n = d.metadata["Name"]
    if n: print(f"{n}\t{d.version}")
PY
echo '#perl'; command -v perl >/dev/null && perl -MExtUtils::Installed -e 'my $i = ExtUtils::Installed->new; print "$_\t", ($i->version($_) // "?"), "\n" for $i->modules' 2>/dev/null
echo '#c'; command -v ldconfig >/dev/null && ldconfig -p 2>/dev/null | sed -n 's/^\s*\(lib[^ ]*\)\.so.*/\1\t?/p' | sort -u
true
`;

async function libraries(ctx: ServerContext, request: RequestContext): Promise<LibrariesBody> {
  const cached = cache.get(ctx);
  if (cached !== undefined && Date.now() - cached.at < LIBRARIES_CACHE_MS) return cached.body;
  const body = scanLibraries(ctx, request);
  cache.set(ctx, { at: Date.now(), body });
  body.catch(() => cache.delete(ctx));
  return body;
}

async function scanLibraries(ctx: ServerContext, request: RequestContext): Promise<LibrariesBody> {
  const release = await ctx.pool.acquire(ctx.options.poolWaitMs, AbortSignal.any([request.clientGone, ctx.closing]));
  if (release === undefined) throw new HttpError(503, "Sandbox overloaded, retry after a few seconds.");
  // Not tied to this client: the answer is cached for the next ones.
  const call = createCallContext({ owner: ctx.closing, timeoutMs: LIBRARIES_TIMEOUT_MS });
  let connection: SandboxConnectionV1 | undefined;
  try {
    connection = await ctx.backend.create({ labels: { "sandkit.server": "sandbox-api" } }, call);
    ctx.sandboxes.add(connection.info.id);
    const result = await connection.exec({ argv: ["bash", "-c", LIBRARIES_SCRIPT], cwd: connection.info.workdir, timeoutMs: LIBRARIES_TIMEOUT_MS, maxOutputBytes: LIBRARIES_OUTPUT_BYTES }, call);
    return parseLibraries(result.stdout);
  } catch (error) {
    ctx.options.logger.error?.("listing the libraries failed", { error: describe(error) });
    throw new HttpError(500, "Server Error (500)");
  } finally {
    call.dispose();
    if (connection !== undefined) {
      const id = connection.info.id;
      const destroyCall = createCallContext({ timeoutMs: LIBRARIES_TIMEOUT_MS });
      await connection.release?.().catch(() => undefined);
      await ctx.backend.destroy(id, destroyCall).then(
        () => ctx.sandboxes.delete(id),
        (error: unknown) => ctx.options.logger.error?.("destroying a sandbox failed", { sandbox: id, error: describe(error) }),
      );
      destroyCall.dispose();
    }
    release();
  }
}

/** Parses the script's output (hostile: sizes bounded by the exec, odd lines dropped). */
export function parseLibraries(output: string): LibrariesBody {
  const sections: Record<string, Record<string, string>> = { system: {}, python: {}, perl: {}, c: {} };
  const bin = new Set<string>();
  let section = "";
  for (const line of output.split("\n")) {
    if (line.startsWith("#")) {
      section = line.slice(1).trim();
      continue;
    }
    if (line.length === 0 || line.length > 1024) continue;
    if (section === "bin") {
      if (/^[\w.+-]+$/.test(line)) bin.add(line);
      continue;
    }
    const target = Object.hasOwn(sections, section) ? sections[section] : undefined;
    const tab = line.indexOf("\t");
    if (target === undefined || tab <= 0) continue;
    const name = line.slice(0, tab);
    if (name === "__proto__") continue;
    target[name] = line.slice(tab + 1);
  }
  return {
    libraries: { system: sections.system!, python: sections.python!, perl: sections.perl!, c: sections.c! },
    bin: [...bin].sort(),
  };
}
