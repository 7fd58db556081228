/**
 * The status an integration plan writes: conditions and observedGeneration (StatusBuilder), the
 * failure and refusal shapes, the write-loop breaker's record, and the child token's condition.
 * Pure helpers of decide.ts.
 */
import {
  ConditionType,
  findCondition,
  Reason,
  setCondition,
  type ConditionInput,
  type IntegrationSpec,
  type IntegrationStatus,
  type ReasonName,
} from "../../api/v1alpha1/index.ts";
import type { DataTrailsIntegration } from "../../api/v1alpha1/integration.ts";
import type { CorrectionGuard } from "./corrections.ts";
import type { Action, Failure, IntegrationObserved, Plan } from "./model.ts";
import { credentialsSecretName, tokenSecretName } from "./predicates.ts";

/** Builds the conditions and observedGeneration of a status. */
export class StatusBuilder {
  status: IntegrationStatus;
  private readonly generation: number;
  private readonly now: Date;

  constructor(obj: DataTrailsIntegration, now: Date) {
    this.status = { ...(obj.status ?? {}), observedGeneration: obj.metadata.generation };
    this.generation = obj.metadata.generation;
    this.now = now;
  }

  set(
    type: ConditionInput["type"],
    status: ConditionInput["status"],
    reason: ReasonName,
    message: string,
  ): this {
    this.status.conditions = setCondition(
      this.status.conditions,
      { type, status, reason, message, observedGeneration: this.generation },
      this.now,
    );
    return this;
  }

  /** Sets CredentialsReady and TokenReady's summary, Ready. */
  summarise(): IntegrationStatus {
    const creds = findCondition(this.status.conditions, ConditionType.CredentialsReady);
    const token = findCondition(this.status.conditions, ConditionType.TokenReady);
    const policies = findCondition(this.status.conditions, ConditionType.AccessPoliciesReady);
    const notReady = [creds, token, ...(policies ? [policies] : [])].find((c) => c?.status !== "True");
    if (!notReady)
      this.set(
        ConditionType.Ready,
        "True",
        Reason.Ready,
        policies
          ? "The application, its credentials, its token and its access policies are ready."
          : "The application, its credentials and its token are ready.",
      );
    else
      this.set(
        ConditionType.Ready,
        notReady.status === "False" ? "False" : "Unknown",
        (notReady.reason as ReasonName | undefined) ?? Reason.Reconciling,
        notReady.message ?? "Waiting for the token.",
      );
    return this.status;
  }
}

export function failed(b: StatusBuilder, failure: Failure, extra: Action[] = []): Plan {
  b.set(ConditionType.CredentialsReady, "False", failure.reason, failure.message);
  b.summarise();
  return {
    actions: extra,
    status: b.status,
    failure,
    ...(failure.retryAfterMs !== undefined ? { requeueAfterMs: failure.retryAfterMs } : {}),
  };
}

/**
 * A refusal to touch what is not this integration's: CredentialsReady False with the reason, and a
 * Warning Event only when the reason is new (a retry does not repeat it). Looked at again in a
 * minute, or at once when the Secret or the other object changes.
 */
export function refused(
  o: IntegrationObserved,
  b: StatusBuilder,
  actions: Action[],
  reason: ReasonName,
  message: string,
): Plan {
  const before = findCondition(o.object.status?.conditions, ConditionType.CredentialsReady);
  const events: Action[] =
    before?.reason === reason && before.message === message
      ? []
      : [{ type: "RecordEvent", eventType: "Warning", reason, note: message }];
  return failed(b, { reason, message, retryAfterMs: 60_000 }, [...actions, ...events]);
}

/**
 * Records the write-loop breaker's counts in status and, for each correction it held back, turns
 * the condition of that target False (ConvergenceFailed) with a Warning Event when that is news.
 */
export function recordCorrections(
  o: IntegrationObserved,
  b: StatusBuilder,
  guard: CorrectionGuard,
  actions: Action[],
): void {
  const records = guard.records();
  if (records.length > 0) b.status.corrections = records;
  else delete b.status.corrections;
  for (const held of guard.stopped()) {
    const type = held.target.startsWith("accessPolicy/")
      ? ConditionType.AccessPoliciesReady
      : ConditionType.CredentialsReady;
    const message =
      `DataTrails did not keep the ${held.target} correction after ${held.attempts} tries for generation ` +
      `${o.object.metadata.generation}; stopped writing it until the spec changes or ${held.retryAt}.`;
    const before = findCondition(o.object.status?.conditions, type);
    if (before?.reason !== Reason.ConvergenceFailed || before.message !== message)
      actions.push({
        type: "RecordEvent",
        eventType: "Warning",
        reason: Reason.ConvergenceFailed,
        note: message,
      });
    b.set(type, "False", Reason.ConvergenceFailed, message);
  }
  if (guard.stopped().length > 0) b.summarise();
}

/** A plan whose only write would repeat a correction that did not stick: nothing is written. */
export function heldBack(
  o: IntegrationObserved,
  b: StatusBuilder,
  guard: CorrectionGuard,
  actions: Action[],
  requeueAfterMs: number,
): Plan {
  recordCorrections(o, b, guard, actions);
  b.summarise();
  return { actions, status: b.status, requeueAfterMs };
}

function tokenActions(o: IntegrationObserved, spec: IntegrationSpec, b: StatusBuilder): Action[] {
  if (spec.token?.enabled === false) {
    b.set(
      ConditionType.TokenReady,
      "True",
      Reason.TokenDisabled,
      "Token issuance is turned off (spec.token.enabled=false).",
    );
    delete b.status.tokenExpiresAt;
    return o.token.exists && !o.token.foreign ? [{ type: "DeleteBearerToken" }] : [];
  }
  if (o.token.foreign) {
    const message =
      `BearerToken ${o.object.metadata.name} exists and is not this integration's child; it is left ` +
      "as it is. Rename it, or turn tokens off (spec.token.enabled=false).";
    b.set(ConditionType.TokenReady, "False", Reason.BearerTokenInUse, message);
    delete b.status.tokenExpiresAt;
    return [];
  }
  const policy = spec.token?.existingSecretPolicy;
  const actions: Action[] =
    o.token.exists && o.token.upToDate
      ? []
      : [
          {
            type: "ApplyBearerToken",
            secretName: tokenSecretName(o.object, spec),
            credentialsSecretName: credentialsSecretName(o.object, spec),
            ...(policy && policy !== "Refuse" ? { existingSecretPolicy: policy } : {}),
          },
        ];
  const ready = o.token.ready;
  if (ready && o.token.exists) {
    b.set(
      ConditionType.TokenReady,
      ready.status,
      (ready.reason as ReasonName) ?? Reason.Reconciling,
      ready.message,
    );
  } else {
    b.set(ConditionType.TokenReady, "Unknown", Reason.Reconciling, "Waiting for the first token.");
  }
  if (o.token.tokenExpiresAt) b.status.tokenExpiresAt = o.token.tokenExpiresAt;
  return actions;
}

/** The end of every plan that gets the credentials in place: CredentialsReady, the token, Ready. */
export function settle(
  o: IntegrationObserved,
  spec: IntegrationSpec,
  b: StatusBuilder,
  actions: Action[],
): void {
  b.set(
    ConditionType.CredentialsReady,
    "True",
    Reason.Ready,
    "The application exists and its credentials are in the Secret.",
  );
  actions.push(...tokenActions(o, spec, b));
  b.summarise();
}
