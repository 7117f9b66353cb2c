import { readdir, readFile, statfs } from "node:fs/promises";
import { availableParallelism, cpus, freemem, loadavg, totalmem } from "node:os";

/** One mounted file system: the device named in `/proc/mounts` (or the directory when unknown) and its sizes. */
export interface Storage {
  readonly device: string;
  readonly total: number;
  readonly used: number;
}

/** Physical cores from `/proc/cpuinfo` (distinct physical id / core id pairs), `null` when it does not say (as psutil). */
export async function physicalCores(): Promise<number | null> {
  const text = await readFile("/proc/cpuinfo", "utf8").catch(() => undefined);
  if (text === undefined) return null;
  const pairs = new Set<string>();
  for (const block of text.split(/\n\s*\n/)) {
    const physical = /^physical id\s*:\s*(\d+)/m.exec(block)?.[1];
    const core = /^core id\s*:\s*(\d+)/m.exec(block)?.[1];
    if (physical !== undefined && core !== undefined) pairs.add(`${physical}:${core}`);
  }
  return pairs.size === 0 ? null : pairs.size;
}

/** CPU frequencies in MHz as Node reports them (0 when the host does not say). */
export function frequencies(): { readonly min: number; readonly max: number; readonly current: number } {
  const speeds = cpus().map((cpu) => cpu.speed).filter((speed) => speed > 0);
  if (speeds.length === 0) return { min: 0, max: 0, current: 0 };
  return { min: Math.min(...speeds), max: Math.max(...speeds), current: speeds.reduce((a, b) => a + b, 0) / speeds.length };
}

/** Logical CPUs. */
export function logicalCpus(): number {
  return availableParallelism();
}

/** Total and used swap in bytes, from `/proc/meminfo` (0 when unknown). */
export async function swap(): Promise<{ readonly total: number; readonly used: number }> {
  const text = await readFile("/proc/meminfo", "utf8").catch(() => "");
  const kib = (key: string): number => Number(new RegExp(`^${key}:\\s*(\\d+)`, "m").exec(text)?.[1] ?? 0) * 1024;
  const total = kib("SwapTotal");
  return { total, used: Math.max(0, total - kib("SwapFree")) };
}

/** RAM in bytes. */
export function memory(): { readonly total: number; readonly used: number } {
  return { total: totalmem(), used: totalmem() - freemem() };
}

/** The file system holding `dir`: its device (longest mount point of `/proc/mounts` containing it) and sizes. */
export async function storageOf(dir: string): Promise<Storage> {
  const stats = await statfs(dir);
  const total = stats.blocks * stats.bsize;
  const used = (stats.blocks - stats.bfree) * stats.bsize;
  const mounts = await readFile("/proc/mounts", "utf8").catch(() => "");
  let device = dir;
  let best = -1;
  for (const line of mounts.split("\n")) {
    const [source, mountPoint] = line.split(" ");
    if (source === undefined || mountPoint === undefined) continue;
    const point = mountPoint.replace(/\\040/g, " ");
    const contains = point === "/" || dir === point || dir.startsWith(`${point}/`);
    if (contains && point.length > best) {
      best = point.length;
      device = source;
    }
  }
  return { device, total, used };
}

/** Processes on the host (entries of `/proc`), 0 when unknown. */
export async function processCount(): Promise<number> {
  const names = await readdir("/proc").catch(() => [] as string[]);
  return names.filter((name) => /^\d+$/.test(name)).length;
}

/** 1/5/15-minute load averages divided by the logical CPUs. */
export function loadPerCpu(): [number, number, number] {
  const [one = 0, five = 0, fifteen = 0] = loadavg();
  const n = logicalCpus();
  return [one / n, five / n, fifteen / n];
}

/** Host CPU use between calls, from the cumulative times of `os.cpus()` (the first call reads 0, as psutil). */
export class CpuUsage {
  #last: { busy: number; total: number } | undefined;

  /** The fraction 0..1 of CPU time spent busy since the previous call. */
  sample(): number {
    let busy = 0;
    let total = 0;
    for (const cpu of cpus()) {
      const { user, nice, sys, idle, irq } = cpu.times;
      busy += user + nice + sys + irq;
      total += user + nice + sys + idle + irq;
    }
    const last = this.#last;
    this.#last = { busy, total };
    if (last === undefined || total <= last.total) return 0;
    return Math.min(1, Math.max(0, (busy - last.busy) / (total - last.total)));
  }
}
