/**
 * One roll per workload per rotation, however many objects name it: the first request for a
 * workload waits `delayMs`, the requests that arrive meanwhile join it, and then the workload is
 * patched once with every object's annotation. Nothing here is durable, and nothing needs to be:
 * the objects' reconciles ask again until the workload's pod template carries their version (a
 * restarted operator simply rolls what is still due).
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Clock, TimerHandle } from "../../k8s/clock.ts";
import type { WorkloadKind } from "../../k8s/workloads.ts";

/** A workload, by kind and name. */
export interface WorkloadRef {
  kind: WorkloadKind;
  namespace: string;
  name: string;
}

/** One object's request that a workload be rolled for its credentials' version. */
export interface RollRequest {
  workload: WorkloadRef;
  /** The object asking (with apiVersion, kind and metadata, for its Event). */
  source: KubernetesObject;
  /** The pod-template annotation recording this object's version. */
  annotationKey: string;
  version: string;
}

/** Why the last roll of a workload failed (a KubeError's code and message: never a secret). */
export interface RollFailure {
  code: string;
  message: string;
}

/** Rolls one workload for the requests gathered (the patch and the Events); throws on failure. */
export type RollWorkload = (workload: WorkloadRef, requests: readonly RollRequest[]) => Promise<void>;

/** The debouncer the reload reconciles submit to. */
export interface RollDebouncer {
  /** Asks for a roll; a request already waiting or in flight for the same annotation and version is a no-op. */
  submit(request: RollRequest): void;
  /** Why the last roll of the workload failed, when it did (cleared by one that succeeds). */
  lastFailure(workload: WorkloadRef): RollFailure | undefined;
  /** Drops what is waiting and waits for rolls in flight. */
  stop(): Promise<void>;
}

interface Batch {
  requests: Map<string, RollRequest>;
  timer: TimerHandle;
}

const keyOf = (w: WorkloadRef) => `${w.kind}/${w.namespace}/${w.name}`;

/** A debouncer that rolls through `roll`, `delayMs` after the first request for a workload. */
export function createRollDebouncer(options: {
  clock: Clock;
  delayMs: number;
  roll: RollWorkload;
}): RollDebouncer {
  const { clock, delayMs, roll } = options;
  const waiting = new Map<string, Batch>();
  const inFlight = new Map<string, Map<string, string>>();
  const failures = new Map<string, RollFailure>();
  const running = new Set<Promise<void>>();

  const fire = (key: string, workload: WorkloadRef) => {
    const batch = waiting.get(key);
    if (!batch) return;
    waiting.delete(key);
    const requests = [...batch.requests.values()];
    inFlight.set(key, new Map(requests.map((r) => [r.annotationKey, r.version])));
    const done = roll(workload, requests)
      .then(
        () => {
          failures.delete(key);
        },
        (err: unknown) => {
          const code = (err as { code?: unknown }).code;
          failures.set(key, {
            code: typeof code === "string" ? code : "Unknown",
            message: err instanceof Error ? err.message : String(err),
          });
        },
      )
      .finally(() => {
        inFlight.delete(key);
        running.delete(done);
      });
    running.add(done);
  };

  return {
    submit(request) {
      const key = keyOf(request.workload);
      if (inFlight.get(key)?.get(request.annotationKey) === request.version) return;
      const batch = waiting.get(key);
      if (batch) {
        batch.requests.set(request.annotationKey, request);
        return;
      }
      const timer = clock.setTimeout(() => fire(key, request.workload), delayMs);
      waiting.set(key, { requests: new Map([[request.annotationKey, request]]), timer });
    },
    lastFailure: (workload) => failures.get(keyOf(workload)),
    async stop() {
      for (const batch of waiting.values()) clock.clearTimeout(batch.timer);
      waiting.clear();
      await Promise.all([...running]);
    },
  };
}
