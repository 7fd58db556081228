/**
 * The operator, assembled: the shared context and the controllers each module declares
 * (controllers/*\/definition.ts, started by controllers/manager.ts), leader election, and the health
 * and metrics servers. `run` (src/cli/run.ts) starts it from flags; tests may start it in-process.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { Agent } from "undici";
import type { Config } from "./config.ts";
import { connectionDefinitions } from "./controllers/connection/definition.ts";
import type { ControllerContext } from "./controllers/context.ts";
import { integrationDefinition } from "./controllers/integration/definition.ts";
import { reloadDefinitions } from "./controllers/reload/definition.ts";
import { createControllerContext, startControllers } from "./controllers/manager.ts";
import { reportShardGauges } from "./controllers/sharding.ts";
import { tokenDefinition } from "./controllers/token/definition.ts";
import { createRealClock, type Clock, type TimerHandle } from "./k8s/clock.ts";
import { startLeaderElection, type LeaderElection } from "./k8s/leader-election.ts";
import { PooledKubeConfig } from "./k8s/pooled-kube-config.ts";
import { ownServiceAccount, serviceAccountOwner } from "./k8s/service-account.ts";
import { createShardGate, gatedDispatcher, type ShardGate } from "./k8s/shard-gate.ts";
import { startShardLeases } from "./k8s/shard-leases.ts";
import { startHealthServer } from "./observability/health.ts";
import type { Logger } from "./observability/logger.ts";
import type { Metrics } from "./observability/metrics.ts";

/** What the operator needs from outside. */
export interface OperatorDeps {
  config: Readonly<Config>;
  kubeConfig: KubeConfig;
  logger: Logger;
  metrics: Metrics;
  clock?: Clock;
  /** Test-only fault injection: called after each step --fault-crash-at can name (an integration action, after:PublishToken, after:RollWorkload). */
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

/** /healthz and /readyz, and /metrics on a port of its own so a NetworkPolicy can open one alone. */
async function startServers(config: Readonly<Config>, metrics: Metrics, isReady: () => boolean) {
  const common = { host: config.bindAddress, isReady, isAlive: () => true };
  const health = await startHealthServer({ port: config.healthPort, ...common });
  const metricsServer = await startHealthServer({ port: config.metricsPort, metrics, ...common });
  return {
    health,
    metricsServer,
    close: async () => {
      await health.close();
      await metricsServer.close();
    },
  };
}

/** Runs `start` once this replica leads (or at once without election); undefined without election. */
function leadThenStart(
  ctx: ControllerContext,
  kubeConfig: KubeConfig,
  start: () => void,
  onLostLeadership: () => void,
): LeaderElection | undefined {
  const { config, clock, logger, metrics } = ctx;
  if (!config.leaderElection) {
    start();
    return undefined;
  }
  const owner = serviceAccountOwner(ownServiceAccount(), config.leaseNamespace);
  return startLeaderElection({
    kubeConfig,
    ...(owner ? { owner } : {}),
    namespace: config.leaseNamespace,
    name: config.leaseName,
    identity: config.identity,
    leaseDurationMs: config.leaseDurationMs,
    renewDeadlineMs: config.renewDeadlineMs,
    retryPeriodMs: config.retryPeriodMs,
    clock,
    logger,
    metrics,
    onStartedLeading: start,
    onStoppedLeading: onLostLeadership,
  });
}

/**
 * Starts the shard Lease loop. A shard taken starts its informers and, once they have synced,
 * enqueues its objects; a shard lost stops them. The per-shard gauges follow every retry period.
 */
function startSharding(
  ctx: ControllerContext,
  kubeConfig: KubeConfig,
  gate: ShardGate,
  ready: Set<number>,
  started: ReturnType<typeof startControllers>,
): { stop: () => Promise<void> } {
  const { config, clock, logger, metrics } = ctx;
  const perShard = ctx.informers.sharded?.perShard ?? [];
  const owner = serviceAccountOwner(ownServiceAccount(), config.leaseNamespace);
  const leases = startShardLeases({
    kubeConfig,
    ...(owner ? { owner } : {}),
    namespace: config.leaseNamespace,
    leaseName: config.leaseName,
    identity: config.identity,
    shards: config.shards,
    leaseDurationMs: config.leaseDurationMs,
    renewDeadlineMs: config.renewDeadlineMs,
    retryPeriodMs: config.retryPeriodMs,
    gate,
    clock,
    logger,
    metrics,
    onGained: (shard) => {
      Promise.all(perShard.map((i) => i.addShard(shard))).then(
        () => {
          ready.add(shard);
          started.enqueueShard(shard);
        },
        (err: unknown) => logger.warn({ err, shard }, "a shard's informers stopped before their first list"),
      );
    },
    onLost: (shard) => {
      ready.delete(shard);
      void Promise.all(perShard.map((i) => i.removeShard(shard)));
    },
  });
  let timer: TimerHandle | undefined;
  const report = () => {
    reportShardGauges(ctx, started.queues, config.shards, leases.held());
    timer = clock.setTimeout(report, config.retryPeriodMs);
  };
  report();
  return {
    stop: async () => {
      if (timer !== undefined) clock.clearTimeout(timer);
      await leases.stop();
    },
  };
}

/** Starts the operator: serves health at once, works once it leads (or at once without election). */
export async function startOperator(given: OperatorDeps): Promise<Operator> {
  const sharded = given.config.shards > 1;
  const clock = given.clock ?? createRealClock();
  // With shards, every write is fenced by the gate of the shard its reconcile runs for (shard-gate.ts).
  const gate = sharded ? createShardGate(clock, given.config.renewDeadlineMs) : undefined;
  // One connection pool for every Kubernetes request and watch (see pooled-kube-config.ts).
  const kubeConfig = PooledKubeConfig.from(
    given.kubeConfig,
    gate ? (method) => gate.checkWrite(`${method} to Kubernetes`) : undefined,
  );
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 32 });
  const dispatcher = gate ? gatedDispatcher(agent, gate) : agent;
  const ctx = createControllerContext({ ...given, clock, ...(gate ? { gate } : {}) }, kubeConfig, dispatcher);
  // Declared before the informers start: the definitions index the first lists too.
  const definitions = [
    integrationDefinition(ctx),
    tokenDefinition(ctx),
    ...connectionDefinitions(ctx),
    ...reloadDefinitions(ctx),
  ];
  let started: ReturnType<typeof startControllers> | undefined;

  const { all } = ctx.informers;
  await Promise.all(all.map((i) => i.start()));
  const isReady = () => all.every((i) => i.hasSynced());
  const servers = await startServers(given.config, given.metrics, isReady);
  if (gate) {
    // Every replica runs the controllers; each reconciles only the shards it holds.
    const ready = new Set<number>();
    const shards = given.config.shards;
    started = startControllers(ctx, definitions, kubeConfig, { shards, gate, ready: (k) => ready.has(k) });
    const sharding = startSharding(ctx, kubeConfig, gate, ready, started);
    const running = started;
    return {
      healthPort: servers.health.port,
      metricsPort: servers.metricsServer.port,
      isReady,
      async stop() {
        for (const feed of running.feeds) feed.stop();
        await Promise.all(running.controllers.map((c) => c.stop()));
        await sharding.stop();
        await Promise.all(all.map((i) => i.stop()));
        await servers.close();
        await agent.close();
        await kubeConfig.close();
      },
    };
  }
  const election = leadThenStart(
    ctx,
    kubeConfig,
    () => (started ??= startControllers(ctx, definitions, kubeConfig)),
    given.onLostLeadership,
  );

  return {
    healthPort: servers.health.port,
    metricsPort: servers.metricsServer.port,
    isReady,
    async stop() {
      for (const feed of started?.feeds ?? []) feed.stop();
      await Promise.all((started?.controllers ?? []).map((c) => c.stop()));
      await election?.stop();
      await Promise.all(all.map((i) => i.stop()));
      await servers.close();
      await agent.close();
      await kubeConfig.close();
    },
  };
}
