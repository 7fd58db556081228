/**
 * Latency: one DataTrailsIntegration created every `intervalMs` for `seconds`; for each, the time
 * from just before the create call until a watch on the namespace's token Secrets delivers its
 * token Secret holding an access token that is a JWT not yet expired. Reports p50, p90, p99, max.
 *
 *   node bench/latency.ts [--seconds=300] [--intervalMs=1000]
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { V1Secret } from "@kubernetes/client-node";
import { tokenKeys } from "../src/api/v1alpha1/index.ts";
import { group, integrationManifest, names, startBenchEnv, version } from "./lib/env.ts";
import { intFlags, machine, progress, quantile, report, round } from "./lib/report.ts";
import { watchCollection } from "./lib/watch.ts";

const flags = intFlags({ seconds: 300, intervalMs: 1000 });
const m = machine();
const log = progress(Date.now());

/** Whether the Secret holds a JWT access token whose exp is in the future. */
function holdsValidToken(s: V1Secret): boolean {
  const raw = s.data?.[tokenKeys.accessToken];
  if (!raw) return false;
  const payload = Buffer.from(raw, "base64").toString("utf8").split(".")[1];
  if (!payload) return false;
  const { exp } = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { exp?: number };
  return typeof exp === "number" && exp * 1000 > Date.now();
}

const env = await startBenchEnv({ namespace: "latency" });
const count = Math.max(1, Math.floor((flags.seconds * 1000) / flags.intervalMs));
const appliedAt = new Map<string, number>();
const validAt = new Map<string, number>();
let result;
try {
  const operator = await env.startOperator();
  const watching = await watchCollection<V1Secret>(
    env.plane.kubeConfig,
    `/api/v1/namespaces/${env.namespace}/secrets`,
    (e) => {
      const name = e.object.metadata?.name ?? "";
      if (!name.endsWith("-token")) return;
      const integration = name.slice(0, -"-token".length);
      if (!validAt.has(integration) && holdsValidToken(e.object)) validAt.set(integration, e.atMs);
    },
    "app.kubernetes.io/managed-by=datatrails-operator",
  );
  log(`latency: ${count} integrations, one every ${flags.intervalMs} ms`);
  const cpuBefore = operator.sample().cpuSeconds;
  const start = Date.now();
  const list = names("lat", count);
  for (const [i, name] of list.entries()) {
    // A fixed schedule: a slow create does not push the later ones back.
    const due = start + i * flags.intervalMs;
    if (due > Date.now()) await sleep(due - Date.now());
    appliedAt.set(name, Date.now());
    await env.custom.createNamespacedCustomObject({
      group,
      version,
      namespace: env.namespace,
      plural: "datatrailsintegrations",
      body: integrationManifest(env.namespace, name),
    });
    if (i > 0 && i % 60 === 0) log(`${i} applied, ${validAt.size} with a token`);
  }
  const deadline = Date.now() + 60_000;
  while (validAt.size < count && Date.now() < deadline) await sleep(200);
  watching.stop();
  const latencies = list.flatMap((n) => {
    const a = appliedAt.get(n);
    const v = validAt.get(n);
    return a !== undefined && v !== undefined ? [v - a] : [];
  });
  const after = operator.sample();
  result = {
    count,
    withToken: latencies.length,
    p50Ms: round(quantile(latencies, 0.5), 0),
    p90Ms: round(quantile(latencies, 0.9), 0),
    p99Ms: round(quantile(latencies, 0.99), 0),
    maxMs: round(Math.max(...latencies), 0),
    operatorCpuSeconds: round(after.cpuSeconds - cpuBefore),
    operatorRssMb: round(after.rssMb, 0),
    wallSeconds: round((Date.now() - start) / 1000, 1),
  };
} finally {
  await env.stop();
}
report("latency", m, flags, result, [
  `${result.withToken}/${result.count} integrations got a valid token; apply → token Secret: ` +
    `p50 ${result.p50Ms} ms, p90 ${result.p90Ms} ms, p99 ${result.p99Ms} ms, max ${result.maxMs} ms ` +
    `(targets p50 <= 150 ms, p99 <= 1000 ms)`,
]);
