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
import { KubeSecretStore, secretNameLister } from "../k8s/secrets.ts";
import { KubeServiceAccountTokens } from "../k8s/service-account-tokens.ts";
import { KubeWorkloads } from "../k8s/workloads.ts";
import { patchStatus } from "../k8s/status.ts";
import { createWorkQueue } from "../k8s/work-queue.ts";
import type { ResourceRef } from "../k8s/custom-objects.ts";
import type { ResilientInformer } from "../k8s/informer.ts";
import type { ShardGate } from "../k8s/shard-gate.ts";
import { objectShard, shardLabel } from "../k8s/shards.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import { createIssuer } from "../tokens/factory.ts";
import type { ControllerContext, ControllerDefinition } from "./context.ts";
import { keyOf, startController, type Controller } from "./controller.ts";
import {
  shardedReconcile,
  shardOfKey,
  stampUnlabelled,
  stampUnlabelledOf,
  workable,
  type Sharding,
} from "./sharding.ts";
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
    listNames: secretNameLister(kubeConfig),
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
      stampUnlabelledOf(ctx, sharding, shard);
    },
    /** Each controller's queue, for the per-shard depth gauge. */
    queues: running.map(({ definition, queue }) => ({
      name: definition.name,
      primary: definition.primary,
      queue,
    })),
  };
}
