/**
 * The DataTrailsIntegration reconcile: gather → decide (pure) → apply → the status (status.ts, the
 * one place an outcome becomes a status and a failure a reason), then backoff for a failure.
 */
import type { Metrics } from "../../observability/metrics.ts";
import {
  ConditionType,
  Reason,
  type DataTrailsIntegration,
  type IntegrationSpec,
  type IntegrationStatus,
} from "../../api/v1alpha1/index.ts";
import type { Clock } from "../../k8s/clock.ts";
import type { WorkResult } from "../../k8s/work-queue.ts";
import { objectLogger, type Logger } from "../../observability/logger.ts";
import { jitterFraction } from "../../tokens/schedule.ts";
import { splitKey } from "../controller.ts";
import { applyPlan, type ApplyDeps } from "./apply.ts";
import { decide, type DecideOptions } from "./decide.ts";
import { gatherIntegration, settledAtFirstLook, type GatherDeps } from "./gather.ts";
import { heldStatuses, holdLimitMs, mayHold } from "./held-status.ts";
import type { Failure } from "./model.ts";
import { rotationDueAt, settledCheckDelayMs } from "./predicates.ts";
import { statusAfterApply } from "./status.ts";

/** What the integration reconcile depends on. */
interface IntegrationControllerDeps extends GatherDeps, Omit<ApplyDeps, "now"> {
  /**
   * The integration as the API server has it now. Read fresh, not from the informer cache: a
   * reconcile that followed its own write (a rotation recorded in status, say) must see that write,
   * or it would act a second time.
   */
  getIntegration(namespace: string, name: string): Promise<DataTrailsIntegration | undefined>;
  clock: Clock;
  logger: Logger;
  metrics?: Metrics;
  options: DecideOptions;
}

/** The target a ConvergenceFailed note names ("the <target> correction"), for the metric's label. */
function targetOf(note: string): string {
  return /the (\S+) correction/.exec(note)?.[1] ?? "unknown";
}

/** A reconcile that failed in a way the work queue should back off from. */
class ReconcileFailure extends Error {
  override readonly name = "ReconcileFailure";
  readonly reason: string;
  constructor(failure: Failure) {
    super(`${failure.reason}: ${failure.message}`);
    this.reason = failure.reason;
  }
}

/**
 * Sets the client secret gauges from the status written: valid_until, and when the policy will rotate
 * it (absent under Never). Both are removed when there is nothing to show.
 */
function recordSecretExpiry(
  metrics: Metrics | undefined,
  labels: { namespace: string; name: string },
  spec: IntegrationSpec,
  status: IntegrationStatus | undefined,
): void {
  if (!metrics) return;
  const validUntil = Date.parse(status?.secretValidUntil ?? "");
  if (Number.isNaN(validUntil)) metrics.clientSecretValidUntilTimestampSeconds.remove(labels);
  else metrics.clientSecretValidUntilTimestampSeconds.set(labels, validUntil / 1000);
  const due = Number.isNaN(validUntil) ? undefined : rotationDueAt(spec, status?.secretValidUntil);
  if (due === undefined) metrics.clientSecretRotationDueTimestampSeconds.remove(labels);
  else metrics.clientSecretRotationDueTimestampSeconds.set(labels, due.getTime() / 1000);
}

/** The integration controller's reconcile, and how to make its next look at a key a first look. */
export interface IntegrationReconciler {
  (key: string): Promise<WorkResult>;
  /**
   * Forgets what this process knows of `key` (its first look, a held status, a pass a hold asked
   * for), as a restart would: the object came into this replica's cache anew (its shard was taken),
   * so the next reconcile is a first look, which asks DataTrails nothing for a settled object.
   */
  forget(key: string): void;
}

/** Builds the reconcile function of the integration controller. */
export function integrationReconciler(deps: IntegrationControllerDeps): IntegrationReconciler {
  const now = () => new Date(deps.clock.now());
  const seen = new Set<string>();
  // A create's first status, held until the child has its first token (held-status.ts).
  const held = heldStatuses();
  // When the pass a hold asked for is due, by key: if the status was written meanwhile (the child's
  // token came first, as it normally does), that pass is not a drift check; it looks as a first look does.
  const limitPasses = new Map<string, number>();
  const forget = (key: string) => {
    seen.delete(key);
    held.drop(key);
    limitPasses.delete(key);
  };
  const reconcile = async (key: string): Promise<WorkResult> => {
    const { namespace, name } = splitKey(key);
    const read = await deps.getIntegration(namespace, name);
    if (!read) {
      deps.metrics?.clientSecretValidUntilTimestampSeconds.remove({ namespace, name });
      deps.metrics?.clientSecretRotationDueTimestampSeconds.remove({ namespace, name });
      forget(key);
      return;
    }
    const { obj, stored, heldSince } = held.overlay(key, read);
    // Any status write (a write-ahead mark, the status after apply) carries the held status with it.
    const writeStatus: typeof deps.writeStatus = (o, previous, next) => {
      held.drop(key);
      return deps.writeStatus(o, previous, next);
    };
    const log = objectLogger(deps.logger, { controller: "datatrailsintegration", namespace, name });
    let firstLook: Awaited<ReturnType<typeof settledAtFirstLook>> | undefined;
    const limitPass = limitPasses.get(key);
    const atLimit = limitPass !== undefined && deps.clock.now() >= limitPass && heldSince === undefined;
    if (limitPass !== undefined && deps.clock.now() >= limitPass) limitPasses.delete(key);
    if (atLimit) {
      firstLook = await settledAtFirstLook(obj, deps, now());
      if (firstLook.settled) return { requeueAfterMs: deps.options.resyncIntervalMs };
    } else if (!seen.has(key)) {
      // The first look since this process started (or since its cache took the object in again: a
      // shard taken over, see forget): a settled object waits for its turn to be checked against
      // DataTrails, so a restart or a hand-over makes no DataTrails call at all.
      seen.add(key);
      firstLook = await settledAtFirstLook(obj, deps, now());
      if (firstLook.settled) {
        recordSecretExpiry(deps.metrics, { namespace, name }, obj.spec, obj.status);
        return {
          requeueAfterMs: settledCheckDelayMs(
            jitterFraction(obj.metadata.uid),
            deps.options.resyncIntervalMs,
          ),
        };
      }
    }
    const { observed, api, credentialsSecret } = await gatherIntegration(obj, deps, firstLook);
    const plan = decide(observed, now(), deps.options);
    for (const action of plan.actions)
      if (action.type === "RecordEvent" && action.reason === Reason.ConvergenceFailed)
        deps.metrics?.correctionsStoppedTotal.inc({ namespace, target: targetOf(action.note) });
    log.debug({ actions: plan.actions.map((a) => a.type), failure: plan.failure?.reason }, "plan");
    const outcome = await applyPlan(
      obj,
      observed.spec,
      plan,
      api,
      credentialsSecret,
      { ...deps, writeStatus, now },
      observed.credentialsClaim,
    );
    const { status, failure } = statusAfterApply(obj, plan, outcome, now());
    const created =
      outcome.results.issued !== undefined && plan.actions.some((a) => a.type === "CreateApplication");
    const since = heldSince ?? deps.clock.now();
    const hold =
      status !== undefined &&
      !failure &&
      (created || heldSince !== undefined) &&
      deps.clock.now() - since < holdLimitMs &&
      mayHold(stored, status);
    if (hold) held.hold(key, { uid: obj.metadata.uid, status, since, over: stored });
    else if (status)
      // Over what the API server has: a held status was never written, and must be now.
      await writeStatus(obj, outcome.results.status === obj.status ? stored : outcome.results.status, status);
    recordSecretExpiry(
      deps.metrics,
      { namespace, name },
      observed.spec ?? obj.spec,
      outcome.results.finalizerRemoved ? undefined : status,
    );
    if (failure) {
      if (outcome.error)
        log.info({ reason: failure.reason, err: outcome.error.cause }, "reconcile step failed");
      else log.info({ reason: failure.reason, message: failure.message }, "not ready");
      if (failure.retryAfterMs !== undefined) return { requeueAfterMs: failure.retryAfterMs };
      if (failure.reason === Reason.InvalidSpec) return; // a spec change wakes the object again
      throw new ReconcileFailure(failure);
    }
    const ready = plan.status.conditions?.find((c) => c.type === ConditionType.Ready);
    const before = obj.status?.conditions?.find((c) => c.type === ConditionType.Ready);
    if (ready?.status !== before?.status || ready?.reason !== before?.reason) {
      log.info({ ready: ready?.status, reason: ready?.reason }, "Ready changed");
    }
    if (hold) {
      // Written by then even if the child never reports; normally its first token wakes this sooner.
      const left = Math.max(1000, since + holdLimitMs - deps.clock.now());
      limitPasses.set(key, deps.clock.now() + left);
      return { requeueAfterMs: Math.min(left, plan.requeueAfterMs ?? left) };
    }
    return plan.requeueAfterMs !== undefined ? { requeueAfterMs: plan.requeueAfterMs } : undefined;
  };
  return Object.assign(reconcile, { forget });
}
