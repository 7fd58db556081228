/**
 * Changes to Secrets the operator does not write (a user's client credentials, a JWT-bearer key,
 * a connection's admin Secret), without caching any Secret. The Secret informer watches only the
 * operator's own Secrets (by label); a user's Secret carries no label of ours, and caching every
 * Secret of the cluster to see it would hold every credential in memory.
 *
 * So this feed watches Secrets as metadata only (`PartialObjectMetadata`: name, namespace,
 * resourceVersion; never `data`) and keeps nothing but the resourceVersion to resume from. Each
 * event is handed to `onChange(namespace, name)`; the caller looks the name up in an index of the
 * Secrets its objects reference and wakes those, so an edited or rotated input takes effect at once.
 * A watch that cannot resume (410 Gone) starts afresh from resourceVersion 0, for which the API
 * server replays every current Secret's metadata as ADDED: nothing missed stays unseen. Errors
 * restart the watch with backoff, counted in informer_restarts_total{informer="secret-feed"}.
 */
import { Watch, type KubeConfig, type RequestContext } from "@kubernetes/client-node";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import { createRealClock, type Clock, type TimerHandle } from "./clock.ts";
import { toKubeError } from "./errors.ts";
import { nextRestartDelayMs } from "./informer.ts";

const metadataAccept = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";

/** Options of {@link startSecretFeed}. */
export interface SecretFeedOptions {
  kubeConfig: KubeConfig;
  /** One namespace (an operator limited to some); cluster-wide when absent. */
  namespace?: string;
  /** A Secret changed, was created or was deleted; its labels help callers skip their own. */
  onChange(secret: SecretMetadataChange): void;
  logger: Logger;
  metrics?: Metrics;
  clock?: Clock;
}

/** One event of the feed: the Secret's name, labels and resourceVersion (never its data). */
export interface SecretMetadataChange {
  namespace: string;
  name: string;
  labels: Readonly<Record<string, string>>;
  resourceVersion?: string;
  /** The event was a deletion. */
  deleted: boolean;
}

/** A running feed. */
export interface SecretFeed {
  /** Resolves once the first watch is established. */
  started: Promise<void>;
  stop(): void;
}

interface MetadataEvent {
  type: string;
  object?: {
    metadata?: {
      name?: string;
      namespace?: string;
      resourceVersion?: string;
      labels?: Record<string, string>;
    };
    code?: number;
  };
}

/** A KubeConfig view whose requests ask the API server for `accept` (metadata only, for one). */
export function withAccept(kubeConfig: KubeConfig, accept: string): KubeConfig {
  const view = Object.create(kubeConfig) as KubeConfig;
  view.applySecurityAuthentication = async (ctx: RequestContext) => {
    await kubeConfig.applySecurityAuthentication(ctx);
    ctx.setHeaderParam("Accept", accept);
  };
  return view;
}

/** Starts the feed; see the module comment. */
export function startSecretFeed(options: SecretFeedOptions): SecretFeed {
  const { kubeConfig, logger } = options;
  const clock = options.clock ?? createRealClock();
  const name = options.namespace ? `secret-feed/${options.namespace}` : "secret-feed";
  const path = options.namespace ? `/api/v1/namespaces/${options.namespace}/secrets` : "/api/v1/secrets";
  const watch = new Watch(withAccept(kubeConfig, metadataAccept));
  const backoff = { initialMs: 1_000, maxMs: 30_000, healthyResetMs: 60_000 };
  let resourceVersion: string | undefined;
  let stopped = false;
  let abort: (() => void) | undefined;
  let timer: TimerHandle | undefined;
  let delayMs = 0;
  let startedAt = 0;
  let startedOnce = false;
  const started = Promise.withResolvers<void>();
  started.promise.catch(() => undefined);

  function restart(err: unknown, fresh: boolean) {
    abort = undefined;
    if (stopped || timer !== undefined) return;
    if (fresh) resourceVersion = undefined;
    // A clean close (the server's watch timeout) resumes at once; a failure backs off.
    delayMs = err ? nextRestartDelayMs(delayMs, clock.now() - startedAt, backoff) : 0;
    if (err) {
      options.metrics?.informerRestartsTotal.labels({ informer: name }).inc();
      logger.warn(
        { informer: name, err: toKubeError(err, `watch ${name}`), retryInMs: delayMs },
        "watch stopped; restarting",
      );
    }
    timer = clock.setTimeout(
      () => {
        timer = undefined;
        void run();
      },
      Math.max(100, delayMs),
    );
  }

  async function run(): Promise<void> {
    if (stopped) return;
    startedAt = clock.now();
    try {
      let gone = false;
      const request = await watch.watch(
        path,
        // "0" (a fresh start): the API server first sends every current Secret's metadata as ADDED,
        // so whatever changed while no watch ran is seen too; nothing of it is kept.
        { resourceVersion: resourceVersion ?? "0", allowWatchBookmarks: true },
        (type: string, object: MetadataEvent["object"]) => {
          if (type === "ERROR") {
            gone = object?.code === 410;
            return;
          }
          const meta = object?.metadata;
          if (meta?.resourceVersion) resourceVersion = meta.resourceVersion;
          if (type === "BOOKMARK" || !meta?.name) return;
          options.onChange({
            namespace: meta.namespace ?? options.namespace ?? "",
            name: meta.name,
            labels: meta.labels ?? {},
            ...(meta.resourceVersion ? { resourceVersion: meta.resourceVersion } : {}),
            deleted: type === "DELETED",
          });
        },
        (err: unknown) => restart(gone ? null : err, gone),
      );
      abort = () => request.abort();
      if (!startedOnce) {
        startedOnce = true;
        started.resolve();
      }
    } catch (err) {
      restart(err, false);
    }
  }

  void run();
  return {
    started: started.promise,
    stop() {
      stopped = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
      abort?.();
      if (!startedOnce) started.reject(new Error(`${name} stopped before it started`));
    },
  };
}
