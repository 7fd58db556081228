/**
 * Every Prometheus metric the operator exports, on a registry of its own (so tests can build as many
 * as they like). docs/metrics.md lists them. Labels are bounded and never carry a secret, a token, a
 * client id or a URL with ids: `endpoint` is a route template such as `POST /applications`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** The registry and the typed metric handles modules record into. */
export interface Metrics {
  registry: Registry;
  /** Expiry of the token in each token Secret, as a Unix time in seconds. */
  tokenExpiryTimestampSeconds: Gauge<"namespace" | "name">;
  /** When each integration's client secret stops working (DataTrails' valid_until), as a Unix time in seconds. */
  clientSecretValidUntilTimestampSeconds: Gauge<"namespace" | "name">;
  clientSecretRotationDueTimestampSeconds: Gauge<"namespace" | "name">;
  /** Token requests by issuer kind and result. */
  tokenRefreshTotal: Counter<"namespace" | "issuer" | "result">;
  /** Reconcile durations by controller and result. */
  reconcileDurationSeconds: Histogram<"controller" | "result">;
  /** Requests to DataTrails by route template and HTTP status (or `error`). */
  apiRequestsTotal: Counter<"endpoint" | "code">;
  /** Latency of requests to DataTrails by route template. */
  apiRequestDurationSeconds: Histogram<"endpoint">;
  /** Keys ready to be processed, per work queue. */
  workqueueDepth: Gauge<"name">;
  /** Keys added, per work queue. */
  workqueueAddsTotal: Counter<"name">;
  /** Keys requeued with backoff after a failure, per work queue. */
  workqueueRetriesTotal: Counter<"name">;
  /** How long handlers take, per work queue. */
  workqueueWorkDurationSeconds: Histogram<"name">;
  /** Informer restarts after a watch or list failure. */
  informerRestartsTotal: Counter<"informer">;
  /** 1 while this process holds the leader lease, else 0. */
  leaderElectionIsLeader: Gauge<"name">;
  /** 1 while this replica holds shard k's Lease with its write gate open, else 0 (--shards > 1). */
  shardLeaseHeld: Gauge<"shard">;
  /** Objects of each kind this replica caches, by shard. */
  shardObjects: Gauge<"shard" | "kind">;
  /** Keys due now in each controller's queue, by the shard they belong to. */
  shardQueueDepth: Gauge<"shard" | "controller">;
  /** How far past its nextRefreshAt the most overdue token of each held shard is, in seconds (0 when none). */
  shardRefreshLagSeconds: Gauge<"shard">;
  /** Corrections held back by the write-loop breaker (a write to DataTrails that did not stick). */
  correctionsStoppedTotal: Counter<"namespace" | "target">;
}

/** Options for {@link createMetrics}. */
export interface MetricsOptions {
  /** Whether to add Node's process metrics (CPU, memory, event loop lag); default true. */
  defaultMetrics?: boolean;
}

/** Builds a registry with every operator metric (and Node's default metrics unless turned off). */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return {
    registry,
    tokenExpiryTimestampSeconds: new Gauge({
      name: "datatrails_token_expiry_timestamp_seconds",
      help: "Expiry of the token held in a token Secret, as a Unix time in seconds.",
      labelNames: ["namespace", "name"],
      registers,
    }),
    clientSecretValidUntilTimestampSeconds: new Gauge({
      name: "datatrails_client_secret_valid_until_timestamp_seconds",
      help: "When the client secret of a DataTrailsIntegration expires (valid_until), as a Unix time in seconds.",
      labelNames: ["namespace", "name"],
      registers,
    }),
    clientSecretRotationDueTimestampSeconds: new Gauge({
      name: "datatrails_client_secret_rotation_due_timestamp_seconds",
      help:
        "When the operator will rotate the client secret of a DataTrailsIntegration (secretRotation " +
        "BeforeExpiry: valid_until minus renewBeforeDays), as a Unix time in seconds. Absent under Never.",
      labelNames: ["namespace", "name"],
      registers,
    }),
    tokenRefreshTotal: new Counter({
      name: "datatrails_token_refresh_total",
      help: "Token requests, by namespace, issuer kind and result (success or a failure reason).",
      labelNames: ["namespace", "issuer", "result"],
      registers,
    }),
    reconcileDurationSeconds: new Histogram({
      name: "datatrails_reconcile_duration_seconds",
      help: "Time one reconcile took, by controller and result (success, error, requeue).",
      labelNames: ["controller", "result"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    apiRequestsTotal: new Counter({
      name: "datatrails_api_requests_total",
      help: "Requests to DataTrails, by route template and HTTP status code (or error).",
      labelNames: ["endpoint", "code"],
      registers,
    }),
    apiRequestDurationSeconds: new Histogram({
      name: "datatrails_api_request_duration_seconds",
      help: "Latency of requests to DataTrails, by route template.",
      labelNames: ["endpoint"],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    workqueueDepth: new Gauge({
      name: "workqueue_depth",
      help: "Keys waiting to be processed (not counting scheduled ones), per work queue.",
      labelNames: ["name"],
      registers,
    }),
    workqueueAddsTotal: new Counter({
      name: "workqueue_adds_total",
      help: "Keys added to a work queue (immediately or when a scheduled add fires).",
      labelNames: ["name"],
      registers,
    }),
    workqueueRetriesTotal: new Counter({
      name: "workqueue_retries_total",
      help: "Keys requeued with per-key exponential backoff after a failed handler.",
      labelNames: ["name"],
      registers,
    }),
    workqueueWorkDurationSeconds: new Histogram({
      name: "workqueue_work_duration_seconds",
      help: "Time a handler took to process one key, per work queue.",
      labelNames: ["name"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    informerRestartsTotal: new Counter({
      name: "informer_restarts_total",
      help: "Informer restarts after its list or watch failed with an error other than 410 Gone.",
      labelNames: ["informer"],
      registers,
    }),
    leaderElectionIsLeader: new Gauge({
      name: "leader_election_is_leader",
      help: "1 while this process holds the named leader election lease, else 0.",
      labelNames: ["name"],
      registers,
    }),
    shardLeaseHeld: new Gauge({
      name: "datatrails_shard_lease_held",
      help: "1 while this replica holds the shard's Lease and may write for it, else 0.",
      labelNames: ["shard"],
      registers,
    }),
    shardObjects: new Gauge({
      name: "datatrails_shard_objects",
      help: "Objects of each kind this replica caches, by shard (with per-shard informers: its shards only).",
      labelNames: ["shard", "kind"],
      registers,
    }),
    shardQueueDepth: new Gauge({
      name: "datatrails_shard_queue_depth",
      help: "Keys waiting for a worker, by controller and by the shard they belong to.",
      labelNames: ["shard", "controller"],
      registers,
    }),
    shardRefreshLagSeconds: new Gauge({
      name: "datatrails_shard_refresh_lag_seconds",
      help: "How far past its nextRefreshAt the most overdue BearerToken of the shard is (0 when none).",
      labelNames: ["shard"],
      registers,
    }),
    correctionsStoppedTotal: new Counter({
      name: "datatrails_corrections_stopped_total",
      help: "Writes to DataTrails held back because the same correction did not stick after 3 tries.",
      labelNames: ["namespace", "target"],
      registers,
    }),
  };
}
