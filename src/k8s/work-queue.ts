/**
 * A rate-limited, delaying work queue with client-go's semantics, since @kubernetes/client-node has
 * none. Controllers enqueue `namespace/name` keys; the queue guarantees:
 *
 * - a key waits in the queue at most once (adds are de-duplicated);
 * - no two handlers process one key at once: a key added while it is processed is marked dirty and
 *   processed again once the running handler returns;
 * - at most `concurrency` handlers run at once;
 * - `addAfter` keeps only the earliest pending time per key, and `add` makes a key due at once;
 * - a handler that throws is requeued with the per-key requeue backoff (exponential, base doubling
 *   to a cap); one that returns `requeueAfterMs` is forgotten and scheduled; one that succeeds is
 *   forgotten. (The requeue backoff spaces whole reconciles; the DataTrails client's request retry,
 *   src/datatrails/request-retry.ts, re-sends one HTTP call within a reconcile.)
 * - a delay of zero, a negative delay or NaN means "now, once": no timer loops on it;
 * - `shutdown()` takes no new work and waits for the handlers that are running.
 */
import type { Metrics } from "../observability/metrics.ts";
import type { Logger } from "../observability/logger.ts";
import type { Clock, TimerHandle } from "./clock.ts";

/** What a handler may ask for: process this key again after a delay. */
export type WorkResult = { requeueAfterMs?: number } | void;

/** Processes one key. Throwing means "requeue with backoff". */
export type WorkHandler<K extends string> = (key: K) => Promise<WorkResult>;

/** Options for {@link createWorkQueue}. */
export interface WorkQueueOptions {
  /** Names the queue in metrics and logs. */
  name: string;
  /** Most handlers running at once (≥ 1). */
  concurrency: number;
  /** First requeue backoff after a failure; default 5 ms. */
  requeueBaseDelayMs?: number;
  /** Requeue backoff cap; default 60 s. */
  requeueMaxDelayMs?: number;
  /** Spread each requeue backoff by up to this fraction (0..1) so failing keys do not retry in step; default 0. */
  requeueJitter?: number;
  /** Random source for jitter, in [0, 1); default Math.random. */
  random?: () => number;
  clock: Clock;
  metrics?: Metrics;
  /** Receives a debug line per failed handler (the error, serialized without bodies). */
  logger?: Logger;
}

/** A work queue (see the module comment for its rules). */
export interface WorkQueue<K extends string> {
  /** Makes `key` due now (cancelling a scheduled add, which would be later). */
  add(key: K): void;
  /** Makes `key` due after `delayMs`, unless it is already due as early or earlier. */
  addAfter(key: K, delayMs: number): void;
  /** Makes `key` due after its next requeue backoff delay and counts a retry. */
  addRateLimited(key: K): void;
  /** Resets the key's requeue backoff (after a success). */
  forget(key: K): void;
  /** How many times the key has been requeued with backoff since it was last forgotten. */
  numRequeues(key: K): number;
  /** Starts processing with `handler`; call once. */
  start(handler: WorkHandler<K>): void;
  /** Stops taking work, cancels scheduled adds and resolves when running handlers have returned. */
  shutdown(): Promise<void>;
  /** Keys due now and waiting for a worker. */
  readonly length: number;
  /** The keys due now and waiting for a worker, in order (for per-shard depth). */
  dueKeys(): readonly K[];
}

/** Creates a work queue; nothing runs until `start`. */
export function createWorkQueue<K extends string>(options: WorkQueueOptions): WorkQueue<K> {
  const { name, clock, metrics, logger } = options;
  const concurrency = Math.max(1, Math.floor(options.concurrency));
  const baseDelayMs = options.requeueBaseDelayMs ?? 5;
  const maxDelayMs = options.requeueMaxDelayMs ?? 60_000;
  const jitter = Math.min(Math.max(options.requeueJitter ?? 0, 0), 1);
  const random = options.random ?? Math.random;

  const queue: K[] = [];
  const dirty = new Set<K>();
  const processing = new Set<K>();
  const waiting = new Map<K, { dueMs: number; timer: TimerHandle }>();
  const failures = new Map<K, number>();
  const running = new Set<Promise<void>>();
  let handler: WorkHandler<K> | undefined;
  let shuttingDown = false;

  const reportDepth = () => metrics?.workqueueDepth.labels({ name }).set(queue.length);

  const cancelWaiting = (key: K) => {
    const entry = waiting.get(key);
    if (entry) {
      clock.clearTimeout(entry.timer);
      waiting.delete(key);
    }
  };

  const enqueue = (key: K) => {
    if (shuttingDown || dirty.has(key)) return;
    dirty.add(key);
    metrics?.workqueueAddsTotal.labels({ name }).inc();
    // A key being processed goes back into the queue when its handler returns (see finish).
    if (processing.has(key)) return;
    queue.push(key);
    reportDepth();
    pump();
  };

  const add = (key: K) => {
    cancelWaiting(key);
    enqueue(key);
  };

  const addAfter = (key: K, delayMs: number) => {
    if (shuttingDown) return;
    if (!(delayMs > 0)) {
      add(key);
      return;
    }
    const dueMs = clock.now() + delayMs;
    const existing = waiting.get(key);
    if (existing && existing.dueMs <= dueMs) return;
    cancelWaiting(key);
    const timer = clock.setTimeout(() => {
      waiting.delete(key);
      enqueue(key);
    }, delayMs);
    waiting.set(key, { dueMs, timer });
  };

  const requeueBackoffMs = (key: K) => {
    const attempts = failures.get(key) ?? 0;
    failures.set(key, attempts + 1);
    const exponential = Math.min(baseDelayMs * 2 ** attempts, maxDelayMs);
    return jitter > 0 ? exponential * (1 - jitter + 2 * jitter * random()) : exponential;
  };

  const addRateLimited = (key: K) => {
    if (shuttingDown) return;
    metrics?.workqueueRetriesTotal.labels({ name }).inc();
    addAfter(key, requeueBackoffMs(key));
  };

  const forget = (key: K) => {
    failures.delete(key);
  };

  const finish = (key: K, result: WorkResult | Error) => {
    processing.delete(key);
    // Added while it was processed: it goes back first, so the requeue below de-duplicates against it.
    if (dirty.has(key) && !shuttingDown) {
      queue.push(key);
      reportDepth();
    }
    if (result instanceof Error) {
      addRateLimited(key);
    } else if (result && result.requeueAfterMs !== undefined) {
      if (result.requeueAfterMs > 0) {
        forget(key);
        addAfter(key, result.requeueAfterMs);
      } else {
        // "Again, now" on every call would spin; it is backed off like a failure until the handler
        // asks for a real delay or succeeds.
        addAfter(key, requeueBackoffMs(key));
      }
    } else {
      forget(key);
    }
  };

  const runHandler = async (key: K, work: WorkHandler<K>) => {
    const startedMs = clock.now();
    let result: WorkResult | Error;
    try {
      result = await work(key);
    } catch (err) {
      result = err instanceof Error ? err : new Error(String(err));
      logger?.debug(
        { queue: name, key, err: result, requeues: failures.get(key) ?? 0 },
        "work failed; retrying",
      );
    }
    metrics?.workqueueWorkDurationSeconds.labels({ name }).observe((clock.now() - startedMs) / 1000);
    finish(key, result);
  };

  function pump() {
    const work = handler;
    if (!work) return;
    while (!shuttingDown && running.size < concurrency && queue.length > 0) {
      const key = queue.shift() as K;
      dirty.delete(key);
      processing.add(key);
      reportDepth();
      const task: Promise<void> = runHandler(key, work).finally(() => {
        running.delete(task);
        pump();
      });
      running.add(task);
    }
  }

  return {
    add,
    addAfter,
    addRateLimited,
    forget,
    numRequeues: (key) => failures.get(key) ?? 0,
    start(work) {
      if (handler) throw new Error(`work queue ${name} was started twice`);
      handler = work;
      pump();
    },
    async shutdown() {
      shuttingDown = true;
      for (const key of [...waiting.keys()]) cancelWaiting(key);
      while (running.size > 0) await Promise.allSettled([...running]);
    },
    get length() {
      return queue.length;
    },
    dueKeys: () => [...queue],
  };
}
