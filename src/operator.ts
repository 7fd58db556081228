/**
 * The operator, assembled: informers, the two controllers, leader election, the health and metrics
 * server. `run` (src/cli/run.ts) starts it from flags; tests may start it in-process.
 */
import { createHash } from "node:crypto";
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Secret,
} from "@kubernetes/client-node";
import { Agent } from "undici";
import {
  group,
  managedByLabel,
  managedByValue,
  version,
  type BearerToken,
  type ClusterDataTrailsConnection,
  type DataTrailsConnection,
  type DataTrailsIntegration,
} from "./api/v1alpha1/index.ts";
import type { Config } from "./config.ts";
import { HttpDataTrailsApi } from "./datatrails/http-api.ts";
import type { DataTrailsApi } from "./datatrails/api.ts";
import { bearerTokenResource, integrationResource } from "./controllers/integration/apply.ts";
import { integrationReconciler } from "./controllers/integration/controller.ts";
import type { ResolvedConnection } from "./controllers/integration/gather.ts";
import { keyOf, ownerKeys, splitKey, startController, type Controller } from "./controllers/controller.ts";
import { informerOwnership } from "./controllers/ownership.ts";
import { indexInformer, ReferenceIndex } from "./controllers/reference-index.ts";
import { startSecretFeed, type SecretFeed } from "./k8s/secret-feed.ts";
import { tokenReconciler } from "./controllers/token/controller.ts";
import { connectionControllers } from "./controllers/connection/controller.ts";
import { inputSecretRef } from "./controllers/token/gather.ts";
import { createRealClock, type Clock } from "./k8s/clock.ts";
import { KubeCustomObjects, type ResourceRef } from "./k8s/custom-objects.ts";
import { createKubeEventRecorder } from "./k8s/events.ts";
import { createResilientInformer, type ResilientInformer } from "./k8s/informer.ts";
import { combineInformers } from "./k8s/multi-informer.ts";
import { startLeaderElection, type LeaderElection } from "./k8s/leader-election.ts";
import { KubeSecretStore } from "./k8s/secrets.ts";
import { PooledKubeConfig } from "./k8s/pooled-kube-config.ts";
import { patchStatus } from "./k8s/status.ts";
import { createWorkQueue } from "./k8s/work-queue.ts";
import type { Logger } from "./observability/logger.ts";
import { startHealthServer, type HealthServer } from "./observability/health.ts";
import type { Metrics } from "./observability/metrics.ts";
import { bearerTokenSpec } from "./api/v1alpha1/bearer-token.ts";
import { clusterConnectionSpec, connectionSpec } from "./api/v1alpha1/connection.ts";
import { createIssuer } from "./tokens/factory.ts";
import { verifyToken } from "./tokens/verify.ts";

/** What the operator needs from outside. */
export interface OperatorDeps {
  config: Readonly<Config>;
  kubeConfig: KubeConfig;
  logger: Logger;
  metrics: Metrics;
  clock?: Clock;
  /** Test-only fault injection: called after each integration step (see --fault-crash-at). */
  crashPoint?: (step: string) => void;
  /** Called when leadership is lost; the process must exit so no work continues. */
  onLostLeadership: () => void;
}

/** A running operator. */
export interface Operator {
  /** The port /healthz and /readyz are served on. */
  healthPort: number;
  /** The port /metrics is served on. */
  metricsPort: number;
  /** Whether every informer has synced. */
  isReady(): boolean;
  /** Stops the controllers (waiting for running reconciles), releases the lease, stops the servers. */
  stop(): Promise<void>;
}

const connectionResource: ResourceRef = { group, version, plural: "datatrailsconnections" };
const clusterConnectionResource: ResourceRef = { group, version, plural: "clusterdatatrailsconnections" };

/**
 * An informer over a namespaced kind: cluster-wide, or one per watched namespace when the operator
 * is limited to some (its RBAC then allows nothing wider).
 */
function namespacedInformer<T extends KubernetesObject>(
  deps: OperatorDeps,
  name: string,
  collection: (namespace?: string) => { path: string; listFn: () => Promise<KubernetesListObject<T>> },
  labelSelector?: string,
): ResilientInformer<T> {
  const make = (namespace?: string) =>
    createResilientInformer<T>({
      name: namespace ? `${name}/${namespace}` : name,
      kubeConfig: deps.kubeConfig,
      ...collection(namespace),
      ...(labelSelector ? { labelSelector } : {}),
      logger: deps.logger,
      metrics: deps.metrics,
    });
  const namespaces = deps.config.watchNamespaces;
  if (namespaces.length === 0) return make();
  return combineInformers(new Map(namespaces.map((ns) => [ns, make(ns)])));
}

function customInformer<T extends KubernetesObject>(
  deps: OperatorDeps,
  ref: ResourceRef,
  name: string,
): ResilientInformer<T> {
  const api = deps.kubeConfig.makeApiClient(CustomObjectsApi);
  return namespacedInformer<T>(deps, name, (namespace) =>
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
  );
}

/** Clients per admin connection, so each keeps its token and keep-alive pool. */
function apiCache(deps: OperatorDeps, dispatcher: Agent): (c: ResolvedConnection) => DataTrailsApi {
  const clients = new Map<string, DataTrailsApi>();
  return (c) => {
    const key = createHash("sha256")
      .update(JSON.stringify([c.url, c.clientId, c.clientSecret, c.requestsPerSecond]))
      .digest("hex");
    let client = clients.get(key);
    if (!client) {
      client = new HttpDataTrailsApi({
        baseUrl: c.url,
        credentials: { clientId: c.clientId, clientSecret: c.clientSecret },
        rateLimit: {
          requestsPerSecond: c.requestsPerSecond,
          burst: Math.max(1, Math.ceil(c.requestsPerSecond * 2)),
        },
        timeouts: { headersMs: deps.config.dataTrailsTimeoutMs, bodyMs: deps.config.dataTrailsTimeoutMs },
        logger: deps.logger,
        dispatcher,
        observer: ({ operation, outcome, durationMs }) => {
          deps.metrics.apiRequestsTotal.inc({ endpoint: operation, code: outcome });
          deps.metrics.apiRequestDurationSeconds.observe({ endpoint: operation }, durationMs / 1000);
        },
      });
      clients.set(key, client);
    }
    return client;
  };
}

/** Starts the operator: serves health at once, works once it leads (or at once without election). */
export async function startOperator(given: OperatorDeps): Promise<Operator> {
  // One connection pool for every Kubernetes request and watch (see pooled-kube-config.ts).
  const kubeConfig = PooledKubeConfig.from(given.kubeConfig);
  const deps: OperatorDeps = { ...given, kubeConfig };
  const { config, logger, metrics } = deps;
  const clock = deps.clock ?? createRealClock();
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 32 });

  const integrations = customInformer<DataTrailsIntegration & KubernetesObject>(
    deps,
    integrationResource,
    "datatrailsintegrations",
  );
  const tokens = customInformer<BearerToken & KubernetesObject>(deps, bearerTokenResource, "bearertokens");
  const connections = customInformer<DataTrailsConnection & KubernetesObject>(
    deps,
    connectionResource,
    "datatrailsconnections",
  );
  const clusterApi = kubeConfig.makeApiClient(CustomObjectsApi);
  const clusterConnections = createResilientInformer<ClusterDataTrailsConnection & KubernetesObject>({
    name: "clusterdatatrailsconnections",
    kubeConfig,
    path: `/apis/${group}/${version}/${clusterConnectionResource.plural}`,
    listFn: async () =>
      (await clusterApi.listClusterCustomObject({ ...clusterConnectionResource })) as KubernetesListObject<
        ClusterDataTrailsConnection & KubernetesObject
      >,
    logger,
    metrics,
  });
  const labelSelector = `${managedByLabel}=${managedByValue}`;
  const secrets = namespacedInformer<V1Secret>(
    deps,
    "secrets",
    (namespace) =>
      namespace
        ? {
            path: `/api/v1/namespaces/${namespace}/secrets`,
            listFn: () => core.listNamespacedSecret({ namespace, labelSelector }),
          }
        : { path: "/api/v1/secrets", listFn: () => core.listSecretForAllNamespaces({ labelSelector }) },
    labelSelector,
  );
  const informers: ResilientInformer<KubernetesObject>[] = [
    integrations,
    tokens,
    connections,
    clusterConnections,
    secrets,
  ];

  // Indexes, registered before the informers start so that their first lists are indexed too.
  const ownership = informerOwnership(integrations, tokens);
  const tokenInputs = new ReferenceIndex();
  indexInformer(tokens, tokenInputs, (t) => {
    const spec = bearerTokenSpec.safeParse(t.spec);
    return spec.success ? [`${t.metadata.namespace ?? ""}/${inputSecretRef(spec.data).name}`] : [];
  });

  // An admin Secret fixed or rotated wakes the integrations that failed on it (settled ones use it
  // at their next look): admin Secret → connections → integrations.
  const adminSecrets = new ReferenceIndex();
  indexInformer(connections, adminSecrets, (c) => {
    const name = connectionSpec.safeParse(c.spec).data?.credentialsSecretRef.name;
    return name ? [`${c.metadata?.namespace ?? ""}/${name}`] : [];
  });
  indexInformer(clusterConnections, adminSecrets, (c) => {
    const ref = clusterConnectionSpec.safeParse(c.spec).data?.credentialsSecretRef;
    return ref ? [`${ref.namespace}/${ref.name}`] : [];
  });
  const connectionUsers = new ReferenceIndex();
  indexInformer(integrations, connectionUsers, (i) => {
    const ref = i.spec?.connectionRef;
    if (!ref) return [];
    return ref.kind === "ClusterDataTrailsConnection"
      ? [ref.name]
      : [`${i.metadata.namespace ?? ""}/${ref.name}`];
  });
  const failingIntegrationsOf = (secretRef: string) =>
    adminSecrets
      .referrersOf(secretRef)
      .flatMap((connection) => connectionUsers.referrersOf(connection))
      .filter((key) => {
        const { namespace, name } = splitKey(key);
        const ready = integrations.get(name, namespace)?.status?.conditions?.find((c) => c.type === "Ready");
        return ready?.status !== "True";
      });

  const objects = new KubeCustomObjects(kubeConfig);
  const secretStore = new KubeSecretStore(kubeConfig);
  const events = createKubeEventRecorder({ kubeConfig, identity: config.identity, logger, clock });
  const statusWriter =
    (ref: ResourceRef) =>
    async (
      obj: { metadata: { namespace?: string; name: string } },
      previous: object | undefined,
      next: object,
    ) => {
      await patchStatus({
        kubeConfig,
        ...ref,
        namespace: obj.metadata.namespace ?? "",
        name: obj.metadata.name,
        status: next as Record<string, unknown>,
        previous: (previous ?? {}) as Record<string, unknown>,
      });
    };
  const writeIntegrationStatus = statusWriter(integrationResource);
  const writeTokenStatus = statusWriter(bearerTokenResource);
  // Secrets are read from the API, not the cache: a reconcile must see its own last write.
  const lookupSecret = (namespace: string, name: string) => secretStore.get(namespace, name);
  const apiFor = apiCache(deps, dispatcher);

  // With watchNamespaces set, only those namespaces' objects are reconciled.
  const watched = new Set(config.watchNamespaces);
  const accepts = (key: string) => watched.size === 0 || watched.has(key.slice(0, key.indexOf("/")));
  const controllers: Controller[] = [];
  const queue = (name: string, concurrency: number) =>
    createWorkQueue<string>({
      name,
      concurrency,
      maxDelayMs: config.maxBackoffMs,
      jitter: 0.1,
      clock,
      metrics,
      logger,
    });
  let started = false;
  const feeds: SecretFeed[] = [];
  const startControllers = () => {
    if (started) return;
    started = true;
    const integrationQueue = queue("datatrailsintegration", config.integrationConcurrency);
    controllers.push(
      startController({
        name: "datatrailsintegration",
        primary: integrations,
        accepts,
        queue: integrationQueue,
        logger,
        metrics,
        watches: [
          {
            informer: tokens,
            keysFor: (o) => ownerKeys(o, "DataTrailsIntegration"),
          },
          {
            informer: secrets,
            keysFor: (o) => ownerKeys(o, "DataTrailsIntegration"),
          },
          { informer: connections, keysFor: (c) => connectionUsers.referrersOf(keyOf(c)) },
          { informer: clusterConnections, keysFor: (c) => connectionUsers.referrersOf(keyOf(c)) },
        ],
        reconcile: integrationReconciler({
          getIntegration: (ns, name) =>
            objects.get<DataTrailsIntegration & KubernetesObject>(integrationResource, ns, name),
          getConnection: (ns, name) => connections.get(name, ns),
          getClusterConnection: (name) => clusterConnections.get(name),
          namespaceLabels: async (name) => (await core.readNamespace({ name })).metadata?.labels ?? {},
          lookupSecret,
          getBearerToken: (ns, name) => tokens.get(name, ns),
          apiFor,
          ownership,
          objects,
          secrets: secretStore,
          events,
          writeStatus: (obj, previous, next) => writeIntegrationStatus(obj, previous, next),
          clock,
          logger,
          metrics,
          options: { resyncIntervalMs: config.resyncIntervalMs, missingTargetRetryMs: 5 * 60_000 },
          ...(deps.crashPoint ? { crashPoint: deps.crashPoint } : {}),
        }),
      }),
    );
    const tokenQueue = queue("bearertoken", config.tokenConcurrency);
    controllers.push(
      startController({
        name: "bearertoken",
        primary: tokens,
        accepts,
        queue: tokenQueue,
        logger,
        metrics,
        watches: [
          {
            informer: secrets,
            keysFor: (s) => [...ownerKeys(s, "BearerToken"), ...tokenInputs.referrersOf(keyOf(s))],
          },
        ],
        reconcile: tokenReconciler({
          getToken: (ns, name) => tokens.get(name, ns),
          lookupSecret,
          ownership,
          secrets: secretStore,
          writeStatus: (obj, status) => writeTokenStatus(obj, obj.status, status),
          events,
          issuerFor: (spec, inputs) =>
            createIssuer(spec, inputs, { dispatcher, timeoutMs: config.dataTrailsTimeoutMs }),
          verify: (token, v) => verifyToken(token, v),
          clock,
          logger,
          metrics,
        }),
      }),
    );
    // Connections: Ready when the admin credentials work and carry OWNER (src/controllers/connection).
    const connectionWatchers: { keysFor: (s: KubernetesObject) => string[]; controller: Controller }[] = [];
    for (const c of connectionControllers({
      connections,
      clusterConnections,
      lookupSecret,
      apiFor,
      events,
      clock,
      logger,
      writeStatus: async (ref, obj, previous, status) => {
        const { namespace, name } = obj.metadata;
        const at = namespace ? { namespace, name } : { name };
        await patchStatus({ kubeConfig, ...ref, ...at, status, previous: previous ?? {} });
      },
      namespaceLabels: async (name) => (await core.readNamespace({ name })).metadata?.labels ?? {},
      watchNamespaces: config.watchNamespaces,
      options: { resyncIntervalMs: config.resyncIntervalMs },
    })) {
      const controller = startController({
        name: c.name,
        primary: c.primary,
        accepts: (key) => c.kind === "ClusterDataTrailsConnection" || accepts(key),
        queue: queue(c.name, 2),
        logger,
        metrics,
        watches: [{ informer: secrets, keysFor: c.keysFor }],
        reconcile: c.reconcile,
      });
      controllers.push(controller);
      connectionWatchers.push({ keysFor: c.keysFor, controller });
    }
    // Secrets the operator does not write (no managed-by label): inputs named by BearerTokens, and
    // output names that someone else's Secret occupies. Our own Secrets come through the informer.
    const [integrationController, tokenController] = controllers;
    const onSecret = ({
      namespace,
      name,
      labels,
    }: {
      namespace: string;
      name: string;
      labels: Readonly<Record<string, string>>;
    }) => {
      if (labels[managedByLabel] === managedByValue) return;
      const ref = `${namespace}/${name}`;
      for (const key of tokenInputs.referrersOf(ref)) tokenController?.enqueue(key);
      for (const key of failingIntegrationsOf(ref)) integrationController?.enqueue(key);
      for (const w of ownership.secretWriters(namespace, name))
        (w.kind === "BearerToken" ? tokenController : integrationController)?.enqueue(
          `${namespace}/${w.name}`,
        );
      for (const w of connectionWatchers)
        for (const key of w.keysFor({ metadata: { namespace, name } })) w.controller.enqueue(key);
    };
    const namespaces = config.watchNamespaces.length > 0 ? config.watchNamespaces : [undefined];
    feeds.push(
      ...namespaces.map((namespace) =>
        startSecretFeed({
          kubeConfig,
          ...(namespace ? { namespace } : {}),
          onChange: onSecret,
          logger,
          metrics,
          clock,
        }),
      ),
    );
    logger.info("controllers started");
  };

  await Promise.all(informers.map((i) => i.start()));
  const isReady = () => informers.every((i) => i.hasSynced());
  const health: HealthServer = await startHealthServer({
    port: config.healthPort,
    host: config.bindAddress,
    isReady,
    isAlive: () => true,
  });
  // Metrics on a port of their own, so a NetworkPolicy can open one without the other.
  const metricsServer: HealthServer = await startHealthServer({
    port: config.metricsPort,
    host: config.bindAddress,
    metrics,
    isReady,
    isAlive: () => true,
  });

  let election: LeaderElection | undefined;
  if (config.leaderElection) {
    election = startLeaderElection({
      kubeConfig,
      namespace: config.leaseNamespace,
      name: config.leaseName,
      identity: config.identity,
      leaseDurationMs: config.leaseDurationMs,
      renewDeadlineMs: config.renewDeadlineMs,
      retryPeriodMs: config.retryPeriodMs,
      clock,
      logger,
      metrics,
      onStartedLeading: startControllers,
      onStoppedLeading: deps.onLostLeadership,
    });
  } else {
    startControllers();
  }

  return {
    healthPort: health.port,
    metricsPort: metricsServer.port,
    isReady,
    async stop() {
      for (const feed of feeds) feed.stop();
      await Promise.all(controllers.map((c) => c.stop()));
      await election?.stop();
      await Promise.all(informers.map((i) => i.stop()));
      await health.close();
      await metricsServer.close();
      await dispatcher.close();
      await kubeConfig.close();
    },
  };
}
