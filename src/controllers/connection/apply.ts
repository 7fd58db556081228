/**
 * Carries a connection plan out: the status, written only when it changed, and one Event per
 * transition of the Ready condition.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { apiVersion, type ConnectionStatus } from "../../api/v1alpha1/index.ts";
import { statusChanged } from "../../k8s/status.ts";
import type { EventRecorder } from "../../k8s/events.ts";
import type { ConnectionPlan } from "./decide.ts";
import type { ConnectionKind, ConnectionObject } from "./gather.ts";

/** What apply writes through. */
export interface ConnectionApplyDeps {
  /** Writes `next` as the object's status (a merge patch from `previous`). */
  writeStatus(
    obj: ConnectionObject,
    previous: ConnectionStatus | undefined,
    next: ConnectionStatus,
  ): Promise<void>;
  events: EventRecorder;
}

/** Writes the status when it changed, then records the transition's Event, if any. */
export async function applyConnectionPlan(
  kind: ConnectionKind,
  obj: ConnectionObject,
  plan: ConnectionPlan,
  deps: ConnectionApplyDeps,
): Promise<void> {
  const previous = obj.status;
  if (statusChanged(previous ?? {}, plan.status)) await deps.writeStatus(obj, previous, plan.status);
  if (plan.event) {
    // The cache's copy may lack apiVersion and kind; the Event's `regarding` needs both.
    deps.events.record({ ...obj, apiVersion, kind } as unknown as KubernetesObject, {
      type: plan.event.type,
      reason: plan.event.reason,
      action: "Check",
      note: plan.event.note,
    });
  }
}
