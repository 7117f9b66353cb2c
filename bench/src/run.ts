/**
 * `pnpm bench`: runs every `src/*.bench.ts` module (or those whose file name contains one of the
 * arguments), prints a table of ratios and writes `results/latest.json`.
 */
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ratioOf, type BenchContext, type BenchModule, type BenchRow } from "./harness.ts";

const here = new URL(".", import.meta.url);
const filters = process.argv.slice(2).filter((arg) => !arg.startsWith("-"));

const files = (await readdir(here))
  .filter((name) => name.endsWith(".bench.ts"))
  .filter((name) => filters.length === 0 || filters.some((filter) => name.includes(filter)))
  .sort();
if (files.length === 0) {
  console.error(`bench: no *.bench.ts module${filters.length > 0 ? ` matches ${filters.join(", ")}` : ""}`);
  process.exit(1);
}

const context: BenchContext = { log: (message) => console.error(`bench: ${message}`) };
const started = performance.now();
const results: { module: string; row: BenchRow; ratio: number; pass: boolean }[] = [];
for (const file of files) {
  const module = (await import(pathToFileURL(fileURLToPath(new URL(file, here))).href)) as Partial<BenchModule>;
  if (typeof module.rows !== "function") throw new Error(`${file} does not export rows(context)`);
  for (const row of await module.rows(context)) {
    const ratio = ratioOf(row);
    results.push({ module: file, row, ratio, pass: ratio <= row.targetRatio });
  }
}
const seconds = (performance.now() - started) / 1000;

const format = (value: number): string => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));
const table = [
  ["benchmark", "sandkit", "baseline", "unit", "ratio", "target", ""],
  ...results.map(({ row, ratio, pass }) => [
    row.name,
    format(row.sandkit.median),
    format(row.baseline.median),
    row.unit,
    `${ratio.toFixed(3)}x`,
    `<= ${row.targetRatio.toFixed(2)}x`,
    pass ? "ok" : "MISS",
  ]),
];
const widths = table[0]!.map((_, col) => Math.max(...table.map((line) => line[col]!.length)));
for (const [i, line] of table.entries()) {
  console.log(line.map((cell, col) => (col === 0 || col === 3 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join("  ").trimEnd());
  if (i === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
}
for (const { row } of results) if (row.note !== undefined) console.log(`  ${row.name}: ${row.note}`);
console.log(
  `sandkit and baseline are medians; ratio is the median of per-round ratios (sandkit/baseline for times, baseline/sandkit for throughput); ${seconds.toFixed(1)} s on ${cpus().length} CPUs, node ${process.version}`,
);

const out = new URL("../results/", import.meta.url);
await mkdir(out, { recursive: true });
await writeFile(
  new URL("latest.json", out),
  `${JSON.stringify(
    {
      generatedAt: new Date().toISOString(),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: cpus().length,
      durationSeconds: Number(seconds.toFixed(2)),
      rows: results.map(({ module, row, ratio, pass }) => ({ module, ...row, better: row.better ?? "lower", ratio: Number(ratio.toFixed(4)), pass })),
    },
    null,
    2,
  )}\n`,
);
console.log("written to bench/results/latest.json");
