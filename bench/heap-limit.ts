/**
 * RSS and CPU of the operator with V8 heap flags, for `count` integrations created at once: the
 * same burst as bench/burst.ts, with `--max-old-space-size` and `--max-semi-space-size` (MB) given
 * to the operator's node as its whole NODE_OPTIONS (in place of the chart's default). Shows how much
 * of the RSS is heap headroom rather than live data.
 *
 *   node bench/heap-limit.ts [--count=1000] [--oldSpaceMb=0] [--semiSpaceMb=0]   (0: V8's default)
 */
import { setTimeout as sleep } from "node:timers/promises";
import { createIntegrations, names, startBenchEnv } from "./lib/env.ts";
import { intFlags, machine, report, round } from "./lib/report.ts";
import { readyTracker } from "./lib/watch.ts";

const flags = intFlags({ count: 1000, oldSpaceMb: 0, semiSpaceMb: 0 });
const m = machine();
const nodeFlags = [
  ...(flags.oldSpaceMb ? [`--max-old-space-size=${flags.oldSpaceMb}`] : []),
  ...(flags.semiSpaceMb ? [`--max-semi-space-size=${flags.semiSpaceMb}`] : []),
];
const env = await startBenchEnv({ namespace: "heap-limit" });
let result;
try {
  const operator = await env.startOperator({ nodeOptions: nodeFlags.join(" ") });
  const tracker = await readyTracker(env.plane.kubeConfig, env.namespace);
  const cpuBefore = operator.sample().cpuSeconds;
  const start = Date.now();
  await createIntegrations(env, names("limit", flags.count));
  await tracker.waitFor(flags.count, 30 * 60_000);
  const seconds = (Date.now() - start) / 1000;
  tracker.stop();
  await sleep(15_000);
  const s = operator.sample();
  result = {
    nodeFlags,
    secondsToReady: round(seconds, 1),
    cpuSeconds: round(s.cpuSeconds - cpuBefore, 2),
    rssMbSettled: round(s.rssMb, 0),
    rssMbPeak: round(s.peakRssMb, 0),
  };
} finally {
  await env.stop();
}
report(`heap-limit-${flags.oldSpaceMb}-${flags.semiSpaceMb}`, m, flags, result, [
  `${flags.count} integrations with [${nodeFlags.join(" ")}]: Ready in ${result.secondsToReady} s, CPU ${result.cpuSeconds} s, ` +
    `RSS settled ${result.rssMbSettled} MB, peak ${result.rssMbPeak} MB`,
]);
