/**
 * Informers that never die silently. @kubernetes/client-node's ListWatch re-lists on 410 Gone and
 * reconnects after a clean close, but on any other error (connection refused while the API server
 * restarts, a 500, a failed list) it emits `error` and stops for good: the cache goes stale and the
 * controller stops hearing about changes without a word. This wrapper restarts it with exponential
 * backoff (1 s doubling to 30 s, reset after a healthy minute), logs each restart at warn (the
 * error serialized without bodies) and counts it in `informer_restarts_total{informer}`.
 *
 * A restart resumes the watch from the last resourceVersion the cache saw, so nothing in between is
 * missed; when that version is too old the API server answers 410 and ListWatch lists afresh, sending
 * `delete` for objects that disappeared meanwhile.
 *
 * With a `cacheShape`, every object is reduced to what the controllers read (cache-shape.ts) before
 * the cache stores it, both from the list and from each watch event: the cache never holds the
 * managed fields and other unread parts, and handlers see the objects exactly as `get` returns them.
 */
import {
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from "@kubernetes/client-node";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import { shapeForCache, type CacheShape } from "./cache-shape.ts";
import { createRealClock, type Clock, type TimerHandle } from "./clock.ts";
import { toKubeError } from "./errors.ts";

/** The object events an informer delivers. */
export type InformerEvent = "add" | "update" | "delete";

/** Options for {@link createResilientInformer}. */
export interface ResilientInformerOptions<T extends KubernetesObject> {
  /** Names the informer in logs and metrics, e.g. `secrets`. */
  name: string;
  kubeConfig: KubeConfig;
  /** The collection to watch, e.g. `/api/v1/secrets` or `/apis/datatrails.ai/v1alpha1/namespaces/x/bearertokens`. */
  path: string;
  /** Lists the same collection, with the same label selector as `labelSelector`. */
  listFn: () => Promise<KubernetesListObject<T>>;
  /** Restricts the watch (e.g. to Secrets the operator manages); `listFn` must use the same selector. */
  labelSelector?: string;
  /** What the cache keeps of each object; the whole object when absent. */
  cacheShape?: CacheShape<T>;
  logger: Logger;
  metrics?: Metrics;
  clock?: Clock;
  /** First restart delay; default 1 s. */
  initialBackoffMs?: number;
  /** Longest restart delay; default 30 s. */
  maxBackoffMs?: number;
  /** A run this long without an error resets the backoff; default 60 s. */
  healthyResetMs?: number;
}

/** A cache of one collection kept current by list + watch, restarted whenever it fails. */
export interface ResilientInformer<T extends KubernetesObject> {
  /** Starts listing and watching; resolves once the first list is in the cache (retrying until it is). */
  start(): Promise<void>;
  /** Stops watching and cancels pending restarts; a pending `start()` rejects. */
  stop(): Promise<void>;
  /** True once the first list has been loaded into the cache (and from then on). */
  hasSynced(): boolean;
  /** Every cached object. */
  list(): T[];
  /** The cached object, if any. */
  get(name: string, namespace?: string): T | undefined;
  /** Registers a callback; a callback that throws is logged and does not disturb the informer. */
  on(event: InformerEvent, fn: (obj: T) => void): void;
  /** How many times the informer has been restarted after an error. */
  restarts(): number;
}

/** Backoff settings of {@link nextRestartDelayMs}. */
export interface RestartBackoff {
  initialMs: number;
  maxMs: number;
  /** A run at least this long counts as healthy and resets the backoff. */
  healthyResetMs: number;
}

/**
 * The delay before the next restart: the initial delay after the first failure or after a healthy
 * run, otherwise double the previous one, capped.
 */
export function nextRestartDelayMs(previousMs: number, ranMs: number, backoff: RestartBackoff): number {
  if (previousMs <= 0 || ranMs >= backoff.healthyResetMs) return backoff.initialMs;
  return Math.min(previousMs * 2, backoff.maxMs);
}

/** A watch whose ADDED, MODIFIED and DELETED objects are shaped before the cache sees them. */
class ShapingWatch<T extends KubernetesObject> extends Watch {
  readonly #shape: (obj: T) => T;

  constructor(kubeConfig: KubeConfig, shape: (obj: T) => T) {
    super(kubeConfig);
    this.#shape = shape;
  }

  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    // client-node's own signature.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    callback: (phase: string, apiObj: any) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const shape = this.#shape;
    return super.watch(
      path,
      queryParams,
      (phase: string, apiObj: T) =>
        callback(
          phase,
          phase === "ADDED" || phase === "MODIFIED" || phase === "DELETED" ? shape(apiObj) : apiObj,
        ),
      done,
    );
  }
}

/** Wraps client-node's informer so that it restarts after errors; see the module comment. */
export function createResilientInformer<T extends KubernetesObject>(
  options: ResilientInformerOptions<T>,
): ResilientInformer<T> {
  const { name, logger, metrics } = options;
  const clock = options.clock ?? createRealClock();
  const backoff: RestartBackoff = {
    initialMs: options.initialBackoffMs ?? 1_000,
    maxMs: options.maxBackoffMs ?? 30_000,
    healthyResetMs: options.healthyResetMs ?? 60_000,
  };

  const { cacheShape } = options;
  const shape = cacheShape ? (obj: T) => shapeForCache(obj, cacheShape) : (obj: T) => obj;
  let listedOnce = false;
  const informer = new ListWatch<T>(
    options.path,
    cacheShape ? new ShapingWatch<T>(options.kubeConfig, shape) : new Watch(options.kubeConfig),
    async () => {
      const list = await options.listFn();
      listedOnce = true;
      return cacheShape ? { ...list, items: list.items.map(shape) } : list;
    },
    false,
    options.labelSelector,
  );

  let started = false;
  let stopped = false;
  let synced = false;
  let restartCount = 0;
  let backoffMs = 0;
  let lastStartMs = 0;
  let restartTimer: TimerHandle | undefined;
  const sync = Promise.withResolvers<void>();
  // A start() that is never awaited must not turn a stop() into an unhandled rejection.
  sync.promise.catch(() => undefined);

  const run = async () => {
    if (stopped) return;
    lastStartMs = clock.now();
    try {
      await informer.start();
    } catch (err) {
      onError(err);
    }
    if (listedOnce && !synced && !stopped) {
      synced = true;
      sync.resolve();
    }
  };

  function onError(err: unknown) {
    if (stopped || restartTimer !== undefined) return;
    backoffMs = nextRestartDelayMs(backoffMs, clock.now() - lastStartMs, backoff);
    restartCount++;
    metrics?.informerRestartsTotal.labels({ informer: name }).inc();
    logger.warn(
      {
        informer: name,
        err: toKubeError(err, `watch ${name}`),
        retryInMs: backoffMs,
        restarts: restartCount,
      },
      "informer stopped on an error; restarting",
    );
    restartTimer = clock.setTimeout(() => {
      restartTimer = undefined;
      void run();
    }, backoffMs);
  }

  informer.on("error", onError);

  return {
    start() {
      if (!started) {
        started = true;
        void run();
      }
      return sync.promise;
    },
    async stop() {
      stopped = true;
      if (restartTimer !== undefined) clock.clearTimeout(restartTimer);
      restartTimer = undefined;
      if (!synced) sync.reject(new Error(`informer ${name} stopped before its first list`));
      await informer.stop();
    },
    hasSynced: () => synced,
    list: () => [...informer.list()],
    get: (objectName, namespace) => informer.get(objectName, namespace),
    on(event, fn) {
      informer.on(event, (obj: T) => {
        try {
          fn(obj);
        } catch (err) {
          logger.error({ informer: name, event, err }, "informer callback threw");
        }
      });
    },
    restarts: () => restartCount,
  };
}
