/**
 * The operator as a child process, run as the image runs it: the compiled `node dist/main.js run`
 * (built here first with `npm run build`, once per benchmark process) with the chart's default
 * NODE_OPTIONS (`nodeOptions` in charts/datatrails-operator/values.yaml), not the sources through
 * type stripping. Its CPU time and memory are read from /proc/<pid> and its /metrics scraped; its
 * log is kept only as far as the benchmark needs it.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { parse } from "yaml";
import { sumMetric } from "../../test/support/metrics-text.ts";

const repoRoot = resolve(import.meta.dirname, "..", "..");

/** The NODE_OPTIONS the chart gives the operator by default (`nodeOptions` in its values.yaml). */
export function chartNodeOptions(): string {
  const values = parse(
    readFileSync(join(repoRoot, "charts", "datatrails-operator", "values.yaml"), "utf8"),
  ) as { nodeOptions?: unknown };
  return typeof values.nodeOptions === "string" ? values.nodeOptions : "";
}

let built = false;

/** Compiles src/ to dist/ (`npm run build`), once per process: benchmarks run what the image runs. */
function buildOnce(): void {
  if (built) return;
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const result = spawnSync(npm, ["run", "--silent", "build"], { cwd: repoRoot, stdio: "inherit" });
  if (result.status !== 0) throw new Error(`npm run build failed (${result.status ?? result.signal})`);
  built = true;
}

/** CPU seconds (user + system) and memory of a process, from /proc. */
export interface ProcSample {
  atMs: number;
  cpuSeconds: number;
  rssMb: number;
  /** Peak RSS so far (VmHWM). */
  peakRssMb: number;
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const ticksPerSecond = 100;

/** Reads /proc/<pid>/stat and /proc/<pid>/status. */
export function sampleProc(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces) start at state, field 3.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return {
    atMs: Date.now(),
    cpuSeconds: (utime + stime) / ticksPerSecond,
    rssMb: kb("VmRSS") / 1024,
    peakRssMb: kb("VmHWM") / 1024,
  };
}

/** A running operator process. */
export interface OperatorChild extends ControllerHandle {
  metricsPort: number;
  started: Promise<void>;
  /** When "operator started" was logged (epoch ms). */
  startedAtMs(): number;
  /** (SIGTERM lets the operator drain and exit, which also writes --cpu-prof profiles.) */
  stop(): Promise<void>;
}

/**
 * Starts the compiled operator on one namespace, without leader election. `nodeFlags` go on node's
 * command line (they win over NODE_OPTIONS); `nodeOptions` replaces the chart's default NODE_OPTIONS.
 */
export function startOperatorChild(options: {
  kubeconfigPath: string;
  namespace: string;
  flags: string[];
  nodeFlags: string[];
  nodeOptions?: string;
}): OperatorChild {
  buildOnce();
  const { NODE_OPTIONS: _inherited, ...parentEnv } = process.env;
  const nodeOptions = options.nodeOptions ?? chartNodeOptions();
  const child = spawn(
    process.execPath,
    [
      ...options.nodeFlags,
      join(repoRoot, "dist", "main.js"),
      "run",
      `--kubeconfig=${options.kubeconfigPath}`,
      "--no-leader-election",
      "--health-port=0",
      "--metrics-port=0",
      "--bind-address=127.0.0.1",
      `--watch-namespaces=${options.namespace}`,
      "--log-level=info",
      ...options.flags,
    ],
    {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...parentEnv, NODE_ENV: "production", ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) },
    },
  );
  let metricsPort = 0;
  let startedAt = 0;
  const problems: string[] = [];
  const exited = new Promise<void>((done) => child.once("close", () => done()));
  const started = new Promise<void>((done, fail) => {
    createInterface({ input: child.stdout }).on("line", (text) => {
      let line: { level?: number; msg?: string; metricsPort?: number };
      try {
        line = JSON.parse(text) as typeof line;
      } catch {
        return;
      }
      if (line.msg === "operator started") {
        metricsPort = line.metricsPort ?? 0;
        startedAt = Date.now();
        done();
      } else if ((line.level ?? 0) >= 40 && problems.length < 50) problems.push(text.slice(0, 400));
    });
    createInterface({ input: child.stderr }).on("line", (text) => {
      if (problems.length < 50) problems.push(`stderr: ${text.slice(0, 400)}`);
    });
    void exited.then(() => fail(new Error(`the operator exited before it started: ${problems.join("\n")}`)));
  });
  started.catch(() => undefined);
  const handle = controllerHandle(child, exited, () => metricsPort, problems);
  return {
    ...handle,
    get metricsPort() {
      return metricsPort;
    },
    started,
    startedAtMs: () => startedAt,
  };
}

/** What every benchmarked controller process offers: /proc samples, its metrics, a stop. */
export interface ControllerHandle {
  pid: number;
  sample(): ProcSample;
  /** Sum of a metric's samples whose labels include `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** Lines worth showing in the summary (warnings, errors, stderr). */
  problems: string[];
  /** SIGTERM, SIGKILL after 20 s. */
  stop(): Promise<void>;
}

/** The handle of a spawned controller whose metrics listen on loopback at `metricsPort()`. */
export function controllerHandle(
  child: ChildProcess,
  exited: Promise<void>,
  metricsPort: () => number,
  problems: string[],
): ControllerHandle {
  const pid = child.pid ?? -1;
  return {
    pid,
    sample: () => sampleProc(pid),
    problems,
    async metric(name, labels = {}) {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort()}/metrics`)).text();
      return sumMetric(text, name, labels);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Both controllers have reconciled at least `atLeast` keys each and had nothing queued for two reads in a row. */
export async function waitQuiet(op: OperatorChild, atLeast: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let previous = "";
  for (;;) {
    const parts: number[] = [];
    for (const c of ["datatrailsintegration", "bearertoken"]) {
      parts.push(
        await op.metric("datatrails_reconcile_duration_seconds_count", { controller: c }),
        await op.metric("workqueue_adds_total", { name: c }),
        await op.metric("workqueue_depth", { name: c }),
      );
    }
    const [ir, ia, id, tr, ta, td] = parts as [number, number, number, number, number, number];
    const now = JSON.stringify(parts);
    if (ir >= atLeast && tr >= atLeast && ir === ia && tr === ta && id === 0 && td === 0 && now === previous)
      return;
    previous = now;
    if (Date.now() > deadline) throw new Error(`not quiet after ${timeoutMs} ms: ${now}`);
    await sleep(500);
  }
}
