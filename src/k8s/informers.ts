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

/** Every informer the operator runs. */
export interface Informers {
  integrations: ResilientInformer<DataTrailsIntegration & KubernetesObject>;
  tokens: ResilientInformer<BearerToken & KubernetesObject>;
  connections: ResilientInformer<DataTrailsConnection & KubernetesObject>;
  clusterConnections: ResilientInformer<ClusterDataTrailsConnection & KubernetesObject>;
  /** The Secrets the operator writes (managed-by label), never a user's. */
  secrets: ResilientInformer<V1Secret>;
  all: ResilientInformer<KubernetesObject>[];
}

/** What {@link createInformers} needs. */
export interface InformerOptions {
  kubeConfig: KubeConfig;
  /** Namespaces to watch; empty for the whole cluster. */
  watchNamespaces: readonly string[];
  logger: Logger;
  metrics: Metrics;
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
): ResilientInformer<T> {
  const api = o.kubeConfig.makeApiClient(CustomObjectsApi);
  return namespaced<T>(
    o,
    ref.plural,
    (namespace) =>
      namespace
        ? {
            path: `/apis/${ref.group}/${ref.version}/namespaces/${namespace}/${ref.plural}`,
            listFn: async () =>
              (await api.listNamespacedCustomObject({ ...ref, namespace })) as KubernetesListObject<T>,
          }
        : {
            path: `/apis/${ref.group}/${ref.version}/${ref.plural}`,
            listFn: async () => (await api.listClusterCustomObject({ ...ref })) as KubernetesListObject<T>,
          },
    cacheShape,
  );
}

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
  const labelSelector = `${managedByLabel}=${managedByValue}`;
  const secrets = namespaced<V1Secret>(
    o,
    "secrets",
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
