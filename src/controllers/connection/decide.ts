/**
 * The connection check's decision, pure: what a check found → the Ready condition, the Event for a
 * transition, and when to check again. Every failure is mapped to a reason here and nowhere else.
 */
import {
  ConditionType,
  findCondition,
  Reason,
  type ConnectionStatus,
  type ReasonName,
} from "../../api/v1alpha1/index.ts";
import { jitterFraction } from "../../tokens/schedule.ts";
import { withCondition } from "../conditions.ts";
import { settledCheckDelayMs } from "../integration/predicates.ts";
import type { ConnectionCheck, ConnectionObject, ConnectionObserved } from "./gather.ts";

/** Tunables of {@link decideConnection}. */
export interface ConnectionDecideOptions {
  /** How often a connection is checked again when nothing changes. */
  resyncIntervalMs: number;
}

/** The Event a transition records. */
interface ConnectionEvent {
  type: "Normal" | "Warning";
  /** `Connected` or `ConnectionFailed`. */
  reason: "Connected" | "ConnectionFailed";
  note: string;
}

/** When to check again. */
type NextCheck =
  /** After a delay (the periodic check, or what a 429 asked for). */
  | { afterMs: number }
  /** With the work queue's per-key exponential backoff. */
  | { backoff: true }
  /** Only when the object changes (an invalid spec). */
  | { never: true };

/** What to do after a check. */
export interface ConnectionPlan {
  /** The whole status to write (written only when it differs from the current one). */
  status: ConnectionStatus;
  /** The reason of the Ready condition. */
  reason: ReasonName;
  /** The Ready condition's message. */
  message: string;
  /** Set when Ready changed status or reason. */
  event?: ConnectionEvent;
  next: NextCheck;
}

/** The Event reasons of the connection controller. */
const ConnectionEventReason = {
  /** Ready turned True: the admin credentials work and carry the OWNER role. */
  Connected: "Connected",
  /** Ready turned False, or failed for a different reason than before; the note names the reason. */
  ConnectionFailed: "ConnectionFailed",
} as const;

const jitterOf = (obj: ConnectionObject) =>
  jitterFraction(obj.metadata.uid || `${obj.metadata.namespace ?? ""}/${obj.metadata.name}`);

/**
 * The delay between two checks of a Ready connection: 90 % to 100 % of the resync interval, fixed
 * per object, so that connections created together do not stay in step.
 */
export function periodicCheckDelayMs(fraction: number, resyncIntervalMs: number): number {
  const clamped = Math.min(1, Math.max(0, fraction));
  return Math.max(1000, Math.floor(resyncIntervalMs * (0.9 + 0.1 * clamped)));
}

/** Whether the connection is Ready for its current generation (its last check found it good). */
export function connectionIsSettled(obj: ConnectionObject): boolean {
  const generation = obj.metadata.generation;
  const ready = findCondition(obj.status?.conditions, ConditionType.Ready);
  return (
    ready?.status === "True" &&
    ready.observedGeneration === generation &&
    obj.status?.observedGeneration === generation
  );
}

/**
 * How long a restarted operator waits before checking a settled connection again: 10 % to 100 % of
 * the resync interval, per object (the rule integrations follow), so a restart asks DataTrails
 * nothing at once.
 */
export function firstCheckDelayMs(obj: ConnectionObject, options: ConnectionDecideOptions): number {
  return settledCheckDelayMs(jitterOf(obj), options.resyncIntervalMs);
}

/** Whether to try the credentials now, or how long to wait. */
type CheckTiming = { check: true } | { check: false; afterMs: number };

/**
 * When a connection is next checked against DataTrails. At once when it is not settled (no check
 * yet for this generation, or the last one failed) or its admin Secret changed since the last
 * check; otherwise at `dueAtMs`, the time this process scheduled, or, on the first look since the
 * process started (a restart, or an event that woke the object), after {@link firstCheckDelayMs}.
 * So Secret events that change nothing (a watch replaying every Secret) cost no DataTrails call.
 */
export function checkTiming(
  obj: ConnectionObject,
  secretVersion: string | undefined,
  dueAtMs: number | undefined,
  nowMs: number,
  options: ConnectionDecideOptions,
): CheckTiming {
  const secretUnchanged =
    secretVersion !== undefined && obj.status?.credentialsSecretVersion === secretVersion;
  if (!connectionIsSettled(obj) || !secretUnchanged) return { check: true };
  const due = dueAtMs ?? nowMs + firstCheckDelayMs(obj, options);
  return due <= nowMs ? { check: true } : { check: false, afterMs: due - nowMs };
}

interface Verdict {
  ready: boolean;
  reason: ReasonName;
  message: string;
  next: NextCheck;
}

function verdictOf(check: ConnectionCheck, obj: ConnectionObject, options: ConnectionDecideOptions): Verdict {
  const backoff = { backoff: true } as const;
  switch (check.state) {
    case "invalidSpec":
      return { ready: false, reason: Reason.InvalidSpec, message: check.message, next: { never: true } };
    case "secretMissing": {
      const message = check.unreadable
        ? `Secret ${check.secret} cannot be read: the operator's RBAC does not allow get on Secrets in that namespace.`
        : check.missingKeys.length === 0
          ? `Secret ${check.secret} not found.`
          : `Secret ${check.secret} has no ${check.missingKeys.join(" or ")}.`;
      return { ready: false, reason: Reason.SecretNotFound, message, next: backoff };
    }
    case "connected":
      return {
        ready: true,
        reason: Reason.Ready,
        message: `Connected to ${check.url} as an OWNER (client ID ${check.clientId}).`,
        next: { afterMs: periodicCheckDelayMs(jitterOf(obj), options.resyncIntervalMs) },
      };
    case "failed":
      break;
  }
  const who = `the admin credentials (client ID ${check.clientId})`;
  const http = check.status !== undefined ? `HTTP ${check.status}` : check.code;
  if (check.code === "RateLimited") {
    return {
      ready: false,
      reason: Reason.RateLimited,
      message: `DataTrails at ${check.url} is rate limiting ${who} (${http}); checking again later.`,
      next: check.retryAfterMs !== undefined ? { afterMs: Math.max(1000, check.retryAfterMs) } : backoff,
    };
  }
  if (
    check.step === "token" &&
    ["Unauthenticated", "InvalidArgument", "PermissionDenied"].includes(check.code)
  ) {
    // DataTrails (and the emulator) answer the same 401 for an unknown client and a wrong secret.
    return {
      ready: false,
      reason: Reason.CredentialsRejected,
      message: `The token endpoint of ${check.url} refused ${who}: unknown client or wrong secret (${http}).`,
      next: backoff,
    };
  }
  if (check.step === "owner" && check.code === "PermissionDenied") {
    return {
      ready: false,
      reason: Reason.NotOwner,
      message:
        `${check.url} issued a token for ${who} but refused it an OWNER-only call (${http}): ` +
        "the integration is not an administrator; use one with the OWNER role.",
      next: backoff,
    };
  }
  if (check.step === "owner" && check.code === "Unauthenticated") {
    return {
      ready: false,
      reason: Reason.CredentialsRejected,
      message: `${check.url} issued a token for ${who} but did not accept it (${http}).`,
      next: backoff,
    };
  }
  return {
    ready: false,
    reason: Reason.DataTrailsUnavailable,
    message: `DataTrails at ${check.url} could not be reached or failed: ${check.message}`,
    next: backoff,
  };
}

/** Decides the status, the Event and the next check from what a check found. */
export function decideConnection(
  observed: ConnectionObserved,
  now: Date,
  options: ConnectionDecideOptions,
): ConnectionPlan {
  const obj = observed.object;
  const verdict = verdictOf(observed.check, obj, options);
  const generation = obj.metadata.generation;
  const conditions = withCondition(
    obj.status?.conditions,
    ConditionType.Ready,
    { status: verdict.ready ? "True" : "False", reason: verdict.reason, message: verdict.message },
    { generation, now },
  );
  const before = findCondition(obj.status?.conditions, ConditionType.Ready);
  const { credentialsSecretVersion: _previousVersion, ...previous } = obj.status ?? {};
  const status: ConnectionStatus = {
    ...previous,
    observedGeneration: generation,
    ...(observed.secretVersion !== undefined ? { credentialsSecretVersion: observed.secretVersion } : {}),
    conditions,
  };
  const plan: ConnectionPlan = {
    status,
    reason: verdict.reason,
    message: verdict.message,
    next: verdict.next,
  };
  if (verdict.ready && before?.status !== "True") {
    plan.event = { type: "Normal", reason: ConnectionEventReason.Connected, note: verdict.message };
  } else if (!verdict.ready && (before?.status !== "False" || before.reason !== verdict.reason)) {
    plan.event = {
      type: "Warning",
      reason: ConnectionEventReason.ConnectionFailed,
      note: `${verdict.reason}: ${verdict.message}`,
    };
  }
  return plan;
}
