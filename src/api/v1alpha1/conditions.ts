/**
 * Condition types and reasons. Reasons are stable CamelCase strings that alerting rules and Argo CD
 * health checks may match on; each is documented here and in docs/conditions.md (a test keeps the
 * two in step).
 */
import { rfc3339 } from "./meta.ts";

/** Condition types. */
export const ConditionType = {
  /** The summary: True when every other condition of the object is True for its current generation. */
  Ready: "Ready",
  /** The DataTrails application exists and the credentials Secret holds a secret that works. */
  CredentialsReady: "CredentialsReady",
  /** The token Secret holds a valid bearer token. */
  TokenReady: "TokenReady",
  /** Every spec.accessPolicies entry exists in DataTrails as written (set only when policies are used). */
  AccessPoliciesReady: "AccessPoliciesReady",
  /**
   * spec.suspend is true and the operator has stopped acting on the object (present only then); the
   * other conditions keep what they last said.
   */
  Suspended: "Suspended",
  /**
   * The spec.reload targets were rolled for the current credentials (set only when spec.reload is);
   * not part of Ready: the credentials are good whatever the workloads do.
   */
  ReloadReady: "ReloadReady",
} as const;

/** Reasons carried by conditions. */
export const Reason = {
  /** Everything the condition covers is in the desired state. */
  Ready: "Ready",
  /** Work is under way (a create, a patch, a first token); no failure so far. */
  Reconciling: "Reconciling",
  /** The spec failed validation the API server could not do itself; the message names the field. */
  InvalidSpec: "InvalidSpec",
  /** The referenced connection does not exist. */
  ConnectionNotFound: "ConnectionNotFound",
  /** The ClusterDataTrailsConnection does not allow this object's namespace. */
  ConnectionNotAllowed: "ConnectionNotAllowed",
  /** A Secret the object needs (admin credentials, client credentials, a private key) is missing or lacks a key. */
  SecretNotFound: "SecretNotFound",
  /** DataTrails rejected the admin integration's credentials (401) or its role (403). */
  AdminUnauthorized: "AdminUnauthorized",
  /** DataTrails could not be reached or answered with a server error; the operator retries with backoff. */
  DataTrailsUnavailable: "DataTrailsUnavailable",
  /** DataTrails answered 429; the operator waits as long as it was told. */
  RateLimited: "RateLimited",
  /** DataTrails refused to create an application because the tenant's quota is used up (402). */
  QuotaExceeded: "QuotaExceeded",
  /** DataTrails refused the request as invalid (400); the message carries its reason. */
  Rejected: "Rejected",
  /** The application to adopt does not exist in DataTrails. */
  AdoptTargetNotFound: "AdoptTargetNotFound",
  /** The application was deleted in DataTrails behind the operator's back; it is re-created. */
  ApplicationMissing: "ApplicationMissing",
  /** Deletion waits: the application could not be deleted yet (DataTrails unreachable or failing). */
  DeleteBlocked: "DeleteBlocked",
  /** The token Secret holds a token that has not expired; a refresh is scheduled. */
  TokenValid: "TokenValid",
  /** The last refresh failed but the published token is still valid; retrying with backoff. */
  RefreshFailing: "RefreshFailing",
  /** The published token has expired and no new one could be obtained. */
  TokenExpired: "TokenExpired",
  /** A token was obtained but failed verification and was not published; the message says why. */
  VerificationFailed: "VerificationFailed",
  /**
   * The issuer rejected the client's credentials. For a connection: the token endpoint answered 401
   * to the admin credentials, which DataTrails says alike for an unknown client and a wrong secret.
   */
  CredentialsRejected: "CredentialsRejected",
  /** The admin credentials work, but DataTrails refused them an OWNER-only call (403): not an administrator. */
  NotOwner: "NotOwner",
  /** Token issuance is turned off for this integration (spec.token.enabled=false). */
  TokenDisabled: "TokenDisabled",
  /**
   * An output Secret (credentials or token) exists and was not created by the operator: it is left
   * byte for byte. Name another Secret, or set existingSecretPolicy to Merge or Adopt to take it over.
   */
  SecretNotOwned: "SecretNotOwned",
  /**
   * An output Secret is held by another of the operator's objects (the message names it), or another
   * object that names it is older and goes first: nothing is written. Name another Secret.
   */
  SecretInUse: "SecretInUse",
  /**
   * The application found (through status, spec.adopt or the credentials Secret) belongs to another
   * integration, whose UID its ownership claim carries (the message names it), or carries no claim
   * and was not named by spec.adopt: this integration never changes, rotates or deletes it.
   */
  ApplicationInUse: "ApplicationInUse",
  /**
   * A BearerToken with the integration's name exists and is not its child (a user's): it is never
   * changed or deleted, and the integration publishes no token until it is renamed or removed.
   */
  BearerTokenInUse: "BearerTokenInUse",
  /**
   * A write to DataTrails did not stick: the same correction (of the application, or of an access
   * policy) was made 3 times for this generation and DataTrails still holds something else. The
   * operator stopped writing it (each policy write is an Event on every matching asset) until the
   * spec changes, or a day later; the message names what did not converge.
   */
  ConvergenceFailed: "ConvergenceFailed",
  /** An access policy could not be read, created, updated or deleted; the message names the policy and the DataTrails error code. */
  AccessPolicyFailed: "AccessPolicyFailed",
  /** spec.suspend is true: nothing is written to DataTrails or to Secrets until it is cleared. */
  Suspended: "Suspended",
  /** Deletion waits: the integration is suspended; clear spec.suspend, or set deletionPolicy Orphan. */
  DeleteSuspended: "DeleteSuspended",
  /** A spec.reload target (by name) does not exist, or a selector matches no workload; the message names it. */
  ReloadTargetNotFound: "ReloadTargetNotFound",
  /**
   * The operator may not read or patch a spec.reload target (403): the chart grants apps/* get, list
   * and patch only with workloadReload.enabled. The message names the target.
   */
  ReloadForbidden: "ReloadForbidden",
  /** Reading or patching a spec.reload target failed otherwise; the message names it and the error code. */
  ReloadFailed: "ReloadFailed",
} as const;

/** A condition type. */
export type ConditionTypeName = (typeof ConditionType)[keyof typeof ConditionType];
/** A condition reason. */
export type ReasonName = (typeof Reason)[keyof typeof Reason];

/** A condition as a controller states it; the transition time is filled in by {@link setCondition}. */
export interface ConditionInput {
  type: ConditionTypeName;
  status: "True" | "False" | "Unknown";
  reason: ReasonName;
  message: string;
  observedGeneration: number;
}

/** A metav1.Condition as stored. */
interface StoredCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  observedGeneration?: number | undefined;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

/**
 * Returns `conditions` with `next` set, keeping lastTransitionTime when the status did not flip
 * (metav1.Condition semantics), so that re-stating a condition writes nothing new.
 */
export function setCondition<C extends StoredCondition>(
  conditions: readonly C[] | undefined,
  next: ConditionInput,
  now: Date,
): StoredCondition[] {
  const list = [...(conditions ?? [])] as StoredCondition[];
  const at = list.findIndex((c) => c.type === next.type);
  const previous = at >= 0 ? list[at] : undefined;
  const lastTransitionTime =
    previous && previous.status === next.status ? previous.lastTransitionTime : rfc3339(now);
  const condition: StoredCondition = { ...next, lastTransitionTime };
  if (at >= 0) list[at] = condition;
  else list.push(condition);
  return list;
}

/** The condition of a type, if present. */
export function findCondition<C extends { type: string }>(
  conditions: readonly C[] | undefined,
  type: string,
): C | undefined {
  return conditions?.find((c) => c.type === type);
}
