/**
 * What every benchmark prints: the machine (cores, Node, load average before the run: other
 * processes may share the CPU), the date, the command, then one JSON result line and a summary.
 * Results are also written to bench/results/<name>.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

/** Facts about the machine at the start of a run. */
export interface Machine {
  date: string;
  cores: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  /** 1, 5 and 15 minute load averages before the run. */
  loadBefore: number[];
}

/** Reads the machine facts now. */
export function machine(): Machine {
  return {
    date: new Date().toISOString(),
    cores: cpus().length,
    cpuModel: cpus()[0]?.model ?? "?",
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    loadBefore: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** Integer flags `--name=value` with defaults; unknown flags are an error. */
export function intFlags<T extends Record<string, number>>(defaults: T): T {
  const { values } = parseArgs({
    options: Object.fromEntries(Object.keys(defaults).map((k) => [k, { type: "string" as const }])),
    strict: true,
  });
  const out: Record<string, number> = { ...defaults };
  for (const [k, v] of Object.entries(values)) {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`--${k} must be a number, got ${String(v)}`);
    out[k] = n;
  }
  return out as T;
}

/** The q-quantile (0..1) of `values`, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

/** Rounds for printing. */
export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Least-squares slope and intercept of y over x. */
export function linearFit(points: readonly [number, number][]): { slope: number; intercept: number } {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const slope = sxx === 0 ? NaN : sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

/** Prints the JSON line and the summary, and writes bench/results/<name>.json. */
export function report(name: string, m: Machine, params: object, result: object, summary: string[]): void {
  const line = { bench: name, command: process.argv.slice(1).join(" "), machine: m, params, result };
  const json = JSON.stringify(line);
  process.stdout.write(`${json}\n`);
  process.stdout.write(
    [
      `== ${name} (${m.date}, ${m.cores} cores, node ${m.node}, load before ${m.loadBefore.join(" ")})`,
      ...summary.map((s) => `   ${s}`),
      "",
    ].join("\n"),
  );
  const dir = join(import.meta.dirname, "..", "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), `${json}\n`);
}

/** Logs progress to stderr with the elapsed time. */
export function progress(start: number): (msg: string) => void {
  return (msg) => process.stderr.write(`[${((Date.now() - start) / 1000).toFixed(1)} s] ${msg}\n`);
}
