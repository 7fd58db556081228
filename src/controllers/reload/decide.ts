/**
 * The reload decision (pure): from the current credentials version, the version status recorded,
 * the targets as read and the debouncer's last failures, which workloads to roll, what to record
 * and the ReloadReady condition.
 *
 * Level-based and crash-safe: a roll is due while the recorded version differs from the current
 * one, and a workload needs it while its pod-template annotation does not carry the current
 * version. The recorded version moves only once every found target carries it, so a crash between
 * the credentials write and the patch loses no roll, and one after the patch repeats none. The
 * first look (nothing recorded) records the version without rolling: turning reload on, or
 * creating an integration, restarts nothing.
 */
import { Reason, rfc3339, type ReasonName, type ReloadStatus } from "../../api/v1alpha1/index.ts";
import type { WorkloadView } from "../../k8s/workloads.ts";
import type { RollFailure } from "./debounce.ts";

/** A spec.reload target as read: the workloads it names, none, or why it could not be read. */
export type TargetLookup =
  | { target: string; state: "found"; workloads: WorkloadView[] }
  | { target: string; state: "missing" }
  | { target: string; state: "failed"; failure: RollFailure };

/** What the decision reads. */
export interface ReloadObserved {
  /** The current credentials version; undefined while they are not settled (nothing is decided). */
  current: string | undefined;
  recorded: ReloadStatus | undefined;
  annotationKey: string;
  lookups: readonly TargetLookup[];
  /** The debouncer's last failure rolling a workload. */
  rollFailure(workload: WorkloadView): RollFailure | undefined;
}

/** The ReloadReady condition to state. */
export interface ReloadCondition {
  status: "True" | "False" | "Unknown";
  reason: ReasonName;
  message: string;
}

/** What to do. */
export interface ReloadPlan {
  rolls: WorkloadView[];
  /** status.reload to write. */
  record: ReloadStatus | undefined;
  /** Undefined: leave the condition as it is. */
  condition?: ReloadCondition;
  requeueAfterMs?: number;
}

/** Timings of the decision. */
export interface ReloadTimings {
  /** How soon to look again while rolls wait in the debouncer. */
  pendingRecheckMs: number;
  /** How soon to look again at a missing or failing target. */
  retryMs: number;
}

const failureReason = (f: RollFailure): ReasonName =>
  f.code === "Forbidden"
    ? Reason.ReloadForbidden
    : f.code === "NotFound"
      ? Reason.ReloadTargetNotFound
      : Reason.ReloadFailed;

const describe = (w: WorkloadView) => `${w.kind} ${w.name}`;

/** Decides the reload of one object; pure. */
export function decideReload(o: ReloadObserved, now: Date, timings: ReloadTimings): ReloadPlan {
  if (o.current === undefined) return { rolls: [], record: o.recorded };
  const current = o.current;
  const due = o.recorded !== undefined && o.recorded.version !== current;
  const found = o.lookups.flatMap((l) => (l.state === "found" ? l.workloads : []));
  const rolls = due ? found.filter((w) => w.templateAnnotations[o.annotationKey] !== current) : [];
  const readFailures = o.lookups.flatMap((l) =>
    l.state === "failed" ? [{ what: l.target, failure: l.failure }] : [],
  );
  const rollFailures = rolls.flatMap((w) => {
    const failure = o.rollFailure(w);
    return failure ? [{ what: describe(w), failure }] : [];
  });
  const missing = o.lookups.filter((l) => l.state === "missing").map((l) => l.target);

  let record = o.recorded;
  if (o.recorded === undefined) record = { version: current };
  else if (due && rolls.length === 0 && readFailures.length === 0)
    record = { version: current, rolledAt: rfc3339(now) };

  const failed = [...readFailures, ...rollFailures][0];
  if (failed) {
    return {
      rolls,
      record,
      condition: {
        status: "False",
        reason: failureReason(failed.failure),
        message: `${failed.what}: ${failed.failure.code}: ${failed.failure.message}`,
      },
      requeueAfterMs: timings.retryMs,
    };
  }
  if (missing.length > 0) {
    return {
      rolls,
      record,
      condition: {
        status: "False",
        reason: Reason.ReloadTargetNotFound,
        message: `Not found in this namespace: ${missing.join(", ")}.`,
      },
      requeueAfterMs: rolls.length > 0 ? timings.pendingRecheckMs : timings.retryMs,
    };
  }
  if (rolls.length > 0) {
    return {
      rolls,
      record,
      condition: {
        status: "Unknown",
        reason: Reason.Reconciling,
        message: `Rolling for rotated credentials: ${rolls.map(describe).join(", ")}.`,
      },
      requeueAfterMs: timings.pendingRecheckMs,
    };
  }
  return {
    rolls,
    record,
    condition: {
      status: "True",
      reason: Reason.Ready,
      message:
        found.length === 0
          ? "No workload to roll."
          : `Rolled when the credentials change: ${found.map(describe).join(", ")}.`,
    },
  };
}
