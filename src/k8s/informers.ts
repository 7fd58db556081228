/**
 * The operator's informers, one per kind it reads: its four custom kinds and the Secrets it writes
 * (selected by the managed-by label). With watchNamespaces set, each namespaced kind is one informer
 * per namespace behind one interface: the operator's RBAC then grants list/watch only there. Each
 * cache keeps only what the controllers read of its kind (cache-shape.ts).
 */
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Secret,
} from "@kubernetes/client-node";
import {
  managedByLabel,
  managedByValue,
  resources,
  type BearerToken,
  type ClusterDataTrailsConnection,
  type DataTrailsConnection,
  type DataTrailsIntegration,
} from "../api/v1alpha1/index.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import {
  bearerTokenCacheShape,
  clusterConnectionCacheShape,
  connectionCacheShape,
  integrationCacheShape,
  secretCacheShape,
  type CacheShape,
} from "./cache-shape.ts";
import type { ResourceRef } from "./custom-objects.ts";
import { createResilientInformer, type ResilientInformer } from "./informer.ts";
import { combineInformers } from "./multi-informer.ts";
import { createShardedInformer, type ShardedInformer } from "./shard-informer.ts";
import { shardLabel } from "./shards.ts";

/** Every informer the operator runs. */
export interface Informers {
  integrations: ResilientInformer<DataTrailsIntegration & KubernetesObject>;
  tokens: ResilientInformer<BearerToken & KubernetesObject>;
  connections: ResilientInformer<DataTrailsConnection & KubernetesObject>;
  clusterConnections: ResilientInformer<ClusterDataTrailsConnection & KubernetesObject>;
  /** The Secrets the operator writes (managed-by label), never a user's. */
  secrets: ResilientInformer<V1Secret>;
  all: ResilientInformer<KubernetesObject>[];
  /** With shards: what is per shard, and the objects no shard label (of this N) selects yet. */
  sharded?: ShardedInformers;
}

/** The informers of a sharded replica (--shards > 1) beyond the ones every replica has. */
export interface ShardedInformers {
  /** Integrations, BearerTokens and the operator's Secrets of the held shards, one informer each. */
  perShard: ShardedInformer<KubernetesObject>[];
  /**
   * Integrations and BearerTokens whose shard label is missing or names no shard of this N
   * (`datatrails.ai/shard notin (0,…,N-1)`): few, and each only until its holder stamps it.
   */
  unlabelled: {
    integrations: ResilientInformer<DataTrailsIntegration & KubernetesObject>;
    tokens: ResilientInformer<BearerToken & KubernetesObject>;
  };
}

/** What {@link createInformers} needs. */
export interface InformerOptions {
  kubeConfig: KubeConfig;
  /** Namespaces to watch; empty for the whole cluster. */
  watchNamespaces: readonly string[];
  logger: Logger;
  metrics: Metrics;
  /** More than 1: integrations, BearerTokens and Secrets are cached per held shard (see ShardedInformers). */
  shards?: number;
}

type Collection<T extends KubernetesObject> = (namespace?: string) => {
  path: string;
  listFn: () => Promise<KubernetesListObject<T>>;
};

function namespaced<T extends KubernetesObject>(
  o: InformerOptions,
  name: string,
  collection: Collection<T>,
  cacheShape: CacheShape<T>,
  labelSelector?: string,
): ResilientInformer<T> {
  const make = (namespace?: string) =>
    createResilientInformer<T>({
      name: namespace ? `${name}/${namespace}` : name,
      kubeConfig: o.kubeConfig,
      ...collection(namespace),
      ...(labelSelector ? { labelSelector } : {}),
      cacheShape,
      logger: o.logger,
      metrics: o.metrics,
    });
  if (o.watchNamespaces.length === 0) return make();
  return combineInformers(new Map(o.watchNamespaces.map((ns) => [ns, make(ns)])));
}

function custom<T extends KubernetesObject>(
  o: InformerOptions,
  ref: ResourceRef,
  cacheShape: CacheShape<T>,
  labelSelector?: string,
  name: string = ref.plural,
): ResilientInformer<T> {
  const api = o.kubeConfig.makeApiClient(CustomObjectsApi);
  const selected = labelSelector ? { labelSelector } : {};
  return namespaced<T>(
    o,
    name,
    (namespace) =>
      namespace
        ? {
            path: `/apis/${ref.group}/${ref.version}/namespaces/${namespace}/${ref.plural}`,
            listFn: async () =>
              (await api.listNamespacedCustomObject({
                ...ref,
                namespace,
                ...selected,
              })) as KubernetesListObject<T>,
          }
        : {
            path: `/apis/${ref.group}/${ref.version}/${ref.plural}`,
            listFn: async () =>
              (await api.listClusterCustomObject({ ...ref, ...selected })) as KubernetesListObject<T>,
          },
    cacheShape,
    labelSelector,
  );
}

/** The label selector of shard k's objects. */
const inShard = (shard: number) => `${shardLabel}=${shard}`;

/** Builds (does not start) every informer. */
export function createInformers(o: InformerOptions): Informers {
  const core = o.kubeConfig.makeApiClient(CoreV1Api);
  const customApi = o.kubeConfig.makeApiClient(CustomObjectsApi);
  const ref = resources.clusterConnections;
  const clusterConnections = createResilientInformer<ClusterDataTrailsConnection & KubernetesObject>({
    name: ref.plural,
    kubeConfig: o.kubeConfig,
    path: `/apis/${ref.group}/${ref.version}/${ref.plural}`,
    listFn: async () =>
      (await customApi.listClusterCustomObject({ ...ref })) as KubernetesListObject<
        ClusterDataTrailsConnection & KubernetesObject
      >,
    cacheShape: clusterConnectionCacheShape,
    logger: o.logger,
    metrics: o.metrics,
  });
  const ownSecrets = (labelSelector: string, name = "secrets") =>
    namespaced<V1Secret>(
      o,
      name,
      (namespace) =>
        namespace
          ? {
              path: `/api/v1/namespaces/${namespace}/secrets`,
              listFn: () => core.listNamespacedSecret({ namespace, labelSelector }),
            }
          : { path: "/api/v1/secrets", listFn: () => core.listSecretForAllNamespaces({ labelSelector }) },
      secretCacheShape,
      labelSelector,
    );
  const managed = `${managedByLabel}=${managedByValue}`;
  const shards = o.shards ?? 1;
  if (shards > 1) return shardedInformers(o, shards, clusterConnections, ownSecrets);
  const secrets = ownSecrets(managed);
  const informers = {
    integrations: custom<DataTrailsIntegration & KubernetesObject>(
      o,
      resources.integrations,
      integrationCacheShape,
    ),
    tokens: custom<BearerToken & KubernetesObject>(o, resources.bearerTokens, bearerTokenCacheShape),
    connections: custom<DataTrailsConnection & KubernetesObject>(
      o,
      resources.connections,
      connectionCacheShape,
    ),
    clusterConnections,
    secrets,
  };
  const all: ResilientInformer<KubernetesObject>[] = Object.values(informers);
  return { ...informers, all };
}

/**
 * The informers of a sharded replica: integrations, BearerTokens and the operator's Secrets per held
 * shard (label-selected), the unlabelled integrations and BearerTokens, and the connections whole
 * (few, and every replica reads them).
 */
function shardedInformers(
  o: InformerOptions,
  shards: number,
  clusterConnections: ResilientInformer<ClusterDataTrailsConnection & KubernetesObject>,
  ownSecrets: (labelSelector: string, name?: string) => ResilientInformer<V1Secret>,
): Informers {
  const integrations = createShardedInformer<DataTrailsIntegration & KubernetesObject>((k) =>
    custom(
      o,
      resources.integrations,
      integrationCacheShape,
      inShard(k),
      `${resources.integrations.plural}#${k}`,
    ),
  );
  const tokens = createShardedInformer<BearerToken & KubernetesObject>((k) =>
    custom(
      o,
      resources.bearerTokens,
      bearerTokenCacheShape,
      inShard(k),
      `${resources.bearerTokens.plural}#${k}`,
    ),
  );
  const secrets = createShardedInformer<V1Secret>((k) =>
    ownSecrets(`${managedByLabel}=${managedByValue},${inShard(k)}`, `secrets#${k}`),
  );
  const none = `${shardLabel} notin (${Array.from({ length: shards }, (_, k) => k).join(",")})`;
  const unlabelled = {
    integrations: custom<DataTrailsIntegration & KubernetesObject>(
      o,
      resources.integrations,
      integrationCacheShape,
      none,
      `${resources.integrations.plural}-unlabelled`,
    ),
    tokens: custom<BearerToken & KubernetesObject>(
      o,
      resources.bearerTokens,
      bearerTokenCacheShape,
      none,
      `${resources.bearerTokens.plural}-unlabelled`,
    ),
  };
  const connections = custom<DataTrailsConnection & KubernetesObject>(
    o,
    resources.connections,
    connectionCacheShape,
  );
  const informers = { integrations, tokens, connections, clusterConnections, secrets };
  const all: ResilientInformer<KubernetesObject>[] = [
    ...Object.values(informers),
    unlabelled.integrations,
    unlabelled.tokens,
  ];
  return {
    ...informers,
    all,
    sharded: {
      perShard: [integrations, tokens, secrets] as ShardedInformer<KubernetesObject>[],
      unlabelled,
    },
  };
}
