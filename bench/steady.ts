/**
 * Steady state, compressed in time: `count` integrations whose tokens live `ttl` seconds (the
 * emulator's TTL switch). Once all are Ready, `lifetimes` token lifetimes are observed: token
 * requests (emulator) per refresh and per token published, token Secret writes per refresh (a
 * watch on the Secrets), refreshes per 10-second bucket (peak/mean) in each lifetime (a burst of
 * creates leaves the refreshes bunched; each object's fixed jitter spreads them a little more
 * every cycle), the operator's RSS and CPU (from /proc), CPU seconds per 1,000 refreshes.
 *
 *   node bench/steady.ts [--count=1000] [--ttl=60] [--lifetimes=10] [--concurrency=8] [--profile=0]
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { V1Secret } from "@kubernetes/client-node";
import {
  apiServerRequests,
  createIntegrations,
  names,
  perObject,
  repoRoot,
  startBenchEnv,
} from "./lib/env.ts";
import type { ProcSample } from "./lib/operator.ts";
import { intFlags, machine, progress, report, round } from "./lib/report.ts";
import { readyTracker, watchCollection } from "./lib/watch.ts";

const flags = intFlags({ count: 1000, ttl: 60, lifetimes: 10, concurrency: 8, profile: 0 });
const windowSeconds = flags.lifetimes * flags.ttl;
const m = machine();
const log = progress(Date.now());
const profileDir = join(repoRoot, "bench", "profiles");
if (flags.profile) mkdirSync(profileDir, { recursive: true });

/** Peak and mean of per-bucket counts over [from, to), whole buckets only. */
function bucketStats(times: number[], from: number, to: number, bucketMs: number) {
  const buckets = Math.floor((to - from) / bucketMs);
  const counts = new Array<number>(buckets).fill(0);
  for (const t of times) {
    const b = Math.floor((t - from) / bucketMs);
    if (b >= 0 && b < buckets) counts[b] = (counts[b] ?? 0) + 1;
  }
  const mean = counts.reduce((a, b) => a + b, 0) / Math.max(1, buckets);
  const peak = Math.max(0, ...counts);
  return { buckets, mean: round(mean, 2), peak, peakOverMean: round(peak / mean, 2) };
}

log(`steady: ${flags.count} integrations, tokens of ${flags.ttl} s, window ${windowSeconds} s`);
const env = await startBenchEnv({ namespace: "steady", tokenTtlSeconds: flags.ttl });
let result;
try {
  const operator = await env.startOperator({
    flags: [`--integration-concurrency=${flags.concurrency}`, `--token-concurrency=${flags.concurrency}`],
    nodeFlags: flags.profile
      ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, "--cpu-prof-name=steady.cpuprofile"]
      : [],
  });
  // Every write of a token Secret: when, which, and whether it carried a new token.
  const writes: { atMs: number; name: string; phase: string }[] = [];
  const lastDigest = new Map<string, string>();
  const newTokens: { atMs: number; name: string }[] = [];
  const watching = await watchCollection<V1Secret>(
    env.plane.kubeConfig,
    `/api/v1/namespaces/${env.namespace}/secrets`,
    (e) => {
      const name = e.object.metadata?.name ?? "";
      if (!name.endsWith("-token") || e.phase === "DELETED") return;
      writes.push({ atMs: e.atMs, name, phase: e.phase });
      const digest = e.object.metadata?.annotations?.["datatrails.ai/digest"] ?? "";
      if (digest !== lastDigest.get(name)) newTokens.push({ atMs: e.atMs, name });
      lastDigest.set(name, digest);
    },
    "app.kubernetes.io/managed-by=datatrails-operator",
  );
  const tracker = await readyTracker(env.plane.kubeConfig, env.namespace);
  const createStart = Date.now();
  await createIntegrations(env, names("steady", flags.count));
  const timer = setInterval(() => log(`${tracker.readyAt.size} Ready`), 15_000);
  await tracker.waitFor(flags.count, 60 * 60_000);
  clearInterval(timer);
  tracker.stop();
  const createSeconds = (Date.now() - createStart) / 1000;
  log(`all Ready in ${round(createSeconds)} s; observing ${windowSeconds} s`);

  const control = env.emulator.control;
  const refreshMetric = () => operator.metric("datatrails_token_refresh_total", { result: "success" });
  const attemptMetric = () => operator.metric("datatrails_token_refresh_total");
  const from = Date.now();
  const tokenBefore = control.count("token");
  const refreshBefore = await refreshMetric();
  const attemptsBefore = await attemptMetric();
  const requestsBefore = await apiServerRequests(env);
  const first = operator.sample();
  const samples: ProcSample[] = [first];
  while (Date.now() - from < windowSeconds * 1000) {
    await sleep(Math.min(5000, from + windowSeconds * 1000 - Date.now()));
    samples.push(operator.sample());
    if (samples.length % 12 === 0) log(`${round((Date.now() - from) / 1000, 0)} s observed`);
  }
  const to = Date.now();
  const last = operator.sample();
  const tokenRequests = control.count("token") - tokenBefore;
  const refreshes = (await refreshMetric()) - refreshBefore;
  const attempts = (await attemptMetric()) - attemptsBefore;
  const requestsAfter = await apiServerRequests(env);
  watching.stop();

  const inWindow = <T extends { atMs: number }>(list: T[]) =>
    list.filter((w) => w.atMs >= from && w.atMs < to);
  const windowWrites = inWindow(writes);
  const windowTokens = inWindow(newTokens);
  // Intervals between successive new tokens of the same Secret, over the whole run.
  const byName = new Map<string, number[]>();
  for (const t of newTokens) byName.set(t.name, [...(byName.get(t.name) ?? []), t.atMs]);
  const intervals = [...byName.values()].flatMap((ts) => ts.slice(1).map((t, i) => t - (ts[i] as number)));
  const meanInterval = intervals.reduce((a, b) => a + b, 0) / Math.max(1, intervals.length);
  const cpu = last.cpuSeconds - first.cpuSeconds;
  const rss = samples.map((s) => s.rssMb);
  const refreshTimes = windowTokens.map((t) => t.atMs);
  const perLifetime = Array.from({ length: flags.lifetimes }, (_, i) =>
    bucketStats(refreshTimes, from + i * flags.ttl * 1000, from + (i + 1) * flags.ttl * 1000, 10_000),
  );
  result = {
    createSeconds: round(createSeconds, 1),
    windowSeconds: round((to - from) / 1000, 1),
    refreshes,
    tokenRequests,
    refreshAttempts: attempts,
    // Token requests not made by a BearerToken refresh: the admin token, secret checks.
    otherTokenRequests: tokenRequests - attempts,
    tokenRequestsPerRefresh: round(tokenRequests / refreshes, 3),
    tokenRequestsPerTokenLifetime: round(tokenRequests / windowTokens.length, 3),
    secretWritesPerRefresh: round(windowWrites.length / refreshes, 3),
    // Kubernetes requests per refresh by verb and resource (apiserver_request_total, watches excluded).
    kubeRequestsPerRefresh: perObject(requestsAfter, requestsBefore, refreshes),
    newTokensInWindow: windowTokens.length,
    meanRefreshIntervalOverTtl: round(meanInterval / 1000 / flags.ttl, 3),
    peakOverMeanPerLifetime10s: perLifetime.map((l) => l.peakOverMean),
    lastLifetime10s: perLifetime.at(-1),
    lastLifetime1s: bucketStats(refreshTimes, to - flags.ttl * 1000, to, 1000),
    operatorCpuSeconds: round(cpu),
    operatorCpuPercent: round((100 * cpu) / ((to - from) / 1000), 1),
    cpuSecondsPer1000Refreshes: round((1000 * cpu) / refreshes),
    rssMbPeak: round(Math.max(...rss), 0),
    rssMbMean: round(rss.reduce((a, b) => a + b, 0) / rss.length, 0),
    vmHwmMb: round(last.peakRssMb, 0),
    operatorWarnings: operator.problems.slice(0, 5),
  };
} finally {
  await env.stop();
}
report(`steady-${flags.count}`, m, flags, result, [
  `${flags.count} integrations, ${flags.ttl} s tokens: ${result.refreshes} refreshes in ${result.windowSeconds} s`,
  `token requests per refresh ${result.tokenRequestsPerRefresh}, per token lifetime ${result.tokenRequestsPerTokenLifetime} (must be 1.0); ` +
    `Secret writes per refresh ${result.secretWritesPerRefresh} (must be 1)`,
  `Kubernetes requests per refresh: ${JSON.stringify(result.kubeRequestsPerRefresh)}`,
  `refresh rate peak/mean over 10 s buckets, per lifetime: ${result.peakOverMeanPerLifetime10s.join(" ")} (<= 1.5); ` +
    `last lifetime over 1 s buckets: ${result.lastLifetime1s.peakOverMean}`,
  `operator RSS peak ${result.rssMbPeak} MB, mean ${result.rssMbMean} MB (target <= 250); CPU ${result.operatorCpuPercent} % of a core, ` +
    `${result.cpuSecondsPer1000Refreshes} CPU s per 1,000 refreshes`,
]);
