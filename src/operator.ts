/**
 * The operator, assembled: the informers, the shared ports, the controllers each module declares
 * (controllers/*\/definition.ts), the metadata-only Secret watch, leader election, and the health
 * and metrics servers. `run` (src/cli/run.ts) starts it from flags; tests may start it in-process.
 */
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { Agent } from "undici";
import { managedByLabel, managedByValue } from "./api/v1alpha1/index.ts";
import type { Config } from "./config.ts";
import { connectionDefinitions } from "./controllers/connection/definition.ts";
import type { ControllerContext, ControllerDefinition } from "./controllers/context.ts";
import { startController, type Controller } from "./controllers/controller.ts";
import { integrationDefinition } from "./controllers/integration/definition.ts";
import { informerOwnership } from "./controllers/ownership.ts";
import { tokenDefinition } from "./controllers/token/definition.ts";
import { dataTrailsClientCache } from "./datatrails/client-cache.ts";
import { createRealClock, type Clock } from "./k8s/clock.ts";
import { KubeCustomObjects } from "./k8s/custom-objects.ts";
import { createKubeEventRecorder } from "./k8s/events.ts";
import { createInformers } from "./k8s/informers.ts";
import { startLeaderElection, type LeaderElection } from "./k8s/leader-election.ts";
import { PooledKubeConfig } from "./k8s/pooled-kube-config.ts";
import { startSecretFeed, type SecretFeed } from "./k8s/secret-feed.ts";
import { KubeSecretStore } from "./k8s/secrets.ts";
import { patchStatus } from "./k8s/status.ts";
import { createWorkQueue } from "./k8s/work-queue.ts";
import { startHealthServer } from "./observability/health.ts";
import type { Logger } from "./observability/logger.ts";
import type { Metrics } from "./observability/metrics.ts";
import { createIssuer } from "./tokens/factory.ts";

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

/** The shared ports and caches every controller is built from. */
function buildContext(deps: OperatorDeps, kubeConfig: KubeConfig, dispatcher: Agent): ControllerContext {
  const { config, logger, metrics } = deps;
  const clock = deps.clock ?? createRealClock();
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const informers = createInformers({ kubeConfig, watchNamespaces: config.watchNamespaces, logger, metrics });
  const secrets = new KubeSecretStore(kubeConfig);
  return {
    config,
    informers,
    ownership: informerOwnership(informers.integrations, informers.tokens),
    objects: new KubeCustomObjects(kubeConfig),
    secrets,
    // Secrets are read from the API, not the cache: a reconcile must see its own last write.
    lookupSecret: (namespace, name) => secrets.get(namespace, name),
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
      createIssuer(spec, inputs, { dispatcher, timeoutMs: config.dataTrailsTimeoutMs }),
    events: createKubeEventRecorder({ kubeConfig, identity: config.identity, logger, clock }),
    clock,
    logger,
    metrics,
    ...(deps.crashPoint ? { crashPoint: deps.crashPoint } : {}),
  };
}

/** Starts the declared controllers and the Secret watch that wakes them; returns what stop() ends. */
function startControllers(
  ctx: ControllerContext,
  definitions: ControllerDefinition[],
  kubeConfig: KubeConfig,
) {
  const { config, logger, metrics, clock } = ctx;
  // With watchNamespaces set, only those namespaces' objects are reconciled.
  const watched = new Set(config.watchNamespaces);
  const inWatched = (key: string) => watched.size === 0 || watched.has(key.slice(0, key.indexOf("/")));
  const running = definitions.map((d) => ({
    definition: d,
    controller: startController({
      name: d.name,
      primary: d.primary,
      watches: d.watches,
      accepts: d.accepts ?? inWatched,
      queue: createWorkQueue<string>({
        name: d.name,
        concurrency: d.concurrency,
        requeueMaxDelayMs: config.maxBackoffMs,
        requeueJitter: 0.1,
        clock,
        metrics,
        logger,
      }),
      reconcile: (key) => d.reconcile(key),
      logger,
      metrics,
    }),
  }));
  // Secrets the operator does not write (no managed-by label); its own come through the informer.
  const onChange = (s: { namespace: string; name: string; labels: Readonly<Record<string, string>> }) => {
    if (s.labels[managedByLabel] === managedByValue) return;
    for (const { definition, controller } of running)
      for (const key of definition.secretKeys(s.namespace, s.name)) controller.enqueue(key);
  };
  const namespaces = config.watchNamespaces.length > 0 ? config.watchNamespaces : [undefined];
  const feeds: SecretFeed[] = namespaces.map((namespace) =>
    startSecretFeed({ kubeConfig, ...(namespace ? { namespace } : {}), onChange, logger, metrics, clock }),
  );
  logger.info("controllers started");
  const controllers: Controller[] = running.map((r) => r.controller);
  return { controllers, feeds };
}

/** Starts the operator: serves health at once, works once it leads (or at once without election). */
export async function startOperator(given: OperatorDeps): Promise<Operator> {
  // One connection pool for every Kubernetes request and watch (see pooled-kube-config.ts).
  const kubeConfig = PooledKubeConfig.from(given.kubeConfig);
  const { config, logger, metrics } = given;
  const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 32 });
  const ctx = buildContext(given, kubeConfig, dispatcher);
  // Declared before the informers start: the definitions index the first lists too.
  const definitions = [integrationDefinition(ctx), tokenDefinition(ctx), ...connectionDefinitions(ctx)];
  let started: ReturnType<typeof startControllers> | undefined;
  const start = () => {
    started ??= startControllers(ctx, definitions, kubeConfig);
  };

  const { all } = ctx.informers;
  await Promise.all(all.map((i) => i.start()));
  const isReady = () => all.every((i) => i.hasSynced());
  const health = await startHealthServer({
    port: config.healthPort,
    host: config.bindAddress,
    isReady,
    isAlive: () => true,
  });
  // Metrics on a port of their own, so a NetworkPolicy can open one without the other.
  const metricsServer = await startHealthServer({
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
      clock: ctx.clock,
      logger,
      metrics,
      onStartedLeading: start,
      onStoppedLeading: given.onLostLeadership,
    });
  } else {
    start();
  }

  return {
    healthPort: health.port,
    metricsPort: metricsServer.port,
    isReady,
    async stop() {
      for (const feed of started?.feeds ?? []) feed.stop();
      await Promise.all((started?.controllers ?? []).map((c) => c.stop()));
      await election?.stop();
      await Promise.all(all.map((i) => i.stop()));
      await health.close();
      await metricsServer.close();
      await dispatcher.close();
      await kubeConfig.close();
    },
  };
}
