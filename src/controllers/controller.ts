/**
 * The loop every controller shares: informers feed keys into a work queue, workers reconcile keys.
 * What a controller adds is only its reconcile function and how events map to keys.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { InformerEvent, ResilientInformer } from "../k8s/informer.ts";
import type { WorkQueue, WorkResult } from "../k8s/work-queue.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";

/** `namespace/name`, or `name` for cluster-scoped objects. */
export function keyOf(obj: KubernetesObject): string {
  const name = obj.metadata?.name ?? "";
  return obj.metadata?.namespace ? `${obj.metadata.namespace}/${name}` : name;
}

/** Splits a key back into namespace and name. */
export function splitKey(key: string): { namespace: string; name: string } {
  const at = key.indexOf("/");
  return at < 0 ? { namespace: "", name: key } : { namespace: key.slice(0, at), name: key.slice(at + 1) };
}

/** Keys of the owners of `obj` of the given kind (from its ownerReferences, same namespace). */
export function ownerKeys(obj: KubernetesObject, kind: string): string[] {
  const namespace = obj.metadata?.namespace ?? "";
  return (obj.metadata?.ownerReferences ?? [])
    .filter((o) => o.kind === kind)
    .map((o) => `${namespace}/${o.name}`);
}

/**
 * What about an object is worth a reconcile. Status-only updates (including the controller's own
 * status writes) change none of it, so they do not wake the controller again.
 */
function interestingPart(obj: KubernetesObject): string {
  const m = obj.metadata ?? {};
  return JSON.stringify([m.generation, m.deletionTimestamp, m.finalizers, m.annotations, m.labels, m.uid]);
}

/** Another collection whose events should wake some keys of this controller. */
export interface Watched {
  informer: ResilientInformer<KubernetesObject>;
  /** `event` says what happened to `obj`, for watches that ignore some updates. */
  keysFor(obj: KubernetesObject, event: InformerEvent): string[];
}

/** Options of {@link startController}. */
interface ControllerOptions<T extends KubernetesObject> {
  name: string;
  primary: ResilientInformer<T>;
  watches?: Watched[];
  queue: WorkQueue<string>;
  reconcile(key: string): Promise<WorkResult>;
  /** Keys this controller may work on (e.g. only watched namespaces); all when absent. */
  accepts?(key: string): boolean;
  logger: Logger;
  metrics?: Metrics;
}

/** A running controller. */
export interface Controller {
  /** Asks for a reconcile of `key` now. */
  enqueue(key: string): void;
  /** Stops taking work and waits for running reconciles. */
  stop(): Promise<void>;
}

/** Wires the informers to the queue and starts the workers. Informers must be started by the caller. */
export function startController<T extends KubernetesObject>(options: ControllerOptions<T>): Controller {
  const { primary, logger, metrics, name } = options;
  const accepts = (key: string) => options.accepts?.(key) ?? true;
  const queue = {
    add: (key: string) => {
      if (accepts(key)) options.queue.add(key);
    },
  };
  const seen = new Map<string, string>();

  primary.on("add", (obj) => {
    seen.set(keyOf(obj), interestingPart(obj));
    queue.add(keyOf(obj));
  });
  primary.on("update", (obj) => {
    const key = keyOf(obj);
    const part = interestingPart(obj);
    if (seen.get(key) === part) return;
    seen.set(key, part);
    queue.add(key);
  });
  primary.on("delete", (obj) => {
    seen.delete(keyOf(obj));
    queue.add(keyOf(obj));
  });
  for (const watched of options.watches ?? []) {
    for (const event of ["add", "update", "delete"] as const)
      watched.informer.on(event, (obj) => {
        for (const key of watched.keysFor(obj, event)) queue.add(key);
      });
  }

  options.queue.start(async (key) => {
    const started = performance.now();
    let result = "success";
    try {
      return await options.reconcile(key);
    } catch (err) {
      result = "error";
      throw err;
    } finally {
      metrics?.reconcileDurationSeconds.observe(
        { controller: name, result },
        (performance.now() - started) / 1000,
      );
    }
  });
  // Objects the cache already holds produced their add events before these handlers existed
  // (the informers start before leadership is won): every one of them gets a first reconcile.
  for (const obj of primary.list()) {
    seen.set(keyOf(obj), interestingPart(obj));
    queue.add(keyOf(obj));
  }
  logger.debug({ controller: name, objects: primary.list().length }, "controller started");

  return {
    enqueue: (key) => queue.add(key),
    stop: () => options.queue.shutdown(),
  };
}
