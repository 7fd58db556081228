/**
 * The one status path of the integration controller: what decide planned, what apply did and the
 * first error it met → the status to write and the failure to report. A pure function; the write-ahead
 * marks are apply's own and are already in `results.status`.
 */
import {
  ConditionType,
  type IntegrationStatus,
  type DataTrailsIntegration,
} from "../../api/v1alpha1/index.ts";
import { isDataTrailsError } from "../../datatrails/errors.ts";
import { stateConditions } from "../conditions.ts";
import { failureOf } from "./failures.ts";
import type { ApplyOutcome, ApplyResults, Failure, Plan } from "./model.ts";

/** The status after every action succeeded: the plan's, with what create, regenerate and the writes returned. */
function succeeded(plan: Plan, results: ApplyResults): IntegrationStatus {
  const status: IntegrationStatus = { ...plan.status };
  const issued = results.issued;
  if (issued) {
    status.applicationIdentity = issued.identity;
    status.clientId = issued.clientId;
    const validUntil = issued.credentials[0]?.validUntil;
    if (validUntil) status.secretValidUntil = validUntil;
    delete status.pendingCreate;
  }
  if (results.rotatedAt) {
    status.secretRotatedAt = results.rotatedAt;
    delete status.pendingRotation;
  }
  if (results.credentialsVersion) status.credentialsSecretVersion = results.credentialsVersion;
  const created = results.policies ?? {};
  if (status.accessPolicies)
    status.accessPolicies = status.accessPolicies.map((e) => {
      const identity = created[e.name];
      return identity ? { name: e.name, identity } : e;
    });
  return status;
}

/** What to write after apply, and why the reconcile did not finish (if it did not). */
interface StatusAfterApply {
  /** The status to write over `results.status`; absent when there is nothing to write it on. */
  status?: IntegrationStatus;
  /** The failure to report: the plan's own, or the step that failed. */
  failure?: Failure;
}

/**
 * The status after apply. A step that DataTrails failed turns CredentialsReady (AccessPoliciesReady
 * for a policy step) and Ready False with its reason, on top of the marks already written; the
 * results of the steps before it are not recorded (the marks make the next reconcile find them).
 * Any other error is rethrown: the work queue backs off, and no status is written.
 */
export function statusAfterApply(
  obj: DataTrailsIntegration,
  plan: Plan,
  outcome: ApplyOutcome,
  now: Date,
): StatusAfterApply {
  const { results, error } = outcome;
  if (error) {
    if (!isDataTrailsError(error.cause)) throw error.cause;
    const a = error.action;
    const policyStep =
      a.type === "CreateAccessPolicy" || a.type === "UpdateAccessPolicy" || a.type === "DeleteAccessPolicy";
    const failure = failureOf(error.cause, policyStep ? { policy: a.name } : { application: "DataTrails" });
    const condition = policyStep ? ConditionType.AccessPoliciesReady : ConditionType.CredentialsReady;
    const status = {
      ...(results.status ?? {}),
      observedGeneration: obj.metadata.generation,
      conditions: stateConditions(
        results.status?.conditions,
        [condition, ConditionType.Ready],
        { status: "False", reason: failure.reason, message: failure.message },
        { generation: obj.metadata.generation, now },
      ),
    };
    return { status, failure };
  }
  return {
    // A removed finalizer may mean the object is gone: nothing left to write status on.
    ...(results.finalizerRemoved ? {} : { status: succeeded(plan, results) }),
    ...(plan.failure ? { failure: plan.failure } : {}),
  };
}
