/**
 * Benchmark runner: runs bench/<name>.ts modules and prints one table of
 * timings plus, per benchmark, the ratio to runc measured in the same run.
 * Timings are informational; nothing here fails on a slow result.
 *
 *   bun bench/run.ts [name...]      (default: every bench/*.ts but this file)
 *
 * A benchmark module exports `name`, optional `goal` (the largest acceptable
 * ratio to its baseline row) and `run()` returning rows. A module that
 * measures several things puts each row in a `group`, with one baseline per
 * group and, in `goals`, a goal per group.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";

export interface Row {
  /** What was timed, e.g. "sysbox-runc --version". */
  label: string;
  /** One duration per run, in milliseconds. */
  samples: number[];
  /** The runc row that the other rows are compared with. */
  baseline?: boolean;
  /** Set instead of samples when the row could not be measured, with why. */
  skipped?: string;
  /** Rows are compared with the baseline of their own group (default ""). */
  group?: string;
  /** What the samples count; default "ms". */
  unit?: string;
  /** Further rows (by label) this row is compared with, each with its own goal. */
  versus?: { label: string; goal?: number }[];
}

export interface Bench {
  name: string;
  goal?: number;
  /** Goal per row group, where a module has several; `goal` covers the rest. */
  goals?: Record<string, number>;
  run(): Row[] | Promise<Row[]>;
}

export interface Stats {
  n: number;
  median: number;
  p90: number;
  mean: number;
}

/** Nearest-rank percentile of already sorted values (p in 0..100). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const mid = Math.floor(n / 2);
  const median = n === 0 ? Number.NaN : n % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  const mean = n === 0 ? Number.NaN : sorted.reduce((a, b) => a + b, 0) / n;
  return { n, median, p90: percentile(sorted, 90), mean };
}

/** Wall time of one run of argv, in ms; throws if it exits non-zero. */
export function timeCommand(argv: string[]): number {
  const t0 = performance.now();
  const r = Bun.spawnSync(argv, { stdout: "ignore", stderr: "pipe" });
  const ms = performance.now() - t0;
  if (r.exitCode !== 0) {
    throw new Error(`${argv.join(" ")} exited ${r.exitCode}: ${r.stderr.toString().trim()}`);
  }
  return ms;
}

/**
 * Runs each command `warmup` times, then `runs` times interleaved (the order
 * alternating each round) so drift in machine load hits all commands alike.
 */
export function interleave(commands: string[][], runs: number, warmup: number): number[][] {
  for (const argv of commands) for (let i = 0; i < warmup; i++) timeCommand(argv);
  const samples: number[][] = commands.map(() => []);
  for (let i = 0; i < runs; i++) {
    const order = commands.map((_, j) => j);
    if (i % 2) order.reverse();
    for (const j of order) samples[j]?.push(timeCommand(commands[j] as string[]));
  }
  return samples;
}

const fmt = (ms: number) => (Number.isNaN(ms) ? "-" : ms.toFixed(2));

export function formatReport(results: { bench: Bench; rows: Row[] }[]): string {
  const header = ["benchmark", "row", "median", "p90", "mean", "n", "unit"];
  const lines: string[][] = [];
  const notes: string[] = [];
  for (const { bench, rows } of results) {
    for (const row of rows) {
      if (row.skipped) {
        lines.push([bench.name, row.label, "-", "-", "-", "0", row.unit ?? "ms"]);
        notes.push(`${bench.name}: ${row.label} skipped: ${row.skipped}`);
        continue;
      }
      const s = stats(row.samples);
      lines.push([bench.name, row.label, fmt(s.median), fmt(s.p90), fmt(s.mean), String(s.n), row.unit ?? "ms"]);
    }
    for (const row of rows) {
      if (row.skipped) continue;
      for (const v of row.versus ?? []) {
        const other = rows.find((r) => r.label === v.label && !r.skipped);
        if (!other) {
          notes.push(`${bench.name}: ${v.label} not measured; no ratio for ${row.label}`);
          continue;
        }
        const ratio = stats(row.samples).median / stats(other.samples).median;
        const goal = v.goal === undefined ? "" : ` (goal <= ${v.goal}x: ${ratio <= v.goal ? "met" : "NOT met"})`;
        notes.push(`${bench.name}: ${row.label} / ${other.label} = ${ratio.toFixed(2)}x by median${goal}`);
      }
      if (row.baseline || (row.versus && !rows.some((r) => r.baseline && (r.group ?? "") === (row.group ?? "")))) continue;
      const group = row.group ?? "";
      const base = rows.find((r) => r.baseline && !r.skipped && (r.group ?? "") === group);
      if (!base) {
        notes.push(`${bench.name}: no runc baseline measured; no ratio for ${row.label}`);
        continue;
      }
      const ratio = stats(row.samples).median / stats(base.samples).median;
      const want = bench.goals?.[group] ?? bench.goal;
      const goal = want === undefined ? "" : ` (goal <= ${want}x: ${ratio <= want ? "met" : "NOT met"})`;
      notes.push(`${bench.name}: ${row.label} / ${base.label} = ${ratio.toFixed(2)}x by median${goal}`);
    }
  }
  const table = [header, ...lines];
  const widths = header.map((_, c) => Math.max(...table.map((l) => (l[c] as string).length)));
  const render = (l: string[]) =>
    l.map((cell, c) => (c >= 2 ? cell.padStart(widths[c] as number) : cell.padEnd(widths[c] as number))).join("  ");
  return [
    render(header),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...lines.map(render),
    "",
    "times in ms unless the unit column says otherwise",
    ...notes,
  ].join("\n");
}

function benchFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".ts") && f !== "run.ts" && !f.endsWith(".test.ts") && !f.startsWith("_"))
    .map((f) => f.slice(0, -3))
    .sort();
}

if (import.meta.main) {
  const available = benchFiles(import.meta.dir);
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !available.includes(w));
  if (unknown.length > 0) {
    console.error(`bench: unknown benchmark(s) ${unknown.join(", ")}; available: ${available.join(", ")}`);
    process.exit(2);
  }
  const results: { bench: Bench; rows: Row[] }[] = [];
  for (const file of wanted.length > 0 ? wanted : available) {
    const bench = (await import(join(import.meta.dir, `${file}.ts`))) as Bench;
    console.error(`bench: running ${bench.name} ...`);
    const t0 = performance.now();
    results.push({ bench, rows: await bench.run() });
    console.error(`bench: ${bench.name} took ${((performance.now() - t0) / 1000).toFixed(1)}s`);
  }
  console.log(formatReport(results));
}
