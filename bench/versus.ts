/**
 * Versus the way users refresh tokens today: bench/baseline.sh (curl + jq + kubectl create
 * --dry-run | kubectl apply, once per refresh, as a CronJob would) against the local control plane
 * and emulator. Its CPU seconds (user + system of the script and every process it ran, from
 * /usr/bin/time) and wall time per 1,000 refreshes, and the ratio to the operator's CPU seconds per
 * 1,000 refreshes from the newest steady-state result (bench/results/steady-*.json).
 *
 *   node bench/versus.ts [--count=200]
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createApplications, repoRoot, startBenchEnv } from "./lib/env.ts";
import { intFlags, machine, progress, report, round } from "./lib/report.ts";

const flags = intFlags({ count: 200 });
const m = machine();
const log = progress(Date.now());

/** The steady-state result with the most integrations, if any run was recorded. */
function operatorCpuPer1000(): { count: number; cpu: number; file: string } | undefined {
  const dir = join(repoRoot, "bench", "results");
  const runs = readdirSync(dir)
    .filter((f) => /^steady-\d+\.json$/.test(f))
    .map((f) => {
      const r = JSON.parse(readFileSync(join(dir, f), "utf8")) as {
        params: { count: number };
        result: { cpuSecondsPer1000Refreshes: number };
      };
      return { count: r.params.count, cpu: r.result.cpuSecondsPer1000Refreshes, file: f };
    })
    .sort((a, b) => b.count - a.count);
  return runs[0];
}

const env = await startBenchEnv({ namespace: "versus" });
let measured: { wall: number; user: number; sys: number };
try {
  // One application, made with the App Registrations API as the docs do.
  const app = (await createApplications(env, ["baseline"])).get("baseline");
  log(`baseline: ${flags.count} refreshes with curl + jq + kubectl`);
  env.emulator.control.resetCounters();
  measured = await new Promise((done, fail) => {
    const child = spawn("/usr/bin/time", ["-f", "%e %U %S", "bash", join(repoRoot, "bench", "baseline.sh")], {
      env: {
        ...process.env,
        URL: env.emulator.url,
        CLIENT_ID: app?.clientId ?? "",
        SECRET: app?.clientSecret ?? "",
        KUBECTL: join(env.plane.binDir, "kubectl"),
        KUBECONFIG: env.plane.kubeconfigPath,
        NAMESPACE: env.namespace,
        COUNT: String(flags.count),
        SECRETS: "100",
      },
      stdio: ["ignore", "inherit", "pipe"],
    });
    let err = "";
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("close", (code) => {
      const last = err.trim().split("\n").at(-1) ?? "";
      const [wall, user, sys] = last.split(" ").map(Number);
      if (code !== 0 || wall === undefined || user === undefined || sys === undefined)
        fail(new Error(`baseline.sh failed (${code}): ${err.slice(-500)}`));
      else done({ wall, user, sys });
    });
  });
  const tokens = env.emulator.control.count("token");
  if (tokens !== flags.count)
    throw new Error(`expected ${flags.count} token requests, the emulator saw ${tokens}`);
} finally {
  await env.stop();
}
const cpuPer1000 = ((measured.user + measured.sys) * 1000) / flags.count;
const wallPer1000 = (measured.wall * 1000) / flags.count;
const operator = operatorCpuPer1000();
const ratio = operator ? cpuPer1000 / operator.cpu : NaN;
report(
  "versus",
  m,
  flags,
  {
    baselineCpuSecondsPer1000: round(cpuPer1000, 1),
    baselineWallSecondsPer1000: round(wallPer1000, 1),
    baselineUserSeconds: measured.user,
    baselineSysSeconds: measured.sys,
    operatorCpuSecondsPer1000: operator?.cpu ?? null,
    operatorFrom: operator?.file ?? null,
    ratio: round(ratio, 1),
  },
  [
    `curl + jq + kubectl: ${round(cpuPer1000, 1)} CPU s and ${round(wallPer1000, 1)} s wall per 1,000 refreshes`,
    operator
      ? `operator: ${operator.cpu} CPU s per 1,000 refreshes (${operator.file}); the script uses ${round(ratio, 1)}x the CPU`
      : "no steady-state result yet: run bench/steady.ts first for the ratio",
  ],
);
