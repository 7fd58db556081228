/**
 * The integration reconciler under shards (docs/design.md, "Shards"), at its seam: an object its
 * replica takes in again (its shard handed back) is looked at as after a restart, and the child
 * BearerToken is applied with its shard's label, so no stamp follows; with one shard, no label.
 */
import { describe, expect, it } from "vitest";
import { managedByLabel, managedByValue } from "../../api/v1alpha1/index.ts";
import { shardLabel, shardOf } from "../../k8s/shards.ts";
import { IntegrationWorld, namespace, resyncIntervalMs } from "../testing/integration-world.ts";

const name = "tl";
const key = `${namespace}/${name}`;

/** Brings the integration to Ready through the reconciler, then clears what was recorded. */
async function settled(w: IntegrationWorld): Promise<void> {
  w.addIntegration(name);
  await w.reconcile(key);
  w.tokenIsReady(name);
  await w.reconcile(key);
  expect(w.reason(name, "Ready")).toBe("Ready");
  w.api.calls.length = 0;
}

describe("a hand-over", () => {
  it("a settled integration looked at again by the same process is checked against DataTrails", async () => {
    const w = new IntegrationWorld();
    await settled(w);
    await w.reconcile(key);
    expect(w.api.calls).toEqual(["getApplication"]);
  });

  it("a settled integration taken in anew (its shard handed back) asks DataTrails nothing, as after a restart", async () => {
    const w = new IntegrationWorld();
    await settled(w);
    w.forget(key);
    const result = await w.reconcile(key);
    expect(w.api.calls).toEqual([]);
    expect(result?.requeueAfterMs).toBeGreaterThanOrEqual(resyncIntervalMs * 0.1);
    expect(result?.requeueAfterMs).toBeLessThanOrEqual(resyncIntervalMs);
    expect(w.reason(name, "Ready")).toBe("Ready");
  });
});

describe("the child BearerToken's labels", () => {
  const cases = [
    { name: "one shard: no shard label, as before sharding", shards: 1 },
    { name: "three shards: its root's shard", shards: 3 },
    { name: "seven shards: its root's shard", shards: 7 },
  ];
  it.each(cases)("$name", async ({ shards }) => {
    const w = new IntegrationWorld();
    w.shards = shards;
    w.addIntegration(name);
    await w.reconcile(key);
    const uid = w.integration(name).metadata.uid;
    const child = w.tokens.get(name);
    expect(child?.metadata.labels).toEqual({
      [managedByLabel]: managedByValue,
      ...(shards > 1 ? { [shardLabel]: String(shardOf(`${namespace}/${uid}`, shards)) } : {}),
    });
  });
});
