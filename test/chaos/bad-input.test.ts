/**
 * Bad input, generated: fast-check makes DataTrailsIntegration and BearerToken specs, about half of
 * them valid and the rest with one defect each (see specs.ts). Every one is sent to the real API
 * server as a server-side dry run: a valid spec must be admitted, a defective one refused with a
 * message naming the field. A sample of the admitted ones is then really created in a namespace the
 * operator watches: each gets a Ready condition (True, or False with a reason), the operator stays
 * healthy, and its reconcile count stays bounded once they settled (no hot loop).
 * Short: 300 specs, 30 created; long: 3,000 and 150. CHAOS_SEED replays the same specs.
 */
import { CustomObjectsApi } from "@kubernetes/client-node";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEnv, type TestEnv } from "../support/env.ts";
import { specCase, type SpecCase } from "./specs.ts";
import { byScale, chaosSeed, reportFigures } from "./support.ts";
import { untypedResource } from "../support/manifests.ts";

const ns = "chaos-bad-input";
const runs = byScale(300, 3000);
const applied = byScale(30, 150);
const quietSeconds = byScale(10, 30);
const seed = chaosSeed();
let env: TestEnv;
let custom: CustomObjectsApi;

beforeAll(async () => {
  console.log(`bad input seed ${seed} (replay with CHAOS_SEED=${seed})`);
  env = await startTestEnv([ns]);
  custom = env.kubeConfig.makeApiClient(CustomObjectsApi);
}, 180_000);
afterAll(async () => {
  if (env) reportFigures("hygiene", undefined, { file: "bad-input", leaks: 0, ...(await env.stop()) });
});

const plural = (kind: SpecCase["kind"]) =>
  kind === "BearerToken" ? "bearertokens" : "datatrailsintegrations";

/** Creates the object (dry run unless told otherwise); the API server's refusal message, or undefined. */
async function create(c: SpecCase, name: string, dryRun: boolean): Promise<string | undefined> {
  try {
    await custom.createNamespacedCustomObject({
      group: "datatrails.ai",
      version: "v1alpha1",
      namespace: ns,
      plural: plural(c.kind),
      body: untypedResource(c.kind, undefined, name, c.spec),
      ...(dryRun ? { dryRun: "All" } : {}),
    });
    return undefined;
  } catch (err) {
    const { code, body } = err as { code?: number; body?: unknown };
    if (code !== 422 && code !== 400) throw err;
    const parsed = typeof body === "string" ? (JSON.parse(body) as { message?: string }) : {};
    return parsed.message ?? String(body);
  }
}

interface Listed {
  items: {
    metadata: { name: string; generation: number };
    status?: { conditions?: { type: string; status: string; reason: string; observedGeneration?: number }[] };
  }[];
}

async function list(kind: SpecCase["kind"]): Promise<Listed["items"]> {
  const out = (await custom.listNamespacedCustomObject({
    group: "datatrails.ai",
    version: "v1alpha1",
    namespace: ns,
    plural: plural(kind),
  })) as Listed;
  return out.items;
}

/** Reconciles so far, by controller. */
async function reconcilesBy(): Promise<Map<string, number>> {
  const metric = await env.metrics.reconcileDurationSeconds.get();
  const out = new Map<string, number>();
  for (const v of metric.values) {
    if (v.metricName?.endsWith("_count") !== true) continue;
    const controller = String(v.labels["controller"]);
    out.set(controller, (out.get(controller) ?? 0) + v.value);
  }
  return out;
}

async function reconciles(): Promise<number> {
  return [...(await reconcilesBy()).values()].reduce((a, b) => a + b, 0);
}

async function healthz(): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${env.operator.healthPort}/healthz`);
  await res.arrayBuffer();
  return res.status;
}

describe("generated specs against the real API server", () => {
  it(`admits every valid spec and refuses every defect naming the field (${runs} specs)`, async () => {
    const cases = fc.sample(specCase, { numRuns: runs, seed });
    const wrong: string[] = [];
    const admitted: SpecCase[] = [];
    let refused = 0;
    for (const [i, c] of cases.entries()) {
      const message = await create(c, `dry-${i}`, true);
      if (c.defect === undefined) {
        if (message === undefined) admitted.push(c);
        else wrong.push(`valid ${c.kind} refused: ${message} — ${JSON.stringify(c.spec)}`);
      } else if (message === undefined) {
        wrong.push(`${c.kind} with ${c.defect.what} admitted — ${JSON.stringify(c.spec)}`);
      } else {
        refused++;
        if (!message.includes(c.defect.field))
          wrong.push(`${c.kind} with ${c.defect.what}: "${message}" does not name ${c.defect.field}`);
      }
    }
    const defects = new Set(cases.flatMap((c) => (c.defect ? [c.defect.what] : [])));

    // A sample of the admitted ones, really created and left to the operator.
    const sample = admitted.slice(0, applied);
    const before = await reconciles();
    const createdAt = Date.now();
    for (const [i, c] of sample.entries()) {
      const message = await create(c, `fuzz-${i}`, false);
      if (message !== undefined) wrong.push(`admitted on dry run, refused for real: ${message}`);
    }
    const kinds = [...new Set(sample.map((c) => c.kind))];
    const settledAt = await (async () => {
      const deadline = Date.now() + 180_000;
      for (;;) {
        const items = (await Promise.all(kinds.map(list)))
          .flat()
          .filter((o) => o.metadata.name.startsWith("fuzz-"));
        const withReady = items.filter((o) =>
          o.status?.conditions?.some(
            (cond) => cond.type === "Ready" && cond.observedGeneration === o.metadata.generation,
          ),
        );
        if (withReady.length >= sample.length) return Date.now();
        if (Date.now() > deadline)
          throw new Error(`${withReady.length} of ${sample.length} created objects have a Ready condition`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    })();
    const reconcilesToSettle = (await reconciles()) - before;
    const atQuietStart = await reconcilesBy();
    await new Promise((resolve) => setTimeout(resolve, quietSeconds * 1000));
    const atQuietEnd = await reconcilesBy();
    const quietBy = [...atQuietEnd].map(([c, n]) => `${c}:${n - (atQuietStart.get(c) ?? 0)}`).join(",");
    const quietReconciles = [...atQuietEnd].reduce((sum, [c, n]) => sum + n - (atQuietStart.get(c) ?? 0), 0);
    const items = (await Promise.all(kinds.map(list)))
      .flat()
      .filter((o) => o.metadata.name.startsWith("fuzz-"));
    const readyTrue = items.filter((o) =>
      o.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
    ).length;
    const reasons = [
      ...new Set(
        items.flatMap((o) =>
          (o.status?.conditions ?? []).filter((c) => c.type === "Ready").map((c) => c.reason),
        ),
      ),
    ].sort();
    const health = await healthz();
    // The sample's own objects and the integrations' child BearerTokens.
    const objects = items.length + sample.filter((c) => c.kind === "DataTrailsIntegration").length;
    const maxQuietReconciles = objects * quietSeconds;

    reportFigures("bad-input", seed, {
      specs: runs,
      valid: cases.filter((c) => c.defect === undefined).length,
      defective: cases.filter((c) => c.defect !== undefined).length,
      defectKinds: defects.size,
      admitted: admitted.length,
      refused,
      wrong: wrong.length,
      applied: sample.length,
      readyTrue,
      readyFalse: sample.length - readyTrue,
      reasons: reasons.join(","),
      settledMs: settledAt - createdAt,
      reconcilesToSettle,
      quietSeconds,
      quietReconciles,
      quietByController: quietBy,
      healthz: health,
    });

    expect(wrong.slice(0, 10)).toEqual([]);
    expect(admitted.length).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    expect(sample.length).toBe(Math.min(applied, admitted.length));
    expect(health).toBe(200);
    expect(env.operator.isReady()).toBe(true);
    expect(quietReconciles, `reconciles in ${quietSeconds} s once settled`).toBeLessThanOrEqual(
      maxQuietReconciles,
    );
  }, 600_000);
});
