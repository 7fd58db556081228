/**
 * The controller manager: builds the shared ports and caches every controller is made from (the
 * {@link ControllerContext}), then starts the controllers the definitions declare, each on a work
 * queue of its own, and the metadata-only Secret watch that wakes them for Secrets the operator does
 * not write. operator.ts calls it once, when this replica starts working.
 */
import { CoreV1Api, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import type { Dispatcher } from "undici";
import { managedByLabel, managedByValue, resources } from "../api/v1alpha1/index.ts";
import type { Config } from "../config.ts";
import { dataTrailsClientCache } from "../datatrails/client-cache.ts";
import { createRealClock, type Clock } from "../k8s/clock.ts";
import { KubeCustomObjects } from "../k8s/custom-objects.ts";
import { createKubeEventRecorder } from "../k8s/events.ts";
import { createInformers } from "../k8s/informers.ts";
import { createSecretCache } from "../k8s/secret-cache.ts";
import { startSecretFeed, type SecretFeed, type SecretMetadataChange } from "../k8s/secret-feed.ts";
import { KubeSecretStore } from "../k8s/secrets.ts";
import { KubeServiceAccountTokens } from "../k8s/service-account-tokens.ts";
import { KubeWorkloads } from "../k8s/workloads.ts";
import { patchStatus } from "../k8s/status.ts";
import { createWorkQueue, type WorkQueue, type WorkResult } from "../k8s/work-queue.ts";
import type { ResourceRef } from "../k8s/custom-objects.ts";
import type { ResilientInformer } from "../k8s/informer.ts";
import { ShardLostError, type ShardGate } from "../k8s/shard-gate.ts";
import { needsShardLabel, objectShard, shardLabel } from "../k8s/shards.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import { createIssuer } from "../tokens/factory.ts";
import type { ControllerContext, ControllerDefinition } from "./context.ts";
import { keyOf, splitKey, startController, type Controller } from "./controller.ts";
import { informerOwnership } from "./ownership.ts";

/** What the context is made from. */
export interface ContextDeps {
  config: Readonly<Config>;
  logger: Logger;
  metrics: Metrics;
  clock?: Clock;
  crashPoint?: (step: string) => void;
  /** With --shards > 1: the write gates; Secrets written get the shard label of their reconcile. */
  gate?: ShardGate;
}

/** The shared ports and caches every controller is built from. */
export function createControllerContext(
  deps: ContextDeps,
  kubeConfig: KubeConfig,
  dispatcher: Dispatcher,
): ControllerContext {
  const { config, logger, metrics } = deps;
  const clock = deps.clock ?? createRealClock();
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const { gate } = deps;
  const informers = createInformers({
    kubeConfig,
    watchNamespaces: config.watchNamespaces,
    logger,
    metrics,
    shards: gate ? config.shards : 1,
  });
  // Written Secrets are remembered until the informer shows them: a reconcile reads its own last write.
  // With shards, each carries the shard of the reconcile that writes it: only that shard's holder caches it.
  const shardOfWrite = (): Record<string, string> => {
    const shard = gate?.currentShard();
    return shard === undefined ? {} : { [shardLabel]: String(shard) };
  };
  const secrets: KubeSecretStore = new KubeSecretStore(kubeConfig, {
    onWritten: (s) => cache.wrote(s),
    ...(gate ? { extraLabels: shardOfWrite } : {}),
  });
  const watched = new Set(config.watchNamespaces);
  const cache = createSecretCache({
    informer: informers.secrets,
    get: (namespace, name) => secrets.get(namespace, name),
    watched: (namespace) => watched.size === 0 || watched.has(namespace),
  });
  const serviceAccountTokens = new KubeServiceAccountTokens(kubeConfig);
  return {
    config,
    informers,
    ownership: informerOwnership(informers.integrations, informers.tokens),
    objects: new KubeCustomObjects(kubeConfig),
    secrets,
    // From the caches, never stale to a reconcile (secret-cache.ts); a GET only for what no cache holds.
    lookupSecret: cache.lookup,
    secretChanged: (change) => cache.changed(change),
    writeStatus: async (ref, obj, previous, next) => {
      const { namespace, name } = obj.metadata;
      await patchStatus({
        kubeConfig,
        ...ref,
        ...(namespace ? { namespace } : {}),
        name,
        status: next as Record<string, unknown>,
        previous: (previous ?? {}) as Record<string, unknown>,
      });
    },
    namespaceLabels: async (name) => (await core.readNamespace({ name })).metadata?.labels ?? {},
    apiFor: dataTrailsClientCache({ timeoutMs: config.dataTrailsTimeoutMs, dispatcher, logger, metrics }),
    issuerFor: (spec, inputs) =>
      createIssuer(spec, inputs, {
        dispatcher,
        timeoutMs: config.dataTrailsTimeoutMs,
        clock,
        serviceAccountTokens,
      }),
    events: createKubeEventRecorder({ kubeConfig, identity: config.identity, logger, clock }),
    workloads: new KubeWorkloads(kubeConfig),
    clock,
    logger,
    metrics,
    ...(deps.crashPoint ? { crashPoint: deps.crashPoint } : {}),
  };
}

/** With --shards > 1: how many shards, and the write gates of those this replica holds. */
export interface Sharding {
  shards: number;
  gate: ShardGate;
  /** Whether the shard's caches have synced since it was taken (before that its keys wait). */
  ready(shard: number): boolean;
}

/** Whether this replica may work on `shard` now: its gate is open and its caches are in. */
const workable = (sharding: Sharding, shard: number) => sharding.gate.isOpen(shard) && sharding.ready(shard);

/** The shard an object's label names, if it is a number. */
function labelledShard(obj: KubernetesObject): number | undefined {
  const value = obj.metadata?.labels?.[shardLabel];
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

/** The shard of the primary object a key names, or undefined when the cache does not hold it. */
function shardOfKey(
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
function shardedReconcile(
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
      // The shard was lost mid-reconcile: its next holder does the work.
      if (isShardLost(err)) {
        ctx.logger.debug({ controller: d.name, key, shard }, "reconcile abandoned: shard lost");
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

/** Starts the declared controllers and the Secret watch that wakes them; returns what stop() ends. */
export function startControllers(
  ctx: ControllerContext,
  definitions: ControllerDefinition[],
  kubeConfig: KubeConfig,
  sharding?: Sharding,
) {
  const { config, logger, metrics, clock, informers } = ctx;
  // With watchNamespaces set, only those namespaces' objects are reconciled.
  const watched = new Set(config.watchNamespaces);
  const inWatched = (key: string) => watched.size === 0 || watched.has(key.slice(0, key.indexOf("/")));
  // The primaries the holder labels with their shard (once per kind: the first definition). Not the
  // connections: every replica caches them whole, and a label change would make a connection check
  // its credentials again, a token request each time.
  const stampRefs = new Map<ResilientInformer<KubernetesObject>, ResourceRef>([
    [informers.integrations, resources.integrations],
    [informers.tokens, resources.bearerTokens],
  ]);
  const running = definitions.map((d) => {
    const stampRef = stampRefs.get(d.primary);
    stampRefs.delete(d.primary);
    const queue = createWorkQueue<string>({
      name: d.name,
      concurrency: d.concurrency,
      requeueMaxDelayMs: config.maxBackoffMs,
      requeueJitter: 0.1,
      clock,
      metrics,
      logger,
    });
    const accepts = d.accepts ?? inWatched;
    return {
      definition: d,
      queue,
      controller: startController({
        name: d.name,
        primary: d.primary,
        watches: d.watches,
        accepts: sharding
          ? (key) => {
              if (!accepts(key)) return false;
              const shard = shardOfKey(d.primary, key, sharding.shards);
              return shard === undefined || workable(sharding, shard);
            }
          : accepts,
        queue,
        reconcile: sharding ? shardedReconcile(ctx, d, sharding, stampRef) : (key) => d.reconcile(key),
        logger,
        metrics,
      }),
    };
  });
  // Secrets the operator does not write (no managed-by label); its own come through the informer.
  const onChange = (s: SecretMetadataChange) => {
    ctx.secretChanged(s);
    if (s.labels[managedByLabel] === managedByValue) return;
    for (const { definition, controller } of running)
      for (const key of definition.secretKeys(s.namespace, s.name)) controller.enqueue(key);
  };
  const namespaces = config.watchNamespaces.length > 0 ? config.watchNamespaces : [undefined];
  const feeds: SecretFeed[] = namespaces.map((namespace) =>
    startSecretFeed({ kubeConfig, ...(namespace ? { namespace } : {}), onChange, logger, metrics, clock }),
  );
  if (sharding) stampUnlabelled(ctx, sharding);
  logger.info("controllers started");
  const controllers: Controller[] = running.map(({ definition, controller }) => ({
    enqueue: (key) => controller.enqueue(key),
    stop: async () => {
      await controller.stop();
      await definition.stop?.();
    },
  }));
  return {
    controllers,
    feeds,
    /** Enqueues every cached object of `shard` on every controller (a shard was taken over). */
    enqueueShard(shard: number) {
      if (!sharding) return;
      for (const { definition, controller } of running)
        for (const obj of definition.primary.list())
          if (objectShard(obj, sharding.shards) === shard) controller.enqueue(keyOf(obj));
      for (const [informer, ref] of unlabelledKinds(ctx))
        for (const obj of informer.list()) void stampIfHeld(ctx, sharding, ref, obj);
    },
    /** Each controller's queue, for the per-shard depth gauge. */
    queues: running.map(({ definition, queue }) => ({
      name: definition.name,
      primary: definition.primary,
      queue,
    })),
  };
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
async function stampIfHeld(
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
function stampUnlabelled(ctx: ControllerContext, sharding: Sharding) {
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
