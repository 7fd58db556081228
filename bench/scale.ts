/**
 * Ten thousand on one replica: `count` integrations whose tokens live `ttl` seconds, created at
 * once and then watched for `window` seconds of refreshing, then a restart.
 *
 * - Create: apply → every integration Ready (and every token Secret valid), seconds.
 * - Refreshing, over the window: refreshes per second, the operator's CPU per 1,000 refreshes and
 *   its RSS (/proc), expired-token moments (once a second, token Secrets whose current token is past
 *   its `exp`), token requests per refresh (the emulator's counter), and how close each refresh came
 *   to its schedule: the time a new token reached its Secret minus the refresh point the operator
 *   plans for the token it replaced (src/tokens/schedule.ts, from the replaced token's issued-at and
 *   expiry annotations and the BearerToken's UID), as a share of that token's lifetime. The CPU of
 *   the API server, etcd and this process (the emulator and the benchmark's watches) over the same
 *   window shows what saturates first.
 * - Restart (`--restart=1`): the emulator switches to one-hour tokens; once every Secret holds one,
 *   the operator is stopped (SIGTERM) and a new process started. Until it has reconciled every object
 *   and is quiet: token requests and application writes (both must be 0).
 *
 *   node bench/scale.ts [--count=10000] [--ttl=300] [--window=420] [--concurrency=8]
 *     [--node-options="--max-old-space-size=256 --max-semi-space-size=2"] [--restart=1] [--profile=0]
 */
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import type { V1Secret } from "@kubernetes/client-node";
import { expiresAtAnnotation } from "../src/api/v1alpha1/constants.ts";
import { refreshAt } from "../src/tokens/schedule.ts";
import { createIntegrations, dataTrailsCalls, names, repoRoot, startBenchEnv } from "./lib/env.ts";
import { waitQuiet, type ProcSample } from "./lib/operator.ts";
import { machine, progress, quantile, report, round } from "./lib/report.ts";
import { watchTokenSecrets } from "./lib/tokens.ts";
import { readyTracker, watchCollection } from "./lib/watch.ts";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "10000" },
    ttl: { type: "string", default: "300" },
    window: { type: "string", default: "420" },
    concurrency: { type: "string", default: "8" },
    "node-options": { type: "string", default: "--max-old-space-size=256 --max-semi-space-size=2" },
    restart: { type: "string", default: "1" },
    profile: { type: "string", default: "0" },
  },
});
const count = Number(values.count);
const ttl = Number(values.ttl);
const windowSeconds = Number(values.window);
const concurrency = Number(values.concurrency);
const nodeOptions = values["node-options"];
const params = { count, ttl, windowSeconds, concurrency, nodeOptions, restart: values.restart === "1" };
const m = machine();
const log = progress(Date.now());
const profileDir = join(repoRoot, "bench", "profiles");
if (values.profile === "1") mkdirSync(profileDir, { recursive: true });

/** The token Secret's record of when its token was obtained (src/controllers/token/secret.ts). */
const issuedAtAnnotation = "datatrails.ai/issued-at";

/** CPU seconds of this process's children by command name (etcd, kube-apiserver, the operator). */
function childCpu(): Map<string, number> {
  const out = new Map<string, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue;
    }
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[1]) !== process.pid) continue;
    const name = comm === "node" ? "operator" : comm;
    out.set(name, (out.get(name) ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100);
  }
  return out;
}

/** CPU seconds of this process (the emulator runs in it). */
const ownCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

log(
  `scale: ${count} integrations, tokens of ${ttl} s, window ${windowSeconds} s, NODE_OPTIONS ${nodeOptions}`,
);
const env = await startBenchEnv({ namespace: "scale", tokenTtlSeconds: ttl });
let result;
try {
  const flags = [`--integration-concurrency=${concurrency}`, `--token-concurrency=${concurrency}`];
  let operator = await env.startOperator({
    flags,
    nodeOptions,
    nodeFlags:
      values.profile === "1"
        ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, "--cpu-prof-name=scale.cpuprofile"]
        : [],
  });
  const tokens = await watchTokenSecrets(env.plane.kubeConfig, env.namespace);

  // Each token Secret's current token times and its BearerToken's UID (the schedule's key); each
  // replacement's lateness against the refresh point planned for the token it replaced.
  const current = new Map<string, { issuedAt: Date; expiresAt: Date; uid: string }>();
  const lateness: { atMs: number; share: number }[] = [];
  const secretWatch = await watchCollection<V1Secret>(
    env.plane.kubeConfig,
    `/api/v1/namespaces/${env.namespace}/secrets`,
    (e) => {
      const meta = e.object.metadata;
      const name = meta?.name ?? "";
      if (!name.endsWith("-token") || e.phase === "DELETED") return;
      const iat = Date.parse(meta?.annotations?.[issuedAtAnnotation] ?? "");
      const exp = Date.parse(meta?.annotations?.[expiresAtAnnotation] ?? "");
      const uid = meta?.ownerReferences?.find((o) => o.kind === "BearerToken")?.uid;
      if (Number.isNaN(iat) || Number.isNaN(exp) || !uid) return;
      const previous = current.get(name);
      if (previous && previous.issuedAt.getTime() !== iat) {
        const planned = refreshAt(previous, previous.uid).getTime();
        const lifetime = previous.expiresAt.getTime() - previous.issuedAt.getTime();
        lateness.push({ atMs: e.atMs, share: (e.atMs - planned) / lifetime });
      }
      current.set(name, { issuedAt: new Date(iat), expiresAt: new Date(exp), uid });
    },
  );

  const tracker = await readyTracker(env.plane.kubeConfig, env.namespace);
  const createStart = Date.now();
  const creating = createIntegrations(env, names("scale", count), 32);
  const ticker = setInterval(
    () =>
      log(
        `${tracker.readyAt.size} of ${count} Ready, ${tokens.firstValidAt.size} tokens valid, RSS ${round(operator.sample().rssMb, 0)} MB`,
      ),
    30_000,
  );
  await creating;
  const appliedSeconds = (Date.now() - createStart) / 1000;
  await tracker.waitFor(count, 90 * 60_000);
  const readySeconds = (Date.now() - createStart) / 1000;
  await tokens.waitForValid(count, 30 * 60_000);
  const validSeconds = (Date.now() - createStart) / 1000;
  clearInterval(ticker);
  tracker.stop();
  log(
    `all ${count} Ready in ${round(readySeconds)} s (applied in ${round(appliedSeconds)} s), tokens valid in ${round(validSeconds)} s`,
  );

  // The window.
  const from = Date.now();
  const op0 = operator.sample();
  const children0 = childCpu();
  const own0 = ownCpu();
  const calls0 = env.emulator.control.counters().token;
  const refreshes0 = tokens.newTokens.length;
  const samples: ProcSample[] = [];
  let expiredMoments = 0;
  const expiredNames = new Set<string>();
  while (Date.now() - from < windowSeconds * 1000) {
    await sleep(1000);
    const expired = tokens.expired(Date.now());
    expiredMoments += expired.length;
    for (const n of expired) expiredNames.add(n);
    samples.push(operator.sample());
    if (samples.length % 60 === 0)
      log(
        `${samples.length} s observed, ${tokens.newTokens.length - refreshes0} refreshes, RSS ${round(operator.sample().rssMb, 0)} MB`,
      );
  }
  const to = Date.now();
  const op1 = operator.sample();
  const children1 = childCpu();
  const own1 = ownCpu();
  const seconds = (to - from) / 1000;
  const refreshes = tokens.newTokens.filter((t) => t.atMs >= from && t.atMs < to).length;
  const tokenRequests = env.emulator.control.counters().token - calls0;
  const shares = lateness.filter((l) => l.atMs >= from && l.atMs < to).map((l) => l.share);
  const cpuShare = (a: number | undefined, b: number | undefined) =>
    round((100 * ((b ?? 0) - (a ?? 0))) / seconds, 1);
  const operatorCpu = op1.cpuSeconds - op0.cpuSeconds;
  const refreshing = {
    seconds: round(seconds, 1),
    refreshes,
    refreshesPerSecond: round(refreshes / seconds, 1),
    tokenRequestsPerRefresh: round(tokenRequests / Math.max(1, refreshes), 3),
    expiredMoments,
    expiredSecrets: expiredNames.size,
    scheduleLateness: {
      replacements: shares.length,
      p50: round(quantile(shares, 0.5), 4),
      p99: round(quantile(shares, 0.99), 4),
      max: round(Math.max(...shares), 4),
      min: round(Math.min(...shares), 4),
      within2Percent: round(shares.filter((s) => Math.abs(s) <= 0.02).length / Math.max(1, shares.length), 4),
    },
    operatorCpuSecondsPer1000Refreshes: round((1000 * operatorCpu) / Math.max(1, refreshes)),
    cpuPercentOfOneCore: {
      operator: round((100 * operatorCpu) / seconds, 1),
      "kube-apiserver": cpuShare(children0.get("kube-apiserver"), children1.get("kube-apiserver")),
      etcd: cpuShare(children0.get("etcd"), children1.get("etcd")),
      "emulator and benchmark": round((100 * (own1 - own0)) / seconds, 1),
    },
    rssMbPeak: round(Math.max(...samples.map((s) => s.rssMb)), 0),
    rssMbMean: round(samples.reduce((a, s) => a + s.rssMb, 0) / Math.max(1, samples.length), 0),
    vmHwmMb: round(op1.peakRssMb, 0),
  };
  log(
    `window: ${refreshes} refreshes, ${expiredMoments} expired moments, RSS mean ${refreshing.rssMbMean} MB`,
  );

  let restart;
  if (params.restart) {
    env.emulator.control.setTokenTtlSeconds(3600);
    log("one-hour tokens from now on; waiting until every Secret holds one");
    const longFrom = Date.now() + 1800_000;
    for (;;) {
      const short = [...current.values()].filter((c) => c.expiresAt.getTime() < longFrom).length;
      if (short === 0) break;
      await sleep(5000);
    }
    await waitQuiet(operator, count, 10 * 60_000);
    await operator.stop();
    env.emulator.control.resetCounters();
    const restartAt = Date.now();
    operator = await env.startOperator({ flags, nodeOptions, nodeFlags: [] });
    const startedSeconds = (operator.startedAtMs() - restartAt) / 1000;
    await waitQuiet(operator, count, 30 * 60_000);
    const quietSeconds = (Date.now() - restartAt) / 1000;
    const calls = env.emulator.control.counters();
    const after = operator.sample();
    restart = {
      secondsToStarted: round(startedSeconds, 2),
      secondsToAllReconciledAndQuiet: round(quietSeconds, 2),
      ...dataTrailsCalls(calls),
      operatorCpuSeconds: round(after.cpuSeconds),
      rssMbAfter: round(after.rssMb, 0),
    };
  }
  secretWatch.stop();
  tokens.stop();
  result = {
    create: {
      appliedSeconds: round(appliedSeconds, 1),
      allReadySeconds: round(readySeconds, 1),
      allTokensValidSeconds: round(validSeconds, 1),
    },
    refreshing,
    ...(restart ? { restart } : {}),
    operatorWarnings: operator.problems.slice(0, 5),
  };
  await operator.stop();
} finally {
  await env.stop();
}
const r = result.refreshing;
report(`scale-${count}`, m, params, result, [
  `${count} integrations: all Ready ${result.create.allReadySeconds} s after the first apply, every token valid at ${result.create.allTokensValidSeconds} s`,
  `refreshing (${r.seconds} s): ${r.refreshes} refreshes, ${r.refreshesPerSecond}/s, ${r.tokenRequestsPerRefresh} token requests per refresh; ` +
    `${r.expiredMoments} expired-token moments (must be 0)`,
  `refresh point vs schedule (share of the lifetime): p50 ${r.scheduleLateness.p50}, p99 ${r.scheduleLateness.p99}, ` +
    `max ${r.scheduleLateness.max}; ${round(100 * r.scheduleLateness.within2Percent, 1)} % within 2 %`,
  `operator RSS mean ${r.rssMbMean} MB, peak ${r.rssMbPeak} MB (target <= 250); ${r.operatorCpuSecondsPer1000Refreshes} CPU s per 1,000 refreshes`,
  `CPU % of one core: ${JSON.stringify(r.cpuPercentOfOneCore)}`,
  ...(result.restart
    ? [
        `restart: started ${result.restart.secondsToStarted} s, quiet ${result.restart.secondsToAllReconciledAndQuiet} s; ` +
          `${result.restart.tokenRequests} token requests, ${result.restart.applicationWrites} application writes (must be 0)`,
      ]
    : []),
]);
