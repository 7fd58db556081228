/**
 * Kubernetes Events (events.k8s.io/v1) for transitions users should see in `kubectl describe`.
 *
 * A failing refresh retried with backoff would otherwise write one Event per attempt; like client-go's
 * events library, repeats of the same (object, type, reason, action, note) within a window become one
 * Event whose `series.count` grows. Series updates are batched (one PATCH per flush interval, not per
 * repeat), and the de-duplication cache is bounded.
 *
 * Events never carry secrets: callers must not put any in a note, and every note also goes through
 * `redactSecrets` in case one slips in. Recording is best effort: a failure is logged, never thrown.
 */
import {
  EventsV1Api,
  PatchStrategy,
  V1MicroTime,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { redactSecrets, type Logger } from "../observability/logger.ts";
import type { Clock, TimerHandle } from "./clock.ts";
import { toKubeError } from "./errors.ts";

/** What happened, in the events.k8s.io/v1 vocabulary. */
export interface EventInput {
  type: "Normal" | "Warning";
  /** CamelCase, e.g. `TokenRefreshed` (at most 128 characters). */
  reason: string;
  /** What the operator did or tried, e.g. `Refresh` (at most 128 characters). */
  action: string;
  /** For people; never a secret. Cut to the 1 kB the API allows. */
  note: string;
}

/** Records Events about objects; controllers depend on this port. */
export interface EventRecorder {
  /** Records an Event about `obj` (which must carry apiVersion, kind and metadata). Never throws. */
  record(obj: KubernetesObject, event: EventInput): void;
}

/** The reportingController of every Event the operator writes. */
export const reportingController = "datatrails.ai/operator";

/** Options for {@link createKubeEventRecorder}. */
export interface KubeEventRecorderOptions {
  kubeConfig: KubeConfig;
  /** This process's identity, written as reportingInstance. */
  identity: string;
  clock: Clock;
  logger: Logger;
  /** Repeats within this time of the first occurrence join its series; default 10 min. */
  dedupWindowMs?: number;
  /** How often a growing series is written back; default 30 s. */
  seriesFlushMs?: number;
  /** Most (object, reason, note) combinations remembered; default 4096. */
  maxCacheEntries?: number;
}

/** An {@link EventRecorder} that can also wait for its writes (tests, shutdown). */
export interface KubeEventRecorder extends EventRecorder {
  /** Writes pending series counts and waits for every request in flight. */
  flush(): Promise<void>;
}

interface SeriesEntry {
  namespace: string;
  eventName: string;
  firstMs: number;
  lastMs: number;
  count: number;
  writtenCount: number;
  created: Promise<boolean>;
  /** Set when the create failed: the next occurrence creates a new Event instead of counting. */
  failed: boolean;
  flushTimer: TimerHandle | undefined;
}

const maxNoteBytes = 1024;

/** Cuts `text` to at most `maxBytes` bytes of UTF-8 without splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, "utf8") <= maxBytes) return text;
  let out = "";
  let bytes = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char, "utf8");
    if (bytes + size > maxBytes - 3) break;
    out += char;
    bytes += size;
  }
  return `${out}...`;
}

/** The de-duplication key: same object, type, reason, action and note. */
export function eventKey(obj: KubernetesObject, event: EventInput): string {
  const meta = obj.metadata;
  const object = meta?.uid ?? `${obj.kind}/${meta?.namespace ?? ""}/${meta?.name ?? ""}`;
  return [object, event.type, event.reason, event.action, event.note].join("\u0000");
}

/** Creates an EventRecorder writing events.k8s.io/v1 Events with series de-duplication. */
export function createKubeEventRecorder(options: KubeEventRecorderOptions): KubeEventRecorder {
  const { clock, logger, identity } = options;
  const dedupWindowMs = options.dedupWindowMs ?? 10 * 60_000;
  const seriesFlushMs = options.seriesFlushMs ?? 30_000;
  const maxCacheEntries = options.maxCacheEntries ?? 4096;
  const api = options.kubeConfig.makeApiClient(EventsV1Api);
  const cache = new Map<string, SeriesEntry>();
  const inFlight = new Set<Promise<unknown>>();
  let sequence = 0;

  const track = <T>(promise: Promise<T>): Promise<T> => {
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise));
    return promise;
  };

  const eventName = (objectName: string, nowMs: number) =>
    `${objectName.slice(0, 200)}.${(BigInt(nowMs) * 1_000_000n + BigInt(sequence++ % 1_000_000)).toString(16)}`;

  const writeSeries = async (entry: SeriesEntry) => {
    entry.flushTimer = undefined;
    if (!(await entry.created) || entry.count === entry.writtenCount) return;
    const count = entry.count;
    try {
      await api.patchNamespacedEvent(
        {
          name: entry.eventName,
          namespace: entry.namespace,
          body: { series: { count, lastObservedTime: new V1MicroTime(entry.lastMs) } },
        },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      entry.writtenCount = count;
    } catch (err) {
      logger.warn(
        { err: toKubeError(err, "update Event series"), event: entry.eventName },
        "could not update an Event",
      );
    }
  };

  const evict = (nowMs: number) => {
    for (const [key, entry] of cache) {
      if (cache.size <= maxCacheEntries && nowMs - entry.firstMs < dedupWindowMs) break;
      if (entry.flushTimer !== undefined) {
        clock.clearTimeout(entry.flushTimer);
        void track(writeSeries(entry));
      }
      cache.delete(key);
    }
  };

  const create = async (obj: KubernetesObject, event: EventInput, entry: SeriesEntry): Promise<boolean> => {
    const meta = obj.metadata ?? {};
    try {
      await api.createNamespacedEvent({
        namespace: entry.namespace,
        body: {
          apiVersion: "events.k8s.io/v1",
          kind: "Event",
          metadata: { name: entry.eventName, namespace: entry.namespace },
          eventTime: new V1MicroTime(entry.firstMs),
          type: event.type,
          reason: event.reason.slice(0, 128),
          action: event.action.slice(0, 128),
          note: truncateUtf8(redactSecrets(event.note), maxNoteBytes),
          reportingController,
          reportingInstance: identity.slice(0, 128),
          regarding: {
            ...(obj.apiVersion ? { apiVersion: obj.apiVersion } : {}),
            ...(obj.kind ? { kind: obj.kind } : {}),
            ...(meta.name ? { name: meta.name } : {}),
            ...(meta.namespace ? { namespace: meta.namespace } : {}),
            ...(meta.uid ? { uid: meta.uid } : {}),
            ...(meta.resourceVersion ? { resourceVersion: meta.resourceVersion } : {}),
          },
        },
      });
      return true;
    } catch (err) {
      logger.warn(
        { err: toKubeError(err, "create Event"), reason: event.reason },
        "could not record an Event",
      );
      return false;
    }
  };

  return {
    record(obj, event) {
      const nowMs = clock.now();
      const key = eventKey(obj, event);
      const existing = cache.get(key);
      if (existing && !existing.failed && nowMs - existing.firstMs < dedupWindowMs) {
        existing.count++;
        existing.lastMs = nowMs;
        existing.flushTimer ??= clock.setTimeout(() => void track(writeSeries(existing)), seriesFlushMs);
        return;
      }
      cache.delete(key);
      const entry: SeriesEntry = {
        namespace: obj.metadata?.namespace ?? "default",
        eventName: eventName(obj.metadata?.name ?? "unnamed", nowMs),
        firstMs: nowMs,
        lastMs: nowMs,
        count: 1,
        writtenCount: 1,
        created: Promise.resolve(false),
        failed: false,
        flushTimer: undefined,
      };
      entry.created = track(
        create(obj, event, entry).then((ok) => {
          entry.failed = !ok;
          return ok;
        }),
      );
      cache.set(key, entry);
      evict(nowMs);
    },
    async flush() {
      for (const entry of cache.values()) {
        if (entry.flushTimer !== undefined) {
          clock.clearTimeout(entry.flushTimer);
          void track(writeSeries(entry));
        }
      }
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}
