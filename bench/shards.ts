/**
 * Shards across replicas: `replicas` operator processes with `--shards=<shards>` over `count`
 * integrations whose tokens live `ttl` seconds. Once all are Ready and the shards are spread (one
 * Lease holder per shard), `lifetimes` token lifetimes are observed: each replica's share of the
 * refreshes (its datatrails_token_refresh_total against the sum), its RSS and CPU. Then the holder of
 * the fullest shard is SIGKILLed: the time until another replica holds its shard (read from the
 * Leases every 100 ms), and over one more lifetime the token Secrets holding an expired token
 * (sampled every second) and the token requests beyond the refreshes (emulator count minus the
 * replicas' refresh attempts). Last, with `--baseline=1`, the same integrations under one replica
 * with `--shards=1`: its RSS once every BearerToken was reconciled, for RSS per replica vs one.
 *
 *   node bench/shards.ts [--count=10000] [--ttl=60] [--replicas=3] [--shards=3] [--lifetimes=2]
 *                        [--concurrency=8] [--baseline=1]
 */
import { setTimeout as sleep } from "node:timers/promises";
import { CoordinationV1Api } from "@kubernetes/client-node";
import { objectShard, shardLeaseName } from "../src/k8s/shards.ts";
import { createIntegrations, names, startBenchEnv } from "./lib/env.ts";
import type { OperatorChild } from "./lib/operator.ts";
import { intFlags, machine, progress, report, round } from "./lib/report.ts";
import { watchTokenSecrets } from "./lib/tokens.ts";
import { readyTracker } from "./lib/watch.ts";

const flags = intFlags({
  count: 10000,
  ttl: 60,
  replicas: 3,
  shards: 3,
  lifetimes: 2,
  concurrency: 8,
  baseline: 1,
});
const m = machine();
const log = progress(Date.now());
const namespace = "shards";
const leaseName = "bench-shards";
// The chart's lease timings: a takeover is bounded by lease duration + renew deadline.
const leaseDurationMs = 15_000;
const renewDeadlineMs = 10_000;

log(
  `shards: ${flags.replicas} replicas × ${flags.shards} shards, ${flags.count} integrations, tokens of ${flags.ttl} s`,
);
const env = await startBenchEnv({ namespace, tokenTtlSeconds: flags.ttl });
const leases = env.plane.kubeConfig.makeApiClient(CoordinationV1Api);

async function holders(): Promise<string[]> {
  return Promise.all(
    Array.from({ length: flags.shards }, async (_, k) => {
      try {
        const lease = await leases.readNamespacedLease({ name: shardLeaseName(leaseName, k), namespace });
        return lease.spec?.holderIdentity ?? "";
      } catch {
        return "";
      }
    }),
  );
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const replicaFlags = (identity: string, shards: number) => [
  "--leader-election=true",
  `--lease-namespace=${namespace}`,
  `--lease-name=${leaseName}`,
  `--identity=${identity}`,
  `--shards=${shards}`,
  `--lease-duration-ms=${leaseDurationMs}`,
  `--renew-deadline-ms=${renewDeadlineMs}`,
  `--integration-concurrency=${flags.concurrency}`,
  `--token-concurrency=${flags.concurrency}`,
];

let result;
try {
  const identities = Array.from({ length: flags.replicas }, (_, i) => `bench-replica-${i}`);
  const replicas: OperatorChild[] = [];
  for (const identity of identities)
    replicas.push(await env.startOperator({ flags: replicaFlags(identity, flags.shards) }));
  const spread = await until("every shard held, no replica above its share", 120_000, async () => {
    const h = await holders();
    const share = Math.ceil(flags.shards / flags.replicas);
    const ok =
      h.every((x) => x !== "") && identities.every((id) => h.filter((x) => x === id).length <= share);
    return ok ? h : undefined;
  });
  log(`shards held: ${spread.join(", ")}`);

  const tokens = await watchTokenSecrets(env.plane.kubeConfig, namespace);
  const tracker = await readyTracker(env.plane.kubeConfig, namespace);
  const createStart = Date.now();
  const list = names("shards", flags.count);
  await createIntegrations(env, list);
  const timer = setInterval(() => log(`${tracker.readyAt.size} Ready`), 15_000);
  await tracker.waitFor(flags.count, 60 * 60_000);
  clearInterval(timer);
  tracker.stop();
  const createSeconds = (Date.now() - createStart) / 1000;
  log(`all Ready in ${round(createSeconds)} s; observing ${flags.lifetimes} lifetimes`);

  // Objects per shard, by the operator's own hash of namespace/uid.
  const objects = (await env.custom.listNamespacedCustomObject({
    group: "datatrails.ai",
    version: "v1alpha1",
    namespace,
    plural: "datatrailsintegrations",
  })) as { items: { metadata: { namespace: string; uid: string } }[] };
  const perShard = Array.from({ length: flags.shards }, () => 0);
  for (const o of objects.items) {
    const k = objectShard(o, flags.shards);
    if (k !== undefined) perShard[k] = (perShard[k] ?? 0) + 1;
  }

  const refreshes = (r: OperatorChild) => r.metric("datatrails_token_refresh_total", { result: "success" });
  const attempts = (r: OperatorChild) => r.metric("datatrails_token_refresh_total");
  const before = await Promise.all(replicas.map(refreshes));
  const cpuBefore = replicas.map((r) => r.sample().cpuSeconds);
  const from = Date.now();
  const rss = replicas.map(() => [] as number[]);
  while (Date.now() - from < flags.lifetimes * flags.ttl * 1000) {
    await sleep(5000);
    replicas.forEach((r, i) => rss[i]?.push(r.sample().rssMb));
  }
  const seconds = (Date.now() - from) / 1000;
  const after = await Promise.all(replicas.map(refreshes));
  const done = replicas.map((_, i) => (after[i] ?? 0) - (before[i] ?? 0));
  const total = done.reduce((a, b) => a + b, 0);
  const perReplica = identities.map((identity, i) => ({
    identity,
    shards: spread.map((h, k) => (h === identity ? k : -1)).filter((k) => k >= 0),
    refreshes: done[i] ?? 0,
    shareOfRefreshes: round((done[i] ?? 0) / Math.max(1, total), 3),
    deviationFromEvenPercent: round(
      (100 * ((done[i] ?? 0) - total / flags.replicas)) / Math.max(1, total / flags.replicas),
      1,
    ),
    rssMbMean: round((rss[i] ?? []).reduce((a, b) => a + b, 0) / Math.max(1, rss[i]?.length ?? 0), 0),
    rssMbPeak: round(Math.max(0, ...(rss[i] ?? [])), 0),
    cpuPercent: round((100 * ((replicas[i]?.sample().cpuSeconds ?? 0) - (cpuBefore[i] ?? 0))) / seconds, 1),
  }));

  // Kill the holder of the fullest shard; watch the Leases for its successor.
  const fullest = perShard.indexOf(Math.max(...perShard));
  const victimIndex = identities.indexOf(spread[fullest] ?? "");
  const victim = replicas[victimIndex];
  if (!victim) throw new Error(`no replica holds shard ${fullest}`);
  const survivors = replicas.filter((r) => r !== victim);
  const tokenBefore = env.emulator.control.count("token");
  const attemptsBefore = (await Promise.all(survivors.map(attempts))).reduce((a, b) => a + b, 0);
  const victimAttempts = await attempts(victim);
  const killedAt = Date.now();
  process.kill(victim.pid, "SIGKILL");
  const victimShards = spread.map((h, k) => (h === identities[victimIndex] ? k : -1)).filter((k) => k >= 0);
  const takeoverMs = await until("the killed replica's shards taken over", 120_000, async () => {
    const h = await holders();
    return victimShards.every((k) => h[k] !== "" && h[k] !== identities[victimIndex])
      ? Date.now() - killedAt
      : undefined;
  });
  log(`shard(s) ${victimShards.join(", ")} taken over in ${takeoverMs} ms; observing one more lifetime`);
  let maxExpired = 0;
  const afterKill = Date.now();
  while (Date.now() - afterKill < flags.ttl * 1000) {
    await sleep(1000);
    maxExpired = Math.max(maxExpired, tokens.expired(Date.now()).length);
  }
  const tokenRequests = env.emulator.control.count("token") - tokenBefore;
  const attemptsAfter = (await Promise.all(survivors.map(attempts))).reduce((a, b) => a + b, 0);
  const survivorAttempts = attemptsAfter - attemptsBefore;
  tokens.stop();
  for (const r of survivors) await r.stop();

  let baseline: { rssMb: number; cpuPercent: number } | undefined;
  if (flags.baseline) {
    log("baseline: one replica, --shards=1");
    const single = await env.startOperator({ flags: replicaFlags("bench-single", 1) });
    const reconciledBefore = 0;
    await until("every BearerToken reconciled by the single replica", 30 * 60_000, async () =>
      (await single.metric("datatrails_reconcile_duration_seconds_count", { controller: "bearertoken" })) >=
      reconciledBefore + flags.count
        ? true
        : undefined,
    );
    const cpu0 = single.sample().cpuSeconds;
    const samples: number[] = [];
    const t0 = Date.now();
    while (Date.now() - t0 < flags.ttl * 1000) {
      await sleep(5000);
      samples.push(single.sample().rssMb);
    }
    baseline = {
      rssMb: round(samples.reduce((a, b) => a + b, 0) / Math.max(1, samples.length), 0),
      cpuPercent: round((100 * (single.sample().cpuSeconds - cpu0)) / ((Date.now() - t0) / 1000), 1),
    };
  }

  result = {
    createSeconds: round(createSeconds, 1),
    objectsPerShard: perShard,
    observedSeconds: round(seconds, 1),
    refreshes: total,
    perReplica,
    maxDeviationFromEvenPercent: Math.max(...perReplica.map((r) => Math.abs(r.deviationFromEvenPercent))),
    killed: {
      identity: identities[victimIndex],
      shards: victimShards,
      refreshAttemptsBeforeKill: victimAttempts,
    },
    takeoverMs,
    takeoverBoundMs: leaseDurationMs + renewDeadlineMs,
    maxExpiredTokenSecrets: maxExpired,
    tokenRequestsAfterKill: tokenRequests,
    refreshAttemptsAfterKill: survivorAttempts,
    // Token requests no BearerToken refresh made: admin tokens and connection probes.
    extraTokenRequestsAfterKill: tokenRequests - survivorAttempts,
    baseline,
  };
} finally {
  await env.stop();
}
report(`shards-${flags.replicas}x${flags.shards}-${flags.count}`, m, flags, result, [
  `${flags.count} integrations over ${flags.shards} shards (${result.objectsPerShard.join("/")}), ${flags.replicas} replicas, tokens of ${flags.ttl} s`,
  `refresh share per replica: ${result.perReplica.map((r) => `${r.identity} ${r.shareOfRefreshes}`).join(", ")} (max deviation from even ${result.maxDeviationFromEvenPercent} %, target ±15 %)`,
  `RSS per replica (mean MB): ${result.perReplica.map((r) => r.rssMbMean).join(", ")}${result.baseline ? `; one replica alone: ${result.baseline.rssMb}` : ""}`,
  `killed ${result.killed.identity} (shards ${result.killed.shards.join(", ")}): taken over in ${result.takeoverMs} ms (bound ${result.takeoverBoundMs})`,
  `after the kill: ${result.maxExpiredTokenSecrets} token Secrets with an expired token at worst (must be 0), ` +
    `${result.extraTokenRequestsAfterKill} token requests beyond the refreshes (admin and probes only)`,
]);
