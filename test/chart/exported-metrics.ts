/**
 * What the chart's alerts and dashboard may name: the series the operator really exports, read from
 * the /metrics answer of a started metrics endpoint (the operator's own registry behind its own
 * health server), and a small reader of the metric names a PromQL expression selects.
 */
import { createMetrics } from "../../src/observability/metrics.ts";
import { startHealthServer } from "../../src/observability/health.ts";

/** Series names per `# TYPE` (a histogram `x` is scraped as `x_bucket`, `x_sum` and `x_count`). */
const seriesOfType: Record<string, (name: string) => string[]> = {
  counter: (n) => [n],
  gauge: (n) => [n],
  untyped: (n) => [n],
  histogram: (n) => [`${n}_bucket`, `${n}_sum`, `${n}_count`],
  summary: (n) => [n, `${n}_sum`, `${n}_count`],
};

/** Every series name in a Prometheus text exposition, from its `# TYPE` lines. */
export function seriesNamesOf(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const match of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name = "", type = ""] = match;
    const expand = seriesOfType[type];
    if (!expand) throw new Error(`unknown metric type ${type} of ${name}`);
    for (const s of expand(name)) names.add(s);
  }
  return names;
}

/** GET /metrics of a health server serving a fresh operator registry (Node's default metrics too). */
export async function scrapeOperatorMetrics(): Promise<string> {
  const metrics = createMetrics();
  const server = await startHealthServer({
    port: 0,
    host: "127.0.0.1",
    metrics,
    isReady: () => true,
    isAlive: () => true,
  });
  try {
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
    return await res.text();
  } finally {
    await server.close();
  }
}

/** The series names the operator exports, as scraped from its /metrics. */
export async function exportedSeriesNames(): Promise<Set<string>> {
  return seriesNamesOf(await scrapeOperatorMetrics());
}

const notMetrics = new Set([
  "and",
  "or",
  "unless",
  "bool",
  "offset",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "inf",
  "nan",
]);

/**
 * The metric names an expression selects. Not a PromQL parser: it drops strings, label matchers,
 * ranges, grouping label lists and Grafana variables, then keeps each identifier that is not a
 * function call, a keyword or part of a number.
 */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\$\{?\w+\}?/g, " ");
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w.:])[a-zA-Z_:][\w:]*/g)) {
    const after = stripped.slice((m.index ?? 0) + m[0].length).trimStart();
    if (after.startsWith("(") || notMetrics.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}
