/**
 * Scale, memory growth and restart. Integrations are added in steps (`steps`, cumulative totals);
 * after each step, once all are Ready and the operator is quiet, its RSS is read from /proc
 * (memory growth per 1,000 integrations: the least-squares slope). Then, with every integration
 * Ready, the operator is stopped (SIGTERM) and a new process started: the time until it has
 * reconciled every integration and BearerToken and is quiet, and what it asked DataTrails (token
 * requests, application writes) and wrote to Kubernetes meanwhile (all must be 0).
 *
 *   node bench/restart.ts [--steps=500,1000,2000] [--concurrency=8]
 */
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { createIntegrations, dataTrailsCalls, names, startBenchEnv } from "./lib/env.ts";
import { waitQuiet } from "./lib/operator.ts";
import { linearFit, machine, progress, report, round } from "./lib/report.ts";
import { readyTracker, watchCollection } from "./lib/watch.ts";

const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "500,1000,2000" },
    concurrency: { type: "string", default: "8" },
  },
});
const steps = values.steps.split(",").map(Number);
const concurrency = Number(values.concurrency);
if (steps.some((n, i) => !(n > 0) || (i > 0 && n <= (steps[i - 1] as number))))
  throw new Error("--steps must be increasing positive totals, e.g. 500,1000,2000");
const total = steps.at(-1) as number;
const m = machine();
const log = progress(Date.now());

/**
 * Paths (a.b.c) whose values differ between two versions, metadata bookkeeping left out. Only the
 * paths are reported, never values: Secrets hold tokens.
 */
function changedPaths(a: unknown, b: unknown, path = ""): string[] {
  const skip = new Set(["metadata.resourceVersion", "metadata.managedFields", "metadata.generation"]);
  if (skip.has(path)) return [];
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object")
    return JSON.stringify(a) === JSON.stringify(b) ? [] : [path || "(root)"];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].flatMap((k) =>
    changedPaths(
      (a as Record<string, unknown>)[k],
      (b as Record<string, unknown>)[k],
      path ? `${path}.${k}` : k,
    ),
  );
}

const flagsFor = [`--integration-concurrency=${concurrency}`, `--token-concurrency=${concurrency}`];
const env = await startBenchEnv({ namespace: "scale" });
let result;
try {
  let operator = await env.startOperator({ flags: flagsFor });
  const tracker = await readyTracker(env.plane.kubeConfig, env.namespace);
  const memory: { integrations: number; rssMb: number; createSeconds: number }[] = [];
  let created = 0;
  for (const target of steps) {
    const start = Date.now();
    await createIntegrations(env, names("scale", target - created, created));
    created = target;
    await tracker.waitFor(target, 60 * 60_000);
    const createSeconds = (Date.now() - start) / 1000;
    await waitQuiet(operator, target, 10 * 60_000);
    await sleep(10_000); // let the heap settle after the burst
    const rssMb = operator.sample().rssMb;
    memory.push({ integrations: target, rssMb: round(rssMb, 1), createSeconds: round(createSeconds, 1) });
    log(`${target} Ready (step took ${round(createSeconds)} s), RSS ${round(rssMb, 0)} MB`);
  }
  tracker.stop();
  const fit = linearFit(memory.map((p) => [p.integrations, p.rssMb]));

  // Restart: record every write to the objects and Secrets, reset the emulator's counters.
  // Writes while the old process drains and after the new one starts, by kind/name (no values).
  let writes: string[] = [];
  // The last version of each object, so a write can be described by the fields it changed.
  const lastSeen = new Map<string, unknown>();
  const counting =
    (kind: string) =>
    (e: { phase: string; object: { metadata?: { name?: string; resourceVersion?: string } } }) => {
      const key = `${kind}/${e.object.metadata?.name ?? "?"}`;
      const previous = lastSeen.get(key);
      lastSeen.set(key, e.object);
      if (e.phase === "ADDED") return;
      writes.push(`${e.phase} ${key}${previous ? ` (${changedPaths(previous, e.object).join(", ")})` : ""}`);
    };
  const base = `/apis/datatrails.ai/v1alpha1/namespaces/${env.namespace}`;
  const watches = [
    await watchCollection(env.plane.kubeConfig, `${base}/datatrailsintegrations`, counting("integration")),
    await watchCollection(env.plane.kubeConfig, `${base}/bearertokens`, counting("bearertoken")),
    await watchCollection(
      env.plane.kubeConfig,
      `/api/v1/namespaces/${env.namespace}/secrets`,
      counting("secret"),
    ),
  ];
  await sleep(2000);
  writes = [];
  await operator.stop();
  const writesWhileStopping = writes;
  writes = [];
  env.emulator.control.resetCounters();
  const restartAt = Date.now();
  operator = await env.startOperator({ flags: flagsFor });
  const startedSeconds = (operator.startedAtMs() - restartAt) / 1000;
  await waitQuiet(operator, total, 30 * 60_000);
  const quietSeconds = (Date.now() - restartAt) / 1000;
  const sample = operator.sample();
  for (const w of watches) w.stop();
  const calls = env.emulator.control.counters();
  result = {
    memory,
    rssMbPer1000Integrations: round(fit.slope * 1000, 1),
    rssMbIntercept: round(fit.intercept, 0),
    restart: {
      integrations: total,
      secondsToStarted: round(startedSeconds, 2),
      secondsToAllReconciledAndQuiet: round(quietSeconds, 2),
      ...dataTrailsCalls(calls),
      kubernetesWrites: writes.length,
      kubernetesWritesSample: writes.slice(0, 10),
      kubernetesWritesWhileOldStopped: writesWhileStopping.length,
      kubernetesWritesWhileOldStoppedSample: writesWhileStopping.slice(0, 10),
      operatorCpuSeconds: round(sample.cpuSeconds),
      rssMbAfter: round(sample.rssMb, 0),
    },
    operatorWarnings: operator.problems.slice(0, 5),
  };
} finally {
  await env.stop();
}
const r = result.restart;
report(`restart-${total}`, m, { steps, concurrency }, result, [
  `RSS after settling: ${result.memory.map((p) => `${p.integrations}: ${round(p.rssMb, 0)} MB`).join(", ")}; ` +
    `slope ${result.rssMbPer1000Integrations} MB per 1,000 integrations`,
  `restart with ${r.integrations} Ready: started in ${r.secondsToStarted} s, every object reconciled and quiet ` +
    `in ${r.secondsToAllReconciledAndQuiet} s (CPU ${r.operatorCpuSeconds} s)`,
  `during start-up: ${r.tokenRequests} token requests, ${r.applicationWrites} application writes, ` +
    `${r.applicationReads} application reads, ${r.kubernetesWrites} Kubernetes writes by the new process (all must be 0); ` +
    `${r.kubernetesWritesWhileOldStopped} writes while the old one stopped`,
]);
