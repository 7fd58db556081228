/**
 * DataTrails misbehaves, one fault at a time, with the emulator's switches: 5xx bursts, latency past
 * the client's timeout, dropped connections, a 429 storm with reset headers, the application quota
 * (402) and malformed bodies. During each fault a new integration is created (work that must wait)
 * and the tokens of settled integrations are due for refresh. For every fault the scenario checks:
 * - no crash: the operator stays healthy (/healthz 200) and ready;
 * - a bounded request rate: requests per second at the emulator, sampled each second of the fault;
 * - tokens kept: every token Secret holds an unexpired token throughout, never replaced by one that
 *   expires sooner;
 * - recovery: once the fault ends, the new integration becomes Ready without any nudge.
 * The secrets-hygiene check runs when the environment stops.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEnv, type TestEnv } from "../support/env.ts";
import { kubectlOk } from "../support/kubectl.ts";
import {
  conditionOf,
  getBearerToken,
  jwtExpMs,
  readTokenSecret,
  recordVersions,
  type BearerTokenObject,
} from "../tokens/support.ts";
import { byScale, peak, reportFigures, sampleRequestRate, totalRequests } from "./support.ts";
import { integrationManifest } from "../support/manifests.ts";

const ns = "chaos-datatrails";
const settled = Array.from({ length: byScale(3, 10) }, (_, i) => `settled-${i}`);
const faultSeconds = byScale(6, 30);
/**
 * Tokens are refreshed at 67–80 % of their lifetime, so one published just before its refresh point
 * has a fifth of its lifetime left when a fault begins: six fault lengths keep every token valid
 * through the fault (the issuer is down, so an expired token would be allowed, and proves nothing),
 * and at least a minute leaves room for the last check after a short fault. Refreshes still fall due
 * during the faults, and fail there.
 */
const ttlSeconds = Math.max(60, 6 * faultSeconds);
/** Past this the client gives up on a call: the latency fault turns into timeouts. */
const timeoutMs = 1500;
/**
 * The most requests per second the operator may send while DataTrails fails: each object is retried
 * with backoff, and the connection's client-side limit is 100/s. Measured peaks are far below.
 */
const maxRequestsPerSecond = 40;
let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv([ns], [`--datatrails-timeout-ms=${timeoutMs}`]);
  env.emulator.control.setTokenTtlSeconds(ttlSeconds);
  await kubectlOk(
    ["apply", "-f", "-"],
    settled.map((n) => integrationManifest(ns, n)),
  );
  await waitReady(settled, 120);
}, 180_000);
afterAll(async () => {
  if (env)
    reportFigures("hygiene", undefined, { file: "datatrails-faults", leaks: 0, ...(await env.stop()) });
});

async function waitReady(names: string[], seconds: number): Promise<void> {
  await kubectlOk([
    "wait",
    "--for=condition=Ready",
    `--timeout=${seconds}s`,
    "-n",
    ns,
    ...names.map((n) => `datatrailsintegration/${n}`),
  ]);
}

/** Each settled integration's published token expiry (ms), read from its token Secret. */
async function tokenExpiries(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const name of settled) {
    const secret = await readTokenSecret(env, ns, `${name}-token`);
    out.set(name, jwtExpMs(secret?.data["access_token"] ?? ""));
  }
  return out;
}

async function healthz(): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${env.operator.healthPort}/healthz`);
  await res.arrayBuffer();
  return res.status;
}

const many = 100_000;
/** How many armed faults were used up (faults armed with `many`). */
function consumed(): number {
  const faults = env.emulator.control.describe()["faults"] as Record<string, { remaining: number }[]>;
  const left = ["fail", "drop", "malformed"].flatMap((k) => faults[k] ?? []);
  return left.reduce((sum, f) => sum + (many - f.remaining), 0);
}

interface Fault {
  name: string;
  arm(): void;
  /** How many faults the emulator injected, read before the fault is cleared. */
  injected(requests: number): number;
}

const faults: Fault[] = [
  {
    name: "5xx-burst",
    arm: () => env.emulator.control.failNext({ status: 503, count: many }),
    injected: consumed,
  },
  {
    name: "latency-timeouts",
    arm: () => env.emulator.control.setLatency(timeoutMs * 2),
    injected: (requests) => requests,
  },
  {
    name: "dropped-connections",
    arm: () => env.emulator.control.dropNext({ count: many }),
    injected: consumed,
  },
  {
    name: "429-storm",
    arm: () => env.emulator.control.failNext({ status: 429, count: many, retryAfterSeconds: 2 }),
    injected: consumed,
  },
  {
    name: "quota-402",
    arm: () => env.emulator.control.setApplicationQuota(env.emulator.control.applications().length),
    injected: () => env.emulator.control.count("applications.create"),
  },
  {
    name: "malformed-bodies",
    arm: () => env.emulator.control.malformNext({ count: many }),
    injected: consumed,
  },
];

describe("DataTrails faults", () => {
  it.each(faults)(
    "$name: no crash, a bounded request rate, tokens kept, recovery after",
    async (fault) => {
      const probe = `probe-${fault.name}`;
      const before = await tokenExpiries();
      env.emulator.control.resetCounters();
      const requestsBefore = totalRequests(env.emulator);
      fault.arm();
      const sampler = sampleRequestRate(env.emulator);
      await kubectlOk(["apply", "-f", "-"], integrationManifest(ns, probe));

      // Through the fault: tokens checked every second, never expired, never worse.
      let expiredSeen = 0;
      let worseSeen = 0;
      const faultEnds = Date.now() + faultSeconds * 1000;
      while (Date.now() < faultEnds) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const now = await tokenExpiries();
        for (const [name, exp] of now) {
          if (exp <= Date.now()) expiredSeen++;
          if (exp < (before.get(name) ?? 0)) worseSeen++;
          before.set(name, Math.max(exp, before.get(name) ?? 0));
        }
      }
      const perSecond = sampler.stop();
      const requests = totalRequests(env.emulator) - requestsBefore;
      const injected = fault.injected(requests);
      const health = await healthz();
      const ready = env.operator.isReady();
      const probeCreatesDuringFault = env.emulator.control.count("applications.create");

      env.emulator.control.clearFaults();
      env.emulator.control.setApplicationQuota(null);
      const clearedAt = Date.now();
      await waitReady([probe, ...settled], 120);
      const recoveredMs = Date.now() - clearedAt;

      reportFigures(`datatrails-${fault.name}`, undefined, {
        faultSeconds,
        objects: settled.length + 1,
        requests,
        injected,
        peakRps: peak(perSecond),
        meanRps: (requests / faultSeconds).toFixed(1),
        tokensExpired: expiredSeen,
        tokensWorse: worseSeen,
        healthz: health,
        recoveredMs,
      });

      expect(health, "the operator still answers /healthz").toBe(200);
      expect(ready, "the operator is still ready").toBe(true);
      expect(injected, "the fault was really hit").toBeGreaterThan(0);
      expect(
        peak(perSecond),
        `requests per second during ${fault.name}: ${perSecond.join(",")}`,
      ).toBeLessThanOrEqual(maxRequestsPerSecond);
      expect({ expiredSeen, worseSeen }).toEqual({ expiredSeen: 0, worseSeen: 0 });
      if (fault.name === "quota-402") expect(probeCreatesDuringFault).toBeGreaterThan(0);
      // After recovery: one application for the probe, never two.
      expect(env.emulator.control.applications().filter((a) => a.displayName === probe)).toHaveLength(1);
    },
    faultSeconds * 1000 + 240_000,
  );

  it("an issuer outage that outlives the tokens: retries at most 15 s apart once the token expired", async () => {
    const name = "outlived";
    const shortTtl = 10;
    const afterExpirySeconds = byScale(30, 120);
    env.emulator.control.setTokenTtlSeconds(shortTtl);
    await kubectlOk(["apply", "-f", "-"], integrationManifest(ns, name));
    await waitReady([name], 60);
    const statuses = await recordVersions<BearerTokenObject>(
      env.kubeConfig,
      `/apis/datatrails.ai/v1alpha1/namespaces/${ns}/bearertokens`,
      `metadata.name=${name}`,
    );
    const sampler = sampleRequestRate(env.emulator);
    env.emulator.control.failNext({ route: "token", status: 503, count: many });
    await expect
      .poll(async () => conditionOf(await getBearerToken(env, ns, name), "TokenReady"), {
        timeout: 60_000,
        interval: 500,
      })
      .toMatchObject({ status: "False", reason: "TokenExpired" });
    // The outage goes on long enough for the retry backoff to pass its expired-token cap.
    await new Promise((resolve) => setTimeout(resolve, afterExpirySeconds * 1000));
    const failures = (await getBearerToken(env, ns, name)).status?.consecutiveFailures ?? 0;
    const perSecond = sampler.stop();
    env.emulator.control.clearFaults();
    const clearedAt = Date.now();
    await expect
      .poll(async () => conditionOf(await getBearerToken(env, ns, name), "TokenReady"), {
        timeout: 60_000,
        interval: 250,
      })
      .toMatchObject({ status: "True", reason: "TokenValid" });
    const recoveredMs = Date.now() - clearedAt;
    statuses.stop();
    env.emulator.control.setTokenTtlSeconds(ttlSeconds);

    // Each failed attempt writes status: the retry it scheduled (nextRefreshAt) is read from there,
    // not timed. Once the token has expired, no retry may be scheduled further than the cap.
    const retriesAfterExpiry = statuses.versions
      .filter(
        (v) =>
          v.object.status?.consecutiveFailures !== undefined &&
          v.object.status.nextRefreshAt !== undefined &&
          conditionOf(v.object, "TokenReady")?.reason === "TokenExpired",
      )
      // When the watch saw the write: at most a moment after the failure that scheduled the retry.
      .map((v) => Date.parse(v.object.status?.nextRefreshAt ?? "") - v.atMs);
    const longestRetryMs = peak(retriesAfterExpiry);

    reportFigures("datatrails-outage-outlives-tokens", undefined, {
      tokenTtlSeconds: shortTtl,
      outageAfterExpirySeconds: afterExpirySeconds,
      consecutiveFailures: failures,
      retriesAfterExpiry: retriesAfterExpiry.length,
      longestRetryAfterExpiryMs: longestRetryMs,
      peakRps: peak(perSecond),
      recoveredMs,
    });
    expect(failures).toBeGreaterThan(3);
    expect(retriesAfterExpiry.length).toBeGreaterThan(1);
    expect(longestRetryMs, "retries once the token has expired").toBeLessThanOrEqual(15_000 + 1000);
    expect(peak(perSecond)).toBeLessThanOrEqual(maxRequestsPerSecond);
  }, 300_000);
});
