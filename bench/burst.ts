/**
 * Burst: `count` DataTrailsIntegrations created at once; seconds until every one is Ready (its
 * application, credentials Secret, child BearerToken and token Secret in place). Then the same on a
 * fresh control plane through the floor (bench/floor.ts), at the same concurrency, and the ratio.
 *
 *   node bench/burst.ts [--count=1000] [--concurrency=8] [--profile=0|1] [--floor=1|0]
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  apiServerRequests,
  createIntegrations,
  names,
  perObject,
  repoRoot,
  startBenchEnv,
} from "./lib/env.ts";
import { intFlags, machine, progress, report, round } from "./lib/report.ts";
import { readyTracker } from "./lib/watch.ts";
import { runFloor } from "./floor.ts";

const flags = intFlags({ count: 1000, concurrency: 8, profile: 0, floor: 1 });
const m = machine();
const log = progress(Date.now());
const profileDir = join(repoRoot, "bench", "profiles");
if (flags.profile) mkdirSync(profileDir, { recursive: true });

log(`burst: ${flags.count} integrations, concurrency ${flags.concurrency}`);
const env = await startBenchEnv({ namespace: "burst" });
let operatorResult;
try {
  const operator = await env.startOperator({
    flags: [`--integration-concurrency=${flags.concurrency}`, `--token-concurrency=${flags.concurrency}`],
    nodeFlags: flags.profile
      ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, "--cpu-prof-name=burst.cpuprofile"]
      : [],
  });
  const tracker = await readyTracker(env.plane.kubeConfig, env.namespace);
  const cpuBefore = operator.sample().cpuSeconds;
  const requestsBefore = await apiServerRequests(env);
  const start = Date.now();
  await createIntegrations(env, names("burst", flags.count));
  log("created; waiting for Ready");
  const timer = setInterval(() => log(`${tracker.readyAt.size} Ready`), 10_000);
  await tracker.waitFor(flags.count, 60 * 60_000);
  clearInterval(timer);
  const seconds = (Date.now() - start) / 1000;
  const after = operator.sample();
  operatorResult = {
    seconds,
    operatorCpuSeconds: after.cpuSeconds - cpuBefore,
    peakRssMb: after.peakRssMb,
    emulatorCalls: env.emulator.control.counters(),
    kubeRequests: perObject(await apiServerRequests(env), requestsBefore, flags.count),
    problems: operator.problems.slice(0, 5),
  };
  tracker.stop();
} finally {
  await env.stop();
}
log(`operator: ${round(operatorResult.seconds)} s`);

let floorSeconds = NaN;
let floorKubeRequests = {};
if (flags.floor) {
  log("floor run on a fresh control plane");
  const floor = await runFloor(flags.count, flags.concurrency);
  floorSeconds = floor.seconds;
  floorKubeRequests = floor.kubeRequests;
}
const ratio = operatorResult.seconds / floorSeconds;
const calls = operatorResult.emulatorCalls;
report(
  "burst",
  m,
  flags,
  {
    operatorSeconds: round(operatorResult.seconds),
    floorSeconds: round(floorSeconds),
    ratio: round(ratio),
    operatorCpuSeconds: round(operatorResult.operatorCpuSeconds),
    operatorPeakRssMb: round(operatorResult.peakRssMb, 0),
    perIntegrationCalls: {
      token: round(calls.token / flags.count),
      create: round(calls["applications.create"] / flags.count),
      get: round(calls["applications.get"] / flags.count),
      list: round(calls["applications.list"] / flags.count),
    },
    kubeRequestsPerIntegration: { operator: operatorResult.kubeRequests, floor: floorKubeRequests },
    operatorWarnings: operatorResult.problems,
  },
  [
    `operator: ${flags.count} Ready in ${round(operatorResult.seconds)} s ` +
      `(${round(flags.count / operatorResult.seconds, 1)}/s, CPU ${round(operatorResult.operatorCpuSeconds)} s, ` +
      `peak RSS ${round(operatorResult.peakRssMb, 0)} MB)`,
    `floor:    ${round(floorSeconds)} s; ratio ${round(ratio)} (target <= 1.3)`,
    `DataTrails calls per integration: token ${round(calls.token / flags.count)}, create ${round(calls["applications.create"] / flags.count)}, get ${round(calls["applications.get"] / flags.count)}`,
  ],
);
