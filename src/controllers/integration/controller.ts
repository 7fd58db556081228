/**
 * The DataTrailsIntegration reconcile: gather → decide (pure) → apply, with failures turned into
 * conditions and backoff.
 */
import type { Metrics } from "../../observability/metrics.ts";
import {
  ConditionType,
  integrationSpec,
  Reason,
  setCondition,
  type DataTrailsIntegration,
  type IntegrationStatus,
} from "../../api/v1alpha1/index.ts";
import { isDataTrailsError } from "../../datatrails/errors.ts";
import type { Clock } from "../../k8s/clock.ts";
import type { WorkResult } from "../../k8s/work-queue.ts";
import { objectLogger, type Logger } from "../../observability/logger.ts";
import { jitterFraction } from "../../tokens/schedule.ts";
import { splitKey } from "../controller.ts";
import { applyPlan, PolicyStepError, type ApplyDeps } from "./apply.ts";
import {
  credentialsSecretName,
  decide,
  isSettled,
  settledCheckDelayMs,
  type DecideOptions,
} from "./decide.ts";
import { childToken, credentialsView, failureOf, gatherIntegration, type GatherDeps } from "./gather.ts";
import type { Failure } from "./model.ts";
import { policyFailure } from "./policies.ts";

/** What the integration reconcile depends on. */
export interface IntegrationControllerDeps extends GatherDeps, Omit<ApplyDeps, "now"> {
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
export class ReconcileFailure extends Error {
  override readonly name = "ReconcileFailure";
  readonly reason: string;
  constructor(failure: Failure) {
    super(`${failure.reason}: ${failure.message}`);
    this.reason = failure.reason;
  }
}

function failedStatus(
  obj: DataTrailsIntegration,
  status: IntegrationStatus | undefined,
  failure: Failure,
  now: Date,
  condition: "CredentialsReady" | "AccessPoliciesReady" = ConditionType.CredentialsReady,
) {
  let conditions = status?.conditions;
  for (const type of [condition, ConditionType.Ready]) {
    conditions = setCondition(
      conditions,
      {
        type,
        status: "False",
        reason: failure.reason,
        message: failure.message,
        observedGeneration: obj.metadata.generation,
      },
      now,
    );
  }
  return { ...(status ?? {}), observedGeneration: obj.metadata.generation, conditions };
}

/** Builds the reconcile function of the integration controller. */
export function integrationReconciler(deps: IntegrationControllerDeps): (key: string) => Promise<WorkResult> {
  const now = () => new Date(deps.clock.now());
  const seen = new Set<string>();
  return async (key) => {
    const { namespace, name } = splitKey(key);
    const obj = await deps.getIntegration(namespace, name);
    if (!obj) return;
    const log = objectLogger(deps.logger, { controller: "datatrailsintegration", namespace, name });
    if (!seen.has(key)) {
      // The first look since this process started: a settled object waits for its turn to be
      // checked against DataTrails, so a restart makes no DataTrails call at all.
      seen.add(key);
      const spec = integrationSpec.safeParse(obj.spec);
      const parsed = spec.success ? spec.data : undefined;
      const credentials = credentialsView(
        await deps.lookupSecret(namespace, credentialsSecretName(obj, parsed)),
      );
      if (isSettled(obj, parsed, credentials, childToken(obj, parsed, deps), now())) {
        return {
          requeueAfterMs: settledCheckDelayMs(
            jitterFraction(obj.metadata.uid),
            deps.options.resyncIntervalMs,
          ),
        };
      }
    }
    const { observed, api, credentialsSecret } = await gatherIntegration(obj, deps);
    const plan = decide(observed, now(), deps.options);
    for (const action of plan.actions)
      if (action.type === "RecordEvent" && action.reason === Reason.ConvergenceFailed)
        deps.metrics?.correctionsStoppedTotal.inc({ namespace, target: targetOf(action.note) });
    log.debug({ actions: plan.actions.map((a) => a.type), failure: plan.failure?.reason }, "plan");
    try {
      await applyPlan(
        obj,
        observed.spec,
        plan,
        api,
        credentialsSecret,
        { ...deps, now },
        observed.credentialsClaim,
      );
    } catch (err) {
      const policyStep = err instanceof PolicyStepError ? err : undefined;
      if (!policyStep && !isDataTrailsError(err)) throw err;
      const failure = policyStep
        ? policyFailure(
            policyStep.policy,
            policyStep.cause.code,
            policyStep.cause.message,
            policyStep.cause.retryAfterMs,
          )
        : failureOf(err, "DataTrails");
      log.info({ reason: failure.reason, err: policyStep?.cause ?? err }, "reconcile step failed");
      // The latest status may already carry a pending mark: merge onto what the server has.
      const latest = (await deps.getIntegration(namespace, name)) ?? obj;
      const condition = policyStep ? ConditionType.AccessPoliciesReady : ConditionType.CredentialsReady;
      await deps.writeStatus(obj, latest.status, failedStatus(obj, latest.status, failure, now(), condition));
      if (failure.retryAfterMs !== undefined) return { requeueAfterMs: failure.retryAfterMs };
      throw new ReconcileFailure(failure);
    }
    if (plan.failure) {
      log.info({ reason: plan.failure.reason, message: plan.failure.message }, "not ready");
      if (plan.failure.retryAfterMs !== undefined) return { requeueAfterMs: plan.failure.retryAfterMs };
      if (plan.failure.reason === "InvalidSpec") return; // a spec change wakes the object again
      throw new ReconcileFailure(plan.failure);
    }
    const ready = plan.status.conditions?.find((c) => c.type === ConditionType.Ready);
    const before = obj.status?.conditions?.find((c) => c.type === ConditionType.Ready);
    if (ready?.status !== before?.status || ready?.reason !== before?.reason) {
      log.info({ ready: ready?.status, reason: ready?.reason }, "Ready changed");
    }
    return plan.requeueAfterMs !== undefined ? { requeueAfterMs: plan.requeueAfterMs } : undefined;
  };
}
