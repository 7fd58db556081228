/**
 * The first status of a create, held in memory until the child BearerToken has its first token
 * (docs/design.md, "Create"). A create's status (the identity, CredentialsReady True, TokenReady
 * "waiting for the first token") would be written, and then written again a moment later when the
 * child reports its token: one status write per create is saved by writing it once, with Ready.
 *
 * Nothing durable is given up: what the held status records is also in DataTrails (the application
 * carries this object's UID) and in the credentials Secret (its client ID), and the create-started
 * annotation stays until the identity is written. A process that dies holding a status leaves what
 * a crash right after the child's apply leaves, and the next one recovers it the same way (search by
 * display name, the stored secret tried once). While a status is held, every reconcile of the object
 * in this process acts on it, so nothing is done twice; any status write of the object ends the hold
 * (this controller's, or another's: the reload controller writes status too), and a status is held
 * for {@link holdLimitMs} at most.
 */
import {
  ConditionType,
  findCondition,
  Reason,
  type DataTrailsIntegration,
  type IntegrationStatus,
} from "../../api/v1alpha1/index.ts";
import { statusChanged } from "../../k8s/status.ts";

/** How long a create's status waits for the child's first token before it is written anyway. */
export const holdLimitMs = 30_000;

/** A status held for one object (by UID: a new object of the same name holds nothing). */
interface Held {
  uid: string;
  status: IntegrationStatus;
  since: number;
  /** The stored status it was held over: another writer's change (the reload controller's) ends the hold. */
  over: IntegrationStatus | undefined;
}

/** The object a reconcile acts on, and the status the API server has for it. */
interface Overlaid {
  obj: DataTrailsIntegration;
  /** The status as read (what a write is compared with). */
  stored: IntegrationStatus | undefined;
  /** Since when its status has been held (epoch ms), when it is. */
  heldSince?: number;
}

/** The statuses one integration controller holds, by key. */
export interface HeldStatuses {
  /** The object with the status held for it, as long as the stored status records no identity yet. */
  overlay(key: string, obj: DataTrailsIntegration): Overlaid;
  hold(key: string, held: Held): void;
  drop(key: string): void;
}

/** An empty {@link HeldStatuses}. */
export function heldStatuses(): HeldStatuses {
  const held = new Map<string, Held>();
  return {
    overlay(key, obj) {
      const entry = held.get(key);
      if (!entry || entry.uid !== obj.metadata.uid || statusChanged(entry.over ?? {}, obj.status ?? {})) {
        held.delete(key);
        return { obj, stored: obj.status };
      }
      return { obj: { ...obj, status: entry.status }, stored: obj.status, heldSince: entry.since };
    },
    hold(key, entry) {
      held.set(key, entry);
    },
    drop(key) {
      held.delete(key);
    },
  };
}

/**
 * Whether `next` may be held rather than written: the status of a create this process just made
 * (the stored status records no identity), complete but for the child's first token, with nothing
 * pending in it and no access policies (their creation writes status marks of its own).
 */
export function mayHold(stored: IntegrationStatus | undefined, next: IntegrationStatus): boolean {
  if (stored?.applicationIdentity || !next.applicationIdentity || !next.credentialsSecretVersion)
    return false;
  if (next.pendingCreate || next.pendingRotation || next.accessPolicies?.length) return false;
  const credentials = findCondition(next.conditions, ConditionType.CredentialsReady);
  const token = findCondition(next.conditions, ConditionType.TokenReady);
  return (
    credentials?.status === "True" &&
    token?.status === "Unknown" &&
    token.reason === Reason.Reconciling &&
    findCondition(next.conditions, ConditionType.AccessPoliciesReady) === undefined
  );
}
