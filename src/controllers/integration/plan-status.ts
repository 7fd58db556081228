/**
 * The status an integration plan writes: the draft decide starts from, CredentialsReady and its
 * summary Ready, the failure and refusal shapes, the write-loop breaker's record, and the child
 * token's condition. Pure helpers of decide.ts and its modules, built on ../conditions.ts.
 */
import {
  ConditionType,
  credentialsKeys,
  credentialsShape,
  findCondition,
  Reason,
  type ConditionTypeName,
  type IntegrationSpec,
  type IntegrationStatus,
  type ReasonName,
  refreshAnnotation,
} from "../../api/v1alpha1/index.ts";
import { keyNames } from "../secret-shape.ts";
import { conditionIsNews, withCondition, type ConditionScope, type ConditionState } from "../conditions.ts";
import type { CorrectionGuard } from "./corrections.ts";
import type { Action, Failure, IntegrationObserved, Plan } from "./model.ts";
import { credentialsSecretName, tokenSecretName } from "./predicates.ts";

/**
 * The status a plan is being written into: the object's, stamped with its generation, and the
 * scope its conditions are set in. decide owns it for one call; nothing else sees it until the plan.
 */
export interface Draft {
  status: IntegrationStatus;
  scope: ConditionScope;
}

/** A draft of the status of `o` at `now`. */
export function draftOf(o: IntegrationObserved, now: Date): Draft {
  const obj = o.object;
  return {
    status: { ...(obj.status ?? {}), observedGeneration: obj.metadata.generation },
    scope: { generation: obj.metadata.generation, now },
  };
}

/** Sets one condition of the draft. */
export function setOn(
  d: Draft,
  type: ConditionTypeName,
  status: ConditionState["status"],
  reason: ReasonName,
  message: string,
): void {
  d.status.conditions = withCondition(d.status.conditions, type, { status, reason, message }, d.scope);
}

/** Sets Ready from CredentialsReady, TokenReady and (when present) AccessPoliciesReady. */
function summarise(d: Draft): IntegrationStatus {
  const creds = findCondition(d.status.conditions, ConditionType.CredentialsReady);
  const token = findCondition(d.status.conditions, ConditionType.TokenReady);
  const policies = findCondition(d.status.conditions, ConditionType.AccessPoliciesReady);
  const notReady = [creds, token, ...(policies ? [policies] : [])].find((c) => c?.status !== "True");
  if (!notReady)
    setOn(
      d,
      ConditionType.Ready,
      "True",
      Reason.Ready,
      policies
        ? "The application, its credentials, its token and its access policies are ready."
        : "The application, its credentials and its token are ready.",
    );
  else
    setOn(
      d,
      ConditionType.Ready,
      notReady.status === "False" ? "False" : "Unknown",
      (notReady.reason as ReasonName | undefined) ?? Reason.Reconciling,
      notReady.message ?? "Waiting for the token.",
    );
  return d.status;
}

/** A plan that stops: CredentialsReady False with the failure, Ready summarised, `extra` still run. */
export function failed(d: Draft, failure: Failure, extra: Action[] = []): Plan {
  setOn(d, ConditionType.CredentialsReady, "False", failure.reason, failure.message);
  summarise(d);
  return {
    actions: extra,
    status: d.status,
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
  d: Draft,
  actions: Action[],
  reason: ReasonName,
  message: string,
): Plan {
  const news = conditionIsNews(o.object.status?.conditions, ConditionType.CredentialsReady, reason, message);
  const events: Action[] = news ? [{ type: "RecordEvent", eventType: "Warning", reason, note: message }] : [];
  return failed(d, { reason, message, retryAfterMs: 60_000 }, [...actions, ...events]);
}

/**
 * Records the write-loop breaker's counts in status and, for each correction it held back, turns
 * the condition of that target False (ConvergenceFailed) with a Warning Event when that is news.
 */
export function recordCorrections(
  o: IntegrationObserved,
  d: Draft,
  guard: CorrectionGuard,
  actions: Action[],
): void {
  const records = guard.records();
  if (records.length > 0) d.status.corrections = records;
  else delete d.status.corrections;
  for (const held of guard.stopped()) {
    const type = held.target.startsWith("accessPolicy/")
      ? ConditionType.AccessPoliciesReady
      : ConditionType.CredentialsReady;
    const message =
      `DataTrails did not keep the ${held.target} correction after ${held.attempts} tries for generation ` +
      `${o.object.metadata.generation}; stopped writing it until the spec changes or ${held.retryAt}.`;
    if (conditionIsNews(o.object.status?.conditions, type, Reason.ConvergenceFailed, message))
      actions.push({
        type: "RecordEvent",
        eventType: "Warning",
        reason: Reason.ConvergenceFailed,
        note: message,
      });
    setOn(d, type, "False", Reason.ConvergenceFailed, message);
  }
  if (guard.stopped().length > 0) summarise(d);
}

/** A plan whose only write would repeat a correction that did not stick: nothing is written. */
export function heldBack(
  o: IntegrationObserved,
  d: Draft,
  guard: CorrectionGuard,
  actions: Action[],
  requeueAfterMs: number,
): Plan {
  recordCorrections(o, d, guard, actions);
  summarise(d);
  return { actions, status: d.status, requeueAfterMs };
}

/** The child BearerToken as the integration wants it: names, policy, suspend and refresh request. */
export function childTokenAction(
  o: IntegrationObserved,
  spec: IntegrationSpec,
): Extract<Action, { type: "ApplyBearerToken" }> {
  const policy = spec.token?.existingSecretPolicy;
  const refreshRequest = o.object.metadata.annotations?.[refreshAnnotation];
  return {
    type: "ApplyBearerToken",
    secretName: tokenSecretName(o.object, spec),
    credentialsSecretName: credentialsSecretName(o.object, spec),
    ...(policy && policy !== "Refuse" ? { existingSecretPolicy: policy } : {}),
    ...(spec.suspend === true ? { suspend: true as const } : {}),
    ...(refreshRequest !== undefined ? { refreshRequest } : {}),
    ...renamedCredentialKeys(spec),
    ...(spec.token?.template ? { template: spec.token.template } : {}),
  };
}

function tokenActions(o: IntegrationObserved, spec: IntegrationSpec, d: Draft): Action[] {
  if (spec.token?.enabled === false) {
    setOn(
      d,
      ConditionType.TokenReady,
      "True",
      Reason.TokenDisabled,
      "Token issuance is turned off (spec.token.enabled=false).",
    );
    delete d.status.tokenExpiresAt;
    return o.token.exists && !o.token.foreign ? [{ type: "DeleteBearerToken" }] : [];
  }
  if (o.token.foreign) {
    const message =
      `BearerToken ${o.object.metadata.name} exists and is not this integration's child; it is left ` +
      "as it is. Rename it, or turn tokens off (spec.token.enabled=false).";
    setOn(d, ConditionType.TokenReady, "False", Reason.BearerTokenInUse, message);
    delete d.status.tokenExpiresAt;
    return [];
  }
  const actions: Action[] = o.token.exists && o.token.upToDate ? [] : [childTokenAction(o, spec)];
  const ready = o.token.ready;
  if (ready && o.token.exists) {
    // A valid token is said without its expiry, which every refresh moves: the integration is not
    // woken by a routine refresh (definition.ts), and its status does not change with one.
    const message =
      ready.reason === Reason.TokenValid
        ? `The token is in Secret ${tokenSecretName(o.object, spec)}; BearerToken ${o.object.metadata.name} says when it expires.`
        : ready.message;
    setOn(
      d,
      ConditionType.TokenReady,
      ready.status,
      (ready.reason as ReasonName) ?? Reason.Reconciling,
      message,
    );
  } else {
    setOn(d, ConditionType.TokenReady, "Unknown", Reason.Reconciling, "Waiting for the first token.");
  }
  // No longer mirrored (every refresh would write it): the BearerToken's status carries it.
  delete d.status.tokenExpiresAt;
  return actions;
}

/** The credentials Secret's client_id and client_secret names, for the child, when the template renames them. */
function renamedCredentialKeys(spec: IntegrationSpec): { clientIdKey?: string; clientSecretKey?: string } {
  const names = keyNames(credentialsShape, spec.credentialsSecret?.template);
  const id = names[credentialsKeys.clientId];
  const secret = names[credentialsKeys.clientSecret];
  return {
    ...(id && id !== credentialsKeys.clientId ? { clientIdKey: id } : {}),
    ...(secret && secret !== credentialsKeys.clientSecret ? { clientSecretKey: secret } : {}),
  };
}

/** The end of every plan that gets the credentials in place: CredentialsReady, the token, Ready. */
export function settle(o: IntegrationObserved, spec: IntegrationSpec, d: Draft, actions: Action[]): void {
  setOn(
    d,
    ConditionType.CredentialsReady,
    "True",
    Reason.Ready,
    "The application exists and its credentials are in the Secret.",
  );
  actions.push(...tokenActions(o, spec, d));
  summarise(d);
}
