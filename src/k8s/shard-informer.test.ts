import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { InformerEvent, ResilientInformer } from "./informer.ts";
import { createShardedInformer } from "./shard-informer.ts";

/** An informer over a fixed list that "lists" on start and fires add for each object. */
function listInformer(objects: KubernetesObject[]) {
  const handlers: { event: InformerEvent; fn: (o: KubernetesObject) => void }[] = [];
  let synced = false;
  let stopped = false;
  const informer: ResilientInformer<KubernetesObject> = {
    start() {
      synced = true;
      for (const o of objects) for (const h of handlers) if (h.event === "add") h.fn(o);
      return Promise.resolve();
    },
    stop() {
      stopped = true;
      return Promise.resolve();
    },
    hasSynced: () => synced,
    list: () => (stopped ? [] : objects),
    get: (name, namespace) =>
      objects.find((o) => o.metadata?.name === name && o.metadata.namespace === namespace),
    on: (event, fn) => void handlers.push({ event, fn }),
    restarts: () => 0,
  };
  return { informer, isStopped: () => stopped };
}

const obj = (name: string): KubernetesObject => ({ metadata: { name, namespace: "ns" } });

describe("createShardedInformer", () => {
  it("caches only the shards added, gives handlers to later shards, and forgets a removed shard", async () => {
    const made = new Map<number, ReturnType<typeof listInformer>>();
    const sharded = createShardedInformer((k) => {
      const made_ = listInformer([obj(`a${k}`), obj(`b${k}`)]);
      made.set(k, made_);
      return made_.informer;
    });
    const added: string[] = [];
    sharded.on("add", (o) => added.push(o.metadata?.name ?? ""));
    await sharded.start();
    expect(sharded.hasSynced()).toBe(true);
    expect(sharded.list()).toEqual([]);

    await sharded.addShard(1);
    await sharded.addShard(2);
    expect(added).toEqual(["a1", "b1", "a2", "b2"]);
    expect(sharded.get("b2", "ns")?.metadata?.name).toBe("b2");
    expect(sharded.list()).toHaveLength(4);

    await sharded.removeShard(1);
    expect(made.get(1)?.isStopped()).toBe(true);
    expect(sharded.get("a1", "ns")).toBeUndefined();
    expect(sharded.list().map((o) => o.metadata?.name)).toEqual(["a2", "b2"]);

    await sharded.stop();
    expect(made.get(2)?.isStopped()).toBe(true);
  });

  it("adding a shard twice starts one informer", async () => {
    let builds = 0;
    const sharded = createShardedInformer((k) => {
      builds++;
      return listInformer([obj(`a${k}`)]).informer;
    });
    await sharded.addShard(0);
    await sharded.addShard(0);
    expect(builds).toBe(1);
    expect(sharded.list()).toHaveLength(1);
  });
});
