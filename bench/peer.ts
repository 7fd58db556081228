/**
 * Against External Secrets Operator: the same workload — `count` tokens of `ttl` seconds, observed
 * over `lifetimes` token lifetimes — through the operator (its defaults) and through ESO (pinned in
 * hack/eso/go.mod: a Webhook generator per token POSTing the client-credentials form to the token
 * endpoint, an ExternalSecret per token with refreshInterval = 2/3 of the TTL) at `--concurrent=1`
 * (its default) and `--concurrent=8`, back to back, each on a fresh control plane and emulator.
 *
 * For each: apply → first valid token (every token Secret, a watch), CPU seconds per 1,000 refreshes
 * and RSS (/proc of the controller), Kubernetes requests per refresh by verb (apiserver_request_total
 * around the window, the control plane's own background measured before the controller started and
 * taken off), token requests per token lifetime (the emulator's counter), expired-token moments (once
 * a second, token Secrets whose current token is past its exp). A refresh is a new token in a token
 * Secret, as the watch sees it, for both.
 *
 *   node bench/peer.ts [--count=50] [--ttl=60] [--lifetimes=10] [--runs=operator,eso-1,eso-8]
 */
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import {
  apiServerRequests,
  createApplications,
  createIntegrations,
  names,
  perObject,
  pool,
  startBenchEnv,
  type BenchEnv,
} from "./lib/env.ts";
import {
  credentialsSecretManifest,
  esoBuild,
  externalSecretManifest,
  startEsoChild,
  webhookManifest,
  type EsoBuild,
} from "./lib/eso.ts";
import type { ProcSample } from "./lib/operator.ts";
import { machine, progress, quantile, report, round } from "./lib/report.ts";
import { watchTokenSecrets } from "./lib/tokens.ts";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "50" },
    ttl: { type: "string", default: "60" },
    lifetimes: { type: "string", default: "10" },
    runs: { type: "string", default: "operator,eso-1,eso-8" },
  },
  strict: true,
});
const number = (name: string, v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${v}`);
  return n;
};
const flags = {
  count: number("count", values.count),
  ttl: number("ttl", values.ttl),
  lifetimes: number("lifetimes", values.lifetimes),
  runs: values.runs.split(",").filter(Boolean),
};
for (const r of flags.runs)
  if (r !== "operator" && !/^eso-\d+$/.test(r)) throw new Error(`--runs: ${r} is not operator or eso-<n>`);
const windowSeconds = flags.lifetimes * flags.ttl;
const refreshMs = Math.round((2000 * flags.ttl) / 3);
const m = machine();
const log = progress(Date.now());
const quietSeconds = 15;
const namespace = "peer";

/** The controller under measurement, whichever it is. */
interface Controller {
  sample(): ProcSample;
  problems: string[];
  /** Its own refresh counters, for a cross-check of the watch's count. */
  counters(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

/** Kubernetes requests per second by `VERB resource` while nothing but the control plane runs. */
async function background(env: BenchEnv): Promise<Record<string, number>> {
  const before = await apiServerRequests(env);
  await sleep(quietSeconds * 1000);
  return perObject(await apiServerRequests(env), before, quietSeconds);
}

/** Starts the operator with its defaults and applies one DataTrailsIntegration per token. */
async function operatorRun(
  env: BenchEnv,
  list: string[],
): Promise<{ controller: Controller; apply(): Promise<void> }> {
  const operator = await env.startOperator();
  return {
    controller: {
      sample: () => operator.sample(),
      problems: operator.problems,
      counters: async () => ({
        refreshSuccess: await operator.metric("datatrails_token_refresh_total", { result: "success" }),
        refreshAttempts: await operator.metric("datatrails_token_refresh_total"),
      }),
      stop: () => operator.stop(),
    },
    apply: () => createIntegrations(env, list),
  };
}

/**
 * Makes one application per token in the emulator and its credentials Secret (the credentials exist
 * before the apply, as when a user brings an application), starts ESO, and applies a Webhook
 * generator and an ExternalSecret per token.
 */
async function esoRun(
  env: BenchEnv,
  list: string[],
  eso: EsoBuild,
  concurrency: number,
): Promise<{ controller: Controller; apply(): Promise<void> }> {
  await env.kubectl(["apply", "--server-side", "--field-manager=bench", "-f", eso.crds]);
  await env.kubectl(["wait", "--for=condition=Established", "--timeout=60s", "-f", eso.crds]);
  const credentials = await createApplications(env, list);
  await pool(list, 32, async (name) => {
    const c = credentials.get(name);
    if (!c) throw new Error(`no application for ${name}`);
    await env.core.createNamespacedSecret({ namespace, body: credentialsSecretManifest(namespace, name, c) });
  });
  const child = await startEsoChild({
    bin: eso.bin,
    kubeconfigPath: env.plane.kubeconfigPath,
    namespace,
    concurrency,
  });
  const tokenUrl = `${env.emulator.url}/archivist/iam/v1/appidp/token`;
  const create = (group: string, version: string, plural: string, body: Record<string, unknown>) =>
    env.custom.createNamespacedCustomObject({ group, version, namespace, plural, body });
  return {
    controller: {
      sample: () => child.sample(),
      problems: child.problems,
      counters: async () => ({
        syncCalls: await child.metric("externalsecret_sync_calls_total"),
        syncErrors: await child.metric("externalsecret_sync_calls_error"),
      }),
      stop: () => child.stop(),
    },
    apply: () =>
      pool(list, 32, async (name) => {
        await create(
          "generators.external-secrets.io",
          "v1alpha1",
          "webhooks",
          webhookManifest(namespace, name, tokenUrl),
        );
        await create(
          "external-secrets.io",
          "v1",
          "externalsecrets",
          externalSecretManifest(namespace, name, refreshMs),
        );
      }),
  };
}

/** Sums `VERB resource` counts by verb. */
function byVerb(counts: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(counts)) {
    const verb = k.split(" ")[0] ?? k;
    out[verb] = round((out[verb] ?? 0) + v, 2);
  }
  return out;
}

/** One run on a fresh control plane and emulator. */
async function run(label: string, eso: EsoBuild | undefined) {
  log(`${label}: ${flags.count} tokens of ${flags.ttl} s, window ${windowSeconds} s`);
  const env = await startBenchEnv({ namespace, tokenTtlSeconds: flags.ttl });
  let controller: Controller | undefined;
  let stopWatch = () => {};
  try {
    const tokens = await watchTokenSecrets(env.plane.kubeConfig, namespace);
    stopWatch = () => tokens.stop();
    const list = names("peer", flags.count);
    const quiet = await background(env);
    const prepared =
      label === "operator"
        ? await operatorRun(env, list)
        : await esoRun(env, list, eso as EsoBuild, Number(label.slice(4)));
    controller = prepared.controller;

    const applyStart = Date.now();
    await prepared.apply();
    const timer = setInterval(
      () => log(`${tokens.firstValidAt.size} of ${flags.count} token Secrets valid`),
      15_000,
    );
    try {
      await tokens.waitForValid(flags.count, 60 * 60_000);
    } finally {
      clearInterval(timer);
    }
    const applyToValid = [...tokens.firstValidAt.values()].map((t) => t - applyStart);
    log(`all valid in ${round(Math.max(...applyToValid) / 1000, 1)} s; observing ${windowSeconds} s`);

    const from = Date.now();
    const tokenBefore = env.emulator.control.count("token");
    const kubeBefore = await apiServerRequests(env);
    const countersBefore = await controller.counters();
    const first = controller.sample();
    const samples: ProcSample[] = [first];
    const expiredPerSecond: number[] = [];
    const everExpired = new Set<string>();
    let nextProc = from + 5000;
    while (Date.now() - from < windowSeconds * 1000) {
      await sleep(Math.min(1000, from + windowSeconds * 1000 - Date.now()));
      const expired = tokens.expired(Date.now());
      expiredPerSecond.push(expired.length);
      for (const name of expired) everExpired.add(name);
      if (Date.now() >= nextProc) {
        samples.push(controller.sample());
        nextProc += 5000;
      }
      if (expiredPerSecond.length % 60 === 0) log(`${expiredPerSecond.length} s observed`);
    }
    const to = Date.now();
    const last = controller.sample();
    const tokenRequests = env.emulator.control.count("token") - tokenBefore;
    const kubeAfter = await apiServerRequests(env);
    const countersAfter = await controller.counters();
    tokens.stop();

    const seconds = (to - from) / 1000;
    const inWindow = <T extends { atMs: number }>(xs: T[]) => xs.filter((x) => x.atMs >= from && x.atMs < to);
    const refreshes = inWindow(tokens.newTokens).length;
    const writes = inWindow(tokens.writes).length;
    // Seconds between successive new tokens of the same Secret, for those that end in the window.
    const byName = new Map<string, number[]>();
    for (const t of tokens.newTokens) byName.set(t.name, [...(byName.get(t.name) ?? []), t.atMs]);
    const intervals = [...byName.values()].flatMap((ts) =>
      ts.slice(1).flatMap((t, i) => (t >= from && t < to ? [(t - (ts[i] as number)) / 1000] : [])),
    );
    const raw = perObject(kubeAfter, kubeBefore, 1);
    const net: Record<string, number> = {};
    for (const [k, v] of Object.entries(raw)) {
      const d = v - (quiet[k] ?? 0) * seconds;
      if (d > 0.5) net[k] = d;
    }
    // No refresh in the window is a finding (the controller stalled), not a division by zero.
    const perRefreshOf = (x: number, digits: number) =>
      refreshes === 0 ? null : round(x / refreshes, digits);
    const perRefresh = refreshes === 0 ? {} : perObject(net, {}, refreshes);
    const cpu = last.cpuSeconds - first.cpuSeconds;
    const rss = samples.map((s) => s.rssMb);
    const counters = Object.fromEntries(
      Object.entries(countersAfter).map(([k, v]) => [k, v - (countersBefore[k] ?? 0)]),
    );
    return {
      label,
      applyToAllValidSeconds: round(Math.max(...applyToValid) / 1000, 1),
      applyToValidMs: {
        p50: round(quantile(applyToValid, 0.5), 0),
        p99: round(quantile(applyToValid, 0.99), 0),
      },
      windowSeconds: round(seconds, 1),
      refreshes,
      controllerCounters: counters,
      refreshIntervalSeconds: {
        min: round(Math.min(...intervals), 1),
        p50: round(quantile(intervals, 0.5), 1),
        mean: round(intervals.reduce((a, b) => a + b, 0) / intervals.length, 1),
        // New tokens that came less than half an ESO refreshInterval (1/3 of the TTL) after the last.
        underHalfInterval: intervals.filter((i) => i < refreshMs / 2000).length,
      },
      secretWritesPerRefresh: perRefreshOf(writes, 3),
      tokenRequests,
      // Per token per TTL: 1.0 is one request per token lifetime; 1.5 is a refresh every 2/3 TTL.
      // (bench/steady.ts's "per token lifetime" is per token published: tokenRequestsPerRefresh here.)
      tokenRequestsPerTokenPerTtl: round(tokenRequests / ((flags.count * seconds) / flags.ttl), 3),
      tokenRequestsPerRefresh: perRefreshOf(tokenRequests, 3),
      kubeRequestsPerRefreshByVerb: byVerb(perRefresh),
      kubeRequestsPerRefresh: perRefresh,
      kubeBackgroundPerSecond: quiet,
      expiredTokens: {
        // Secret-seconds: the sum over the once-a-second samples of token Secrets past their exp.
        secretSeconds: expiredPerSecond.reduce((a, b) => a + b, 0),
        samplesWithAny: expiredPerSecond.filter((n) => n > 0).length,
        samples: expiredPerSecond.length,
        worstSample: Math.max(0, ...expiredPerSecond),
        secretsAffected: everExpired.size,
      },
      cpuSeconds: round(cpu),
      cpuPercent: round((100 * cpu) / seconds, 1),
      cpuSecondsPer1000Refreshes: perRefreshOf(1000 * cpu, 2),
      rssMbPeak: round(Math.max(...rss), 0),
      rssMbMean: round(rss.reduce((a, b) => a + b, 0) / rss.length, 0),
      vmHwmMb: round(last.peakRssMb, 0),
      problems: controller.problems.slice(0, 5),
    };
  } finally {
    stopWatch();
    await controller?.stop();
    await env.stop();
  }
}

const eso = flags.runs.some((r) => r.startsWith("eso-")) ? esoBuild() : undefined;
const results: Awaited<ReturnType<typeof run>>[] = [];
for (const label of flags.runs) results.push(await run(label, eso));

/** A left-aligned text table. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].map((l) => l.trimEnd());
}
const verbs = [...new Set(results.flatMap((r) => Object.keys(r.kubeRequestsPerRefreshByVerb)))].sort();
const row = (name: string, f: (r: (typeof results)[number]) => string | number | null) => [
  name,
  ...results.map((r) => String(f(r) ?? "n/a")),
];
const rows = [
  row("apply → all tokens valid (s)", (r) => r.applyToAllValidSeconds),
  row("apply → valid token p50 / p99 (ms)", (r) => `${r.applyToValidMs.p50} / ${r.applyToValidMs.p99}`),
  row("refreshes in the window", (r) => r.refreshes),
  row(
    "refresh interval min / p50 (s)",
    (r) => `${r.refreshIntervalSeconds.min} / ${r.refreshIntervalSeconds.p50}`,
  ),
  row("refreshes < 1/3 TTL after the last", (r) => r.refreshIntervalSeconds.underHalfInterval),
  row("CPU s per 1,000 refreshes", (r) => r.cpuSecondsPer1000Refreshes),
  row("CPU % of a core", (r) => r.cpuPercent),
  row("RSS mean / peak (MB)", (r) => `${r.rssMbMean} / ${r.rssMbPeak}`),
  ...verbs.map((v) => row(`Kubernetes ${v} per refresh`, (r) => r.kubeRequestsPerRefreshByVerb[v] ?? 0)),
  row("token requests per token per TTL", (r) => r.tokenRequestsPerTokenPerTtl),
  row("token requests per refresh", (r) => r.tokenRequestsPerRefresh),
  row("token Secret writes per refresh", (r) => r.secretWritesPerRefresh),
  row("expired-token secret-seconds", (r) => r.expiredTokens.secretSeconds),
  row("token Secrets ever expired", (r) => r.expiredTokens.secretsAffected),
];
report(
  `peer-${flags.count}`,
  m,
  { ...flags, refreshIntervalMs: refreshMs },
  Object.fromEntries(results.map((r) => [r.label, r])),
  [
    `${flags.count} tokens of ${flags.ttl} s over ${flags.lifetimes} lifetimes; ESO refreshInterval ${refreshMs} ms`,
    ...table(["", ...results.map((r) => r.label)], rows),
  ],
);
