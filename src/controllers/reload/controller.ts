/**
 * The reload reconcile, one for each kind that can name workloads (DataTrailsIntegration,
 * BearerToken): read the object fresh, read its targets, decide (decide.ts), hand the rolls to the
 * debouncer, and write status.reload and ReloadReady — only those, so the kind's own controller
 * keeps every other field. It runs beside that controller, on a queue of its own.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import {
  apiVersion,
  ConditionType,
  findCondition,
  type ReloadSpec,
  type ReloadStatus,
  type ReloadTarget,
} from "../../api/v1alpha1/index.ts";
import type { Condition } from "../../api/v1alpha1/meta.ts";
import type { Clock } from "../../k8s/clock.ts";
import type { EventRecorder } from "../../k8s/events.ts";
import { selectorString } from "../../k8s/selector.ts";
import type { WorkResult } from "../../k8s/work-queue.ts";
import type { Workloads } from "../../k8s/workloads.ts";
import { objectLogger, type Logger } from "../../observability/logger.ts";
import { conditionIsNews, withCondition, withoutCondition } from "../conditions.ts";
import { splitKey } from "../controller.ts";
import type { RollDebouncer } from "./debounce.ts";
import { decideReload, type ReloadTimings, type TargetLookup } from "./decide.ts";
import { reloadAnnotationKey } from "./version.ts";

/** The parts of an object the reload reads. */
export interface ReloadSourceObject {
  metadata: {
    name: string;
    namespace?: string | undefined;
    uid: string;
    generation: number;
    deletionTimestamp?: string | undefined;
  };
  spec?: { reload?: ReloadSpec | undefined } | undefined;
  status?: { conditions?: Condition[] | undefined; reload?: ReloadStatus | undefined } | undefined;
}

/** What the reload reconcile depends on. */
export interface ReloadReconcilerDeps<T extends ReloadSourceObject> {
  kind: "DataTrailsIntegration" | "BearerToken";
  /** The object from the informer cache: one without anything of reload costs no request. */
  cached(namespace: string, name: string): T | undefined;
  /** The object as the API server has it now (its status must be the latest, see below). */
  getObject(namespace: string, name: string): Promise<T | undefined>;
  /** The object's credentials version now; undefined while they are not settled. */
  currentVersion(obj: T): string | undefined;
  workloads: Workloads;
  debouncer: RollDebouncer;
  /** Merge-patches the object's status from `previous` to `next` (both hold only the reload's fields). */
  writeStatus(obj: T, previous: object, next: object): Promise<void>;
  events: EventRecorder;
  clock: Clock;
  logger: Logger;
  timings: ReloadTimings;
}

/** How a target reads in conditions and Events: `Deployment web`, `Deployment app=web`. */
function describeTarget(t: ReloadTarget): string {
  return `${t.kind} ${t.name ?? selectorString(t.selector ?? {})}`;
}

async function lookUp(workloads: Workloads, namespace: string, t: ReloadTarget): Promise<TargetLookup> {
  const target = describeTarget(t);
  try {
    if (t.name !== undefined) {
      const w = await workloads.get(t.kind, namespace, t.name);
      return w ? { target, state: "found", workloads: [w] } : { target, state: "missing" };
    }
    const found = await workloads.list(t.kind, namespace, selectorString(t.selector ?? {}));
    return found.length > 0 ? { target, state: "found", workloads: found } : { target, state: "missing" };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return {
      target,
      state: "failed",
      failure: {
        code: typeof code === "string" ? code : "Unknown",
        message: err instanceof Error ? err.message : String(err),
      },
    };
  }
}

const reloadCondition = (o: ReloadSourceObject) =>
  findCondition(o.status?.conditions, ConditionType.ReloadReady);

/** Builds the reload reconcile of one kind. */
export function reloadReconciler<T extends ReloadSourceObject>(
  deps: ReloadReconcilerDeps<T>,
): (key: string) => Promise<WorkResult> {
  return async (key) => {
    const { namespace, name } = splitKey(key);
    const seen = deps.cached(namespace, name);
    if (!seen || !(seen.spec?.reload || seen.status?.reload || reloadCondition(seen))) return;
    // Fresh, not from the cache: status.reload recorded a moment ago must be seen, or a target
    // found without the annotation since would be rolled for a rotation already done.
    const obj = await deps.getObject(namespace, name);
    if (!obj || obj.metadata.deletionTimestamp) return;
    const now = new Date(deps.clock.now());
    const before = {
      conditions: obj.status?.conditions,
      reload: obj.status?.reload,
    };
    const reload = obj.spec?.reload;
    if (!reload) {
      // Reload turned off: its record and condition go.
      if (before.reload || reloadCondition(obj))
        await deps.writeStatus(obj, before, {
          conditions: withoutCondition(before.conditions, ConditionType.ReloadReady),
        });
      return;
    }
    // No credentials yet, or a create or rotation in flight: nothing to decide, nothing to read.
    const current = deps.currentVersion(obj);
    if (current === undefined) return;
    const annotationKey = reloadAnnotationKey(deps.kind, name);
    const lookups = await Promise.all(reload.targets.map((t) => lookUp(deps.workloads, namespace, t)));
    const plan = decideReload(
      {
        current,
        recorded: before.reload,
        annotationKey,
        lookups,
        rollFailure: (w) => deps.debouncer.lastFailure(w),
      },
      now,
      deps.timings,
    );
    const source: KubernetesObject = {
      apiVersion,
      kind: deps.kind,
      metadata: { name, namespace, uid: obj.metadata.uid },
    };
    for (const w of plan.rolls)
      deps.debouncer.submit({
        workload: { kind: w.kind, namespace, name: w.name },
        source,
        annotationKey,
        version: current,
      });
    let conditions = before.conditions;
    if (plan.condition) {
      const c = plan.condition;
      if (
        c.status === "False" &&
        conditionIsNews(before.conditions, ConditionType.ReloadReady, c.reason, c.message)
      ) {
        deps.events.record(source, { type: "Warning", reason: c.reason, action: "Reload", note: c.message });
        objectLogger(deps.logger, { controller: "reload", namespace, name }).info(
          { reason: c.reason, message: c.message },
          "reload target problem",
        );
      }
      conditions = withCondition(conditions, ConditionType.ReloadReady, c, {
        generation: obj.metadata.generation,
        now,
      });
    }
    await deps.writeStatus(obj, before, { conditions, reload: plan.record });
    return plan.requeueAfterMs !== undefined ? { requeueAfterMs: plan.requeueAfterMs } : undefined;
  };
}
