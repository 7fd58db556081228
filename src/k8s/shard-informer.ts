/**
 * One informer per held shard behind the interface of one informer (docs/design.md, "Shards"): each
 * lists and watches only the objects labelled `datatrails.ai/shard=<k>`, so a replica caches only its
 * shards and its memory falls with N. Taking a shard starts that shard's informer (a LIST of that
 * shard alone; the others' watches are untouched); losing one stops it and drops its cache.
 * Handlers registered with `on` are given to every shard's informer, present and future.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { InformerEvent, ResilientInformer } from "./informer.ts";

/** An informer over the shards this replica holds. */
export interface ShardedInformer<T extends KubernetesObject> extends ResilientInformer<T> {
  /** Starts the informer of `shard`; resolves once its first list is in the cache. */
  addShard(shard: number): Promise<void>;
  /** Stops the informer of `shard` and forgets its objects. */
  removeShard(shard: number): Promise<void>;
}

/** Combines the per-shard informers `make` builds, one per shard added. */
export function createShardedInformer<T extends KubernetesObject>(
  make: (shard: number) => ResilientInformer<T>,
): ShardedInformer<T> {
  const byShard = new Map<number, ResilientInformer<T>>();
  const handlers: { event: InformerEvent; fn: (obj: T) => void }[] = [];
  let stopped = false;
  let retired = 0;
  const all = () => [...byShard.values()];

  return {
    // Nothing to list before a shard is held.
    start: () => Promise.resolve(),
    async stop() {
      stopped = true;
      const informers = all();
      byShard.clear();
      await Promise.all(informers.map((i) => i.stop()));
    },
    hasSynced: () => all().every((i) => i.hasSynced()),
    list: () => all().flatMap((i) => i.list()),
    get(name, namespace) {
      for (const i of byShard.values()) {
        const found = i.get(name, namespace);
        if (found) return found;
      }
      return undefined;
    },
    on(event, fn) {
      handlers.push({ event, fn });
      for (const i of byShard.values()) i.on(event, fn);
    },
    restarts: () => retired + all().reduce((sum, i) => sum + i.restarts(), 0),
    async addShard(shard) {
      if (stopped) return;
      let informer = byShard.get(shard);
      if (!informer) {
        informer = make(shard);
        for (const { event, fn } of handlers) informer.on(event, fn);
        byShard.set(shard, informer);
      }
      await informer.start();
    },
    async removeShard(shard) {
      const informer = byShard.get(shard);
      if (!informer) return;
      byShard.delete(shard);
      retired += informer.restarts();
      await informer.stop();
    },
  };
}
