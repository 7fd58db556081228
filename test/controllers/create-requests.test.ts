/**
 * What creating an integration costs the API server (issue #16): at most 8 of the operator's
 * requests per integration created, counted by verb through a proxy in front of the control plane
 * (test/support/counting-proxy.ts), and nothing at all on the pass that follows once it is Ready.
 * A first integration is created and settled before counting, so that the one-off reads of a
 * process (the connection's admin Secret) are not charged to the creates counted.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startCountingProxy, type CountingProxy } from "../support/counting-proxy.ts";
import { startTestEnv, type TestEnv } from "../support/env.ts";
import { kubectlOk, waitForCondition } from "../support/kubectl.ts";
import { sumMetric } from "../support/metrics-text.ts";
import { integrationManifest } from "../support/manifests.ts";

const ns = "it-create-requests";
const creates = 5;
const names = Array.from({ length: creates }, (_, i) => `counted-${i}`);
let env: TestEnv;
let proxy: CountingProxy;

beforeAll(async () => {
  proxy = await startCountingProxy(inject("kubeconfigPath"));
  env = await startTestEnv([ns], [], {}, proxy.kubeconfigPath);
});
afterAll(async () => {
  await env?.stop();
  await proxy?.close();
});

/** Requests for cluster-scoped resources: other files' ClusterDataTrailsConnections cause them. */
const clusterScoped = /^\S+ (namespaces|clusterdatatrailsconnections)(\/|$)/;

/** The requests counted since `start`, watches and cluster-scoped reads left out. */
function since(start: Record<string, number>): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [k, v] of Object.entries(proxy.counts())) {
    const d = v - (start[k] ?? 0);
    if (d > 0 && !k.startsWith("WATCH ") && !clusterScoped.test(k)) delta[k] = d;
  }
  return delta;
}

/** Reconciles finished so far by one controller. */
async function reconciles(controller: "datatrailsintegration" | "bearertoken"): Promise<number> {
  const text = await env.metrics.registry.metrics();
  return sumMetric(text, "datatrails_reconcile_duration_seconds_count", { controller });
}

/** Each object's `Ready` condition is True, and each child BearerToken's too. */
async function waitAllReady(objects: string[]): Promise<void> {
  await waitForCondition(
    ns,
    objects.map((n) => `datatrailsintegration/${n}`),
    "Ready",
    120,
  );
  await waitForCondition(
    ns,
    objects.map((n) => `bearertoken/${n}`),
    "Ready",
    120,
  );
}

/** Wakes every object of `objects` (an annotation kubectl sets) and waits until each had a reconcile. */
async function passOver(objects: string[], value: string): Promise<void> {
  const before = {
    integrations: await reconciles("datatrailsintegration"),
    tokens: await reconciles("bearertoken"),
  };
  for (const kind of ["datatrailsintegration", "bearertoken"])
    await kubectlOk(["annotate", "--overwrite", "-n", ns, kind, ...objects, `example.com/pass=${value}`]);
  await expect
    .poll(async () => (await reconciles("datatrailsintegration")) - before.integrations, { timeout: 60_000 })
    .toBeGreaterThanOrEqual(objects.length);
  await expect
    .poll(async () => (await reconciles("bearertoken")) - before.tokens, { timeout: 60_000 })
    .toBeGreaterThanOrEqual(objects.length);
}

describe("creating integrations", () => {
  it(
    `costs at most 8 of the operator's requests each, and a pass after Ready none (${creates} counted)`,
    {
      timeout: 240_000,
    },
    async () => {
      await kubectlOk(["apply", "-f", "-"], integrationManifest(ns, "warm-up"));
      await waitAllReady(["warm-up"]);
      // The warm-up's own trailing requests (its Events) are done once a pass over it has finished.
      await passOver(["warm-up"], "settled");
      const start = proxy.counts();
      const dataTrails = env.emulator.control.counters();

      await kubectlOk(
        ["apply", "-f", "-"],
        names.map((n) => integrationManifest(ns, n)),
      );
      await waitAllReady(names);
      await passOver(names, "first");
      const created = since(start);
      console.log(`requests for ${creates} creates: ${JSON.stringify(created)}`);

      const afterCreate = proxy.counts();
      await passOver(names, "second");
      const second = since(afterCreate);
      console.log(`requests on a pass after Ready: ${JSON.stringify(second)}`);

      // Nothing of the create was recovered: no search, no secret tried, one token per child.
      const calls = env.emulator.control.counters();
      expect({
        create: calls["applications.create"] - dataTrails["applications.create"],
        list: calls["applications.list"] - dataTrails["applications.list"],
        token: calls.token - dataTrails.token,
      }).toEqual({ create: creates, list: 0, token: creates });

      const perCreate = Object.fromEntries(Object.entries(created).map(([k, v]) => [k, v / creates]));
      // The integration's: the finalizer and create-started mark, the credentials Secret, the child,
      // one status write (the identity with Ready), the Created Event. The child's: its token Secret,
      // its status, the TokenRefreshed Event. No GET: both Secrets' names are known free (secret-cache.ts).
      expect(perCreate).toEqual({
        "PATCH datatrailsintegrations": 1,
        "CREATE secrets": 2,
        "PATCH bearertokens": 1,
        "PATCH datatrailsintegrations/status": 1,
        "CREATE events": 2,
        "PATCH bearertokens/status": 1,
      });
      expect(Object.values(perCreate).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(8);
      expect(second).toEqual({});
    },
  );
});
