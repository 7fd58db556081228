/**
 * The controller manager's part in shards (docs/design.md, "Shards"): which shard a key's object is
 * in, the reconcile wrapper that runs a key inside its shard's write gate (and skips the keys of
 * shards held elsewhere), the shard label stamp, the webhook-free path for unlabelled objects, and
 * the per-shard gauges.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { resources } from "../api/v1alpha1/index.ts";
import type { ResourceRef } from "../k8s/custom-objects.ts";
import type { ResilientInformer } from "../k8s/informer.ts";
import { ShardLostError, type ShardGate } from "../k8s/shard-gate.ts";
import { needsShardLabel, objectShard, shardLabel } from "../k8s/shards.ts";
import type { WorkQueue, WorkResult } from "../k8s/work-queue.ts";
import type { ControllerContext, ControllerDefinition } from "./context.ts";
import { splitKey } from "./controller.ts";

/** With --shards > 1: how many shards, and the write gates of those this replica holds. */
export interface Sharding {
  shards: number;
  gate: ShardGate;
  /** Whether the shard's caches have synced since it was taken (before that its keys wait). */
  ready(shard: number): boolean;
}

/** Whether this replica may work on `shard` now: its gate is open and its caches are in. */
export const workable = (sharding: Sharding, shard: number) =>
  sharding.gate.isOpen(shard) && sharding.ready(shard);

/** The shard an object's label names, if it is a number. */
function labelledShard(obj: KubernetesObject): number | undefined {
  const value = obj.metadata?.labels?.[shardLabel];
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

/** The shard of the primary object a key names, or undefined when the cache does not hold it. */
export function shardOfKey(
  primary: ResilientInformer<KubernetesObject>,
  key: string,
  shards: number,
): number | undefined {
  const { namespace, name } = splitKey(key);
  const obj = primary.get(name, namespace === "" ? undefined : namespace);
  return obj ? objectShard(obj, shards) : undefined;
}

/**
 * Runs a definition's reconcile inside its object's shard (shard-gate.ts): skipped when this replica
 * does not hold the shard (the holder does the work; a hand-over enqueues the shard's keys again),
 * and with every write refused when the object is not in the cache. Before the first reconcile the
 * holder stamps the shard label on a namespaced primary (a merge patch of one label).
 */
export function shardedReconcile(
  ctx: ControllerContext,
  d: ControllerDefinition,
  sharding: Sharding,
  stampRef: ResourceRef | undefined,
) {
  const { gate, shards } = sharding;
  return async (key: string): Promise<WorkResult> => {
    const { namespace, name } = splitKey(key);
    const obj = d.primary.get(name, namespace === "" ? undefined : namespace);
    const shard = obj ? objectShard(obj, shards) : undefined;
    try {
      if (obj && shard !== undefined && !workable(sharding, shard)) {
        // Labelled into a shard held here but hashed to another (N changed): hand it on by its label.
        const labelled = labelledShard(obj);
        if (stampRef && labelled !== undefined && labelled !== shard && workable(sharding, labelled))
          await gate.run(labelled, () => stamp(ctx, stampRef, namespace, name, String(shard)));
        return;
      }
      return await gate.run(shard, async () => {
        if (obj && stampRef && namespace !== "" && needsShardLabel(obj, shards))
          await stamp(ctx, stampRef, namespace, name, String(shard));
        return d.reconcile(key);
      });
    } catch (err) {
      // The shard was lost mid-reconcile (the refused write may reach here wrapped as a Kubernetes,
      // DataTrails or token error, so the gate is asked again): its next holder does the work. An
      // object no cache holds had every write refused: nothing to retry.
      if (isShardLost(err) || shard === undefined || !workable(sharding, shard)) {
        ctx.logger.debug({ controller: d.name, key, shard }, "reconcile abandoned: shard not held");
        return;
      }
      throw err;
    }
  };
}

const isShardLost = (err: unknown) =>
  err instanceof ShardLostError || (err instanceof Error && err.cause instanceof ShardLostError);

async function stamp(
  ctx: ControllerContext,
  ref: ResourceRef,
  namespace: string,
  name: string,
  shard: string,
) {
  try {
    await ctx.objects.mergePatch(ref, namespace, name, { metadata: { labels: { [shardLabel]: shard } } });
  } catch (err) {
    if (err instanceof ShardLostError || (err instanceof Error && err.cause instanceof ShardLostError))
      throw err;
    ctx.logger.debug(
      { err, namespace, name },
      "could not stamp the shard label; trying again next reconcile",
    );
  }
}

/** The unlabelled informers of a sharded replica, each with the kind it lists. */
function unlabelledKinds(ctx: ControllerContext): [ResilientInformer<KubernetesObject>, ResourceRef][] {
  const unlabelled = ctx.informers.sharded?.unlabelled;
  if (!unlabelled) return [];
  return [
    [unlabelled.integrations, resources.integrations],
    [unlabelled.tokens, resources.bearerTokens],
  ];
}

/** Stamps an unlabelled object with its shard when this replica holds that shard. */
export async function stampIfHeld(
  ctx: ControllerContext,
  sharding: Sharding,
  ref: ResourceRef,
  obj: KubernetesObject,
) {
  const shard = objectShard(obj, sharding.shards);
  const namespace = obj.metadata?.namespace;
  if (shard === undefined || !namespace || !sharding.gate.isOpen(shard)) return;
  try {
    await sharding.gate.run(shard, () => stamp(ctx, ref, namespace, obj.metadata?.name ?? "", String(shard)));
  } catch {
    // Only ShardLost reaches here (stamp logs the rest): the shard's next holder stamps it.
  }
}

/**
 * The webhook-free path for objects no shard label selects yet (new ones, or after N changed): the
 * holder of each one's shard stamps the label, and the shard's own informer then brings it in.
 */
export function stampUnlabelled(ctx: ControllerContext, sharding: Sharding) {
  for (const [informer, ref] of unlabelledKinds(ctx))
    for (const event of ["add", "update"] as const)
      informer.on(event, (obj) => void stampIfHeld(ctx, sharding, ref, obj));
}

/** A controller's queue and primary cache, as {@link startControllers} returns them. */
export interface ControllerQueue {
  name: string;
  primary: ResilientInformer<KubernetesObject>;
  queue: WorkQueue<string>;
}

/** Sets the per-shard gauges for the shards this replica holds (the others are removed). */
export function reportShardGauges(
  ctx: ControllerContext,
  queues: readonly ControllerQueue[],
  shards: number,
  held: readonly number[],
): void {
  const { metrics, informers, clock } = ctx;
  metrics.shardObjects.reset();
  metrics.shardQueueDepth.reset();
  metrics.shardRefreshLagSeconds.reset();
  const heldSet = new Set(held);
  const nowMs = clock.now();
  const count = (kind: string, objs: readonly KubernetesObject[]) => {
    const perShard = new Map<number, number>(held.map((k) => [k, 0]));
    // What the cache holds, by shard: with label-selected informers only the held shards' objects.
    for (const obj of objs) {
      const k = objectShard(obj, shards);
      if (k !== undefined) perShard.set(k, (perShard.get(k) ?? 0) + 1);
    }
    for (const [k, n] of perShard) metrics.shardObjects.labels({ shard: String(k), kind }).set(n);
  };
  count("DataTrailsIntegration", informers.integrations.list());
  const tokens = informers.tokens.list();
  count("BearerToken", tokens);
  const lag = new Map<number, number>(held.map((k) => [k, 0]));
  for (const token of tokens) {
    const k = objectShard(token, shards);
    const due = Date.parse(token.status?.nextRefreshAt ?? "");
    if (k === undefined || !heldSet.has(k) || Number.isNaN(due)) continue;
    lag.set(k, Math.max(lag.get(k) ?? 0, (nowMs - due) / 1000));
  }
  for (const [k, seconds] of lag) metrics.shardRefreshLagSeconds.labels({ shard: String(k) }).set(seconds);
  for (const { name, primary, queue } of queues) {
    const perShard = new Map<number, number>(held.map((k) => [k, 0]));
    for (const key of queue.dueKeys()) {
      const k = shardOfKey(primary, key, shards);
      if (k !== undefined && heldSet.has(k)) perShard.set(k, (perShard.get(k) ?? 0) + 1);
    }
    for (const [k, n] of perShard)
      metrics.shardQueueDepth.labels({ shard: String(k), controller: name }).set(n);
  }
}

/** Stamps the unlabelled objects of a shard just taken (they came before this replica held it). */
export function stampUnlabelledOf(ctx: ControllerContext, sharding: Sharding, shard: number): void {
  for (const [informer, ref] of unlabelledKinds(ctx))
    for (const obj of informer.list())
      if (objectShard(obj, sharding.shards) === shard) void stampIfHeld(ctx, sharding, ref, obj);
}
