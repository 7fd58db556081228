import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { resources } from "../api/v1alpha1/index.ts";
import type { CustomObjects } from "../k8s/custom-objects.ts";
import { createFakeClock } from "../k8s/fake-clock.ts";
import type { ResilientInformer } from "../k8s/informer.ts";
import { createShardGate } from "../k8s/shard-gate.ts";
import { objectShard, shardLabel } from "../k8s/shards.ts";
import { createLogger } from "../observability/logger.ts";
import type { ControllerContext, ControllerDefinition } from "./context.ts";
import { shardedReconcile, type Sharding } from "./sharding.ts";

const shards = 3;
const renewDeadlineMs = 10_000;

/** An integration in `ns` with a uid that hashes to `want`, labelled `label` (none when undefined). */
function objectIn(want: number, label?: string): KubernetesObject {
  for (let i = 0; ; i++) {
    const o: KubernetesObject = { metadata: { namespace: "ns", name: "app", uid: `uid-${i}` } };
    if (objectShard(o, shards) === want)
      return label === undefined ? o : { metadata: { ...o.metadata, labels: { [shardLabel]: label } } };
  }
}

/** The wrapper around a reconcile of ns/app, with the gate, the patches it sent and what ran. */
function world(obj: KubernetesObject, held: number[], reconcile: ControllerDefinition["reconcile"]) {
  const clock = createFakeClock();
  const gate = createShardGate(clock, renewDeadlineMs);
  for (const k of held) gate.renewed(k, clock.now());
  const patches: { shard: number | undefined; label: unknown }[] = [];
  const objects = {
    mergePatch: (_ref: unknown, _ns: string, _name: string, patch: { metadata: { labels: unknown } }) => {
      gate.checkWrite("PATCH");
      patches.push({ shard: gate.currentShard(), label: patch.metadata.labels });
      return Promise.resolve();
    },
  } as unknown as CustomObjects;
  const ctx = { objects, logger: createLogger({ level: "silent" }) } as unknown as ControllerContext;
  const primary = { get: () => obj } as unknown as ResilientInformer<KubernetesObject>;
  const definition = { name: "test", primary, reconcile } as unknown as ControllerDefinition;
  const sharding: Sharding = { shards, gate, ready: () => true };
  return { clock, gate, patches, run: shardedReconcile(ctx, definition, sharding, resources.integrations) };
}

describe("shardedReconcile", () => {
  it("skips an object of a shard held elsewhere", async () => {
    let ran = false;
    const w = world(objectIn(1, "1"), [0], () => Promise.resolve(void (ran = true)));
    await w.run("ns/app");
    expect(ran).toBe(false);
    expect(w.patches).toEqual([]);
  });

  it("stamps an unlabelled object of a held shard, then reconciles it inside that shard", async () => {
    let inside: number | undefined;
    const v = world(objectIn(2), [2], () => Promise.resolve(void (inside = v.gate.currentShard())));
    await v.run("ns/app");
    expect(inside).toBe(2);
    expect(v.patches).toEqual([{ shard: 2, label: { [shardLabel]: "2" } }]);
  });

  it("abandons a reconcile whose shard is lost before its next write", async () => {
    let wrote = false;
    const w = world(objectIn(0, "0"), [0], async () => {
      await w.clock.advance(renewDeadlineMs);
      w.gate.checkWrite("PATCH");
      wrote = true;
    });
    await expect(w.run("ns/app")).resolves.toBeUndefined();
    expect(wrote).toBe(false);
  });

  it("abandons it too when the refused write comes back wrapped in another error", async () => {
    const w = world(objectIn(0, "0"), [0], async () => {
      await w.clock.advance(renewDeadlineMs);
      try {
        w.gate.checkWrite("POST");
      } catch {
        throw new Error("token request failed: ConnectionFailed");
      }
    });
    await expect(w.run("ns/app")).resolves.toBeUndefined();
  });

  it("lets other failures of a held shard through, for the queue's backoff", async () => {
    const w = world(objectIn(0, "0"), [0], () => Promise.reject(new Error("DataTrails is down")));
    await expect(w.run("ns/app")).rejects.toThrow("DataTrails is down");
  });

  it("hands on an object labelled into a held shard that now hashes to another", async () => {
    let ran = false;
    const w = world(objectIn(1, "0"), [0], () => Promise.resolve(void (ran = true)));
    await w.run("ns/app");
    expect(ran).toBe(false);
    expect(w.patches).toEqual([{ shard: 0, label: { [shardLabel]: "1" } }]);
  });
});
