/**
 * The BearerToken controller's decisions, as pure functions of what was observed and the time. The
 * schedule itself (when a token is due, how long to back off) is in tokens/schedule.ts.
 */
import {
  ConditionType,
  findCondition,
  Reason,
  refreshAnnotation,
  type BearerTokenStatus,
  type ReasonName,
  rfc3339,
} from "../../api/v1alpha1/index.ts";
import { isShownSuspended, pendingRequest, resumedConditions, suspendedConditions } from "../control.ts";
import {
  delayUntilRefresh,
  refreshAt,
  refreshRetryDelayMs,
  tokenIsDue,
  tokenIsExpired,
  type RefreshRetryPolicy,
} from "../../tokens/schedule.ts";
import type { AppliedSecret } from "../../k8s/secrets.ts";
import { conditionIsNews, stateConditions } from "../conditions.ts";
import { failureReason } from "./failures.ts";
import type { RefreshCause, RefreshOutcome, RefreshPlan, TokenObserved, TokenSecretView } from "./model.ts";
import { tokenSecret } from "./secret.ts";

/** The per-object key that fixes the refresh point and the jitter: the object's UID. */
function scheduleKey(o: TokenObserved): string {
  return o.object.metadata.uid;
}

/** Whether the issuer's inputs changed since the token was obtained (either recorded form counts). */
function inputsChanged(o: TokenObserved, s: TokenSecretView): boolean {
  return (
    o.inputs.state === "ready" &&
    s.inputsVersion !== o.inputs.version &&
    s.inputsVersion !== o.inputs.legacyVersion
  );
}

/**
 * Whether the spec changed in a way the token depends on: by the request digest when the Secret
 * records one, else (Secrets of earlier versions) by generation. A template change is not one.
 */
function specChanged(o: TokenObserved, s: TokenSecretView): boolean {
  if (s.request !== undefined && o.request !== undefined) return s.request !== o.request;
  return s.generation !== o.object.metadata.generation;
}
/** The datatrails.ai/refresh-requested-at value not yet acted on, if any. */
export function refreshRequested(o: TokenObserved): string | undefined {
  const value = pendingRequest(
    o.object.metadata.annotations,
    refreshAnnotation,
    o.object.status?.lastRefreshRequest,
  );
  // The token Secret (read fresh) says which request its token answers, before the cache may.
  return value !== undefined && value !== o.secret?.refreshRequest ? value : undefined;
}

/** How long a suspended BearerToken waits before looking again (a spec change wakes it at once). */
const suspendedRecheckMs = 3_600_000;

/** Whether a token must be fetched now, and why; otherwise how long to wait. */
export function planRefresh(o: TokenObserved, now: Date): RefreshPlan {
  const s = o.secret;
  const fetch = (cause: RefreshCause): RefreshPlan => ({ fetch: true, cause });
  const changed = s !== undefined && (inputsChanged(o, s) || specChanged(o, s));
  // After a failure, a retry is scheduled (status.nextRefreshAt): events in between, such as the
  // status write itself, must not turn the backoff into a hot loop. A changed input or spec is
  // news, though, and is tried at once.
  const retryAt = o.object.status?.consecutiveFailures
    ? Date.parse(o.object.status.nextRefreshAt ?? "")
    : NaN;
  // A refresh request is news too: it is answered at once, even during a backoff.
  const requested = refreshRequested(o) !== undefined;
  if (!changed && !requested && retryAt > now.getTime())
    return { fetch: false, requeueAfterMs: Math.max(1000, retryAt - now.getTime()) };
  if (!s || !s.hasToken || !s.issuedAt || !s.expiresAt) return fetch("missing");
  if (tokenIsExpired(s.expiresAt, now)) return fetch("expired");
  if (inputsChanged(o, s)) return fetch("inputsChanged");
  if (specChanged(o, s)) return fetch("specChanged");
  if (!s.wellFormed) return fetch("malformed");
  if (requested) return fetch("requested");
  const times = { issuedAt: s.issuedAt, expiresAt: s.expiresAt };
  if (tokenIsDue(times, scheduleKey(o), now)) return fetch("due");
  return { fetch: false, requeueAfterMs: delayUntilRefresh(times, scheduleKey(o), now) };
}

function conditionsWith(
  o: TokenObserved,
  status: BearerTokenStatus,
  now: Date,
  state: "True" | "False" | "Unknown",
  reason: ReasonName,
  message: string,
): BearerTokenStatus["conditions"] {
  return stateConditions(
    status.conditions,
    [ConditionType.TokenReady, ConditionType.Ready],
    { status: state, reason, message },
    { generation: o.object.metadata.generation, now },
  );
}

/** The status a step starts from: the object's, for its generation, with no Suspended condition (it is active). */
function baseStatus(o: TokenObserved): BearerTokenStatus {
  const status: BearerTokenStatus = {
    ...(o.object.status ?? {}),
    observedGeneration: o.object.metadata.generation,
  };
  const conditions = resumedConditions(status.conditions);
  if (conditions) status.conditions = conditions;
  return status;
}

/** The status of a token that needs no fetch: valid and scheduled. */
export function steadyStatus(o: TokenObserved, now: Date): BearerTokenStatus {
  const s = o.secret;
  const status = baseStatus(o);
  if (!s?.issuedAt || !s.expiresAt) return status;
  status.tokenIssuedAt = rfc3339(s.issuedAt);
  status.tokenExpiresAt = rfc3339(s.expiresAt);
  status.nextRefreshAt = rfc3339(refreshAt({ issuedAt: s.issuedAt, expiresAt: s.expiresAt }, scheduleKey(o)));
  const failing =
    findCondition(o.object.status?.conditions, ConditionType.TokenReady)?.reason === Reason.RefreshFailing;
  if (!failing) {
    status.conditions = conditionsWith(
      o,
      status,
      now,
      "True",
      Reason.TokenValid,
      `Token valid until ${status.tokenExpiresAt}.`,
    );
    delete status.lastFailure;
    delete status.consecutiveFailures;
  }
  return status;
}

/**
 * Whether a freshly issued token would be worse than the one published: a scheduled refresh (same
 * credentials, same spec) whose token expires before the published, still valid one. Issuers that
 * cache tokens can hand back one nearer its end; publishing it would shorten what the workloads hold.
 * After a credentials or spec change the new token is published whatever its expiry: it is the one
 * the new inputs vouch for.
 */
export function tokenIsWorse(
  o: TokenObserved,
  outcome: RefreshOutcome,
  cause: RefreshCause,
  now: Date,
): boolean {
  const held = o.secret?.hasToken ? o.secret.expiresAt : undefined;
  return (
    outcome.ok &&
    cause === "due" &&
    held !== undefined &&
    !tokenIsExpired(held, now) &&
    outcome.expiresAt.getTime() < held.getTime()
  );
}

/**
 * What to publish and when to look again after a fetch. A token worse than the published one
 * ({@link tokenIsWorse}) is not published: the refresh counts as failed and is retried with backoff.
 */
export function afterRefresh(
  o: TokenObserved,
  fetched: RefreshOutcome,
  now: Date,
  policy?: RefreshRetryPolicy,
  cause: RefreshCause = "due",
): { publish: boolean; status: BearerTokenStatus; requeueAfterMs: number } {
  const outcome: RefreshOutcome =
    fetched.ok && tokenIsWorse(o, fetched, cause, now)
      ? {
          ok: false,
          kind: "unavailable",
          message:
            `the issuer returned a token expiring at ${rfc3339(fetched.expiresAt)}, before the published ` +
            `one; kept the published token`,
        }
      : fetched;
  const status = baseStatus(o);
  // The fetch answers a pending request, whatever its outcome: one token request per value.
  const request = refreshRequested(o);
  if (request !== undefined) status.lastRefreshRequest = request;
  if (outcome.ok) {
    const times = { issuedAt: outcome.issuedAt, expiresAt: outcome.expiresAt };
    status.tokenIssuedAt = rfc3339(outcome.issuedAt);
    status.tokenExpiresAt = rfc3339(outcome.expiresAt);
    status.nextRefreshAt = rfc3339(refreshAt(times, scheduleKey(o)));
    delete status.lastFailure;
    delete status.consecutiveFailures;
    status.conditions = conditionsWith(
      o,
      status,
      now,
      "True",
      Reason.TokenValid,
      `Token valid until ${status.tokenExpiresAt}.`,
    );
    return { publish: true, status, requeueAfterMs: delayUntilRefresh(times, scheduleKey(o), now) };
  }
  const failures = (o.object.status?.consecutiveFailures ?? 0) + 1;
  const expiresAt = o.secret?.hasToken ? o.secret.expiresAt : undefined;
  const stillValid = expiresAt !== undefined && !tokenIsExpired(expiresAt, now);
  let delay = refreshRetryDelayMs(failures, scheduleKey(o), now, expiresAt, policy);
  if (outcome.retryAfterMs !== undefined) delay = Math.max(delay, outcome.retryAfterMs);
  // Wake up at expiry too, so the condition turns False when the kept token dies.
  if (stillValid) delay = Math.min(delay, Math.max(1000, expiresAt.getTime() - now.getTime()));
  status.consecutiveFailures = failures;
  status.lastFailure = outcome.message;
  status.nextRefreshAt = rfc3339(new Date(now.getTime() + delay));
  const reason = failureReason[outcome.kind];
  const message = stillValid
    ? `Refresh failed (${outcome.message}); the published token stays valid until ${rfc3339(expiresAt)}.`
    : `No valid token: ${outcome.message}`;
  const finalReason = stillValid ? Reason.RefreshFailing : expiresAt ? Reason.TokenExpired : reason;
  status.conditions = conditionsWith(o, status, now, stillValid ? "True" : "False", finalReason, message);
  return { publish: false, status, requeueAfterMs: delay };
}

/**
 * The status of a BearerToken that may not write its token Secret (another object holds it, or it
 * is a user's): TokenReady and Ready False with the reason; nothing is fetched or published.
 */
function refusedStatus(o: TokenObserved, now: Date, reason: ReasonName, message: string): BearerTokenStatus {
  const status = baseStatus(o);
  delete status.nextRefreshAt;
  status.conditions = conditionsWith(o, status, now, "False", reason, message);
  return status;
}

/** An Event a token step records. */
interface TokenEvent {
  type: "Normal" | "Warning";
  reason: string;
  note: string;
}

/** A step that writes no Secret: refuse (the Secret is not ours), wait for the refresh point, or keep the published token. */
interface StatusStep {
  status: BearerTokenStatus;
  event?: TokenEvent;
  requeueAfterMs: number;
}

/**
 * The status of a suspended BearerToken: the Suspended condition, everything else as it was (the
 * published token stays; no refresh is scheduled while suspended).
 */
function suspendedStatus(o: TokenObserved, now: Date, message: string): BearerTokenStatus {
  const status: BearerTokenStatus = {
    ...(o.object.status ?? {}),
    observedGeneration: o.object.metadata.generation,
  };
  delete status.nextRefreshAt;
  status.conditions = suspendedConditions(status.conditions, message, {
    generation: o.object.metadata.generation,
    now,
  });
  return status;
}

/**
 * What a reconcile does before any fetch: refuse (the Secret is not ours), wait, fetch, or reshape
 * (the published token is good, the Secret's shape is not what spec.secretTemplate says).
 */
type BeforeFetch =
  | ({ kind: "refuse" } & StatusStep)
  /** `expiresAt`: the published token's expiry, for the gauge. */
  | ({ kind: "wait"; expiresAt?: Date } & StatusStep)
  | { kind: "fetch"; cause: RefreshCause }
  | { kind: "reshape"; requeueAfterMs: number };

/**
 * What a reconcile does after a fetch: publish the new token (the whole Secret to write, created
 * when absent, applied when ours), or keep the published one with a TokenRefreshFailed Event.
 */
type AfterFetch =
  | ({ kind: "publish"; secret: AppliedSecret; create: boolean; expiresAt: Date } & StatusStep)
  | ({ kind: "keep"; event: TokenEvent } & StatusStep);

/** Any step apply.ts carries out. */
export type TokenStep = Exclude<BeforeFetch, { kind: "fetch" | "reshape" }> | AfterFetch;

/**
 * The first step of a reconcile. `problem` is why the token Secret may not be written (secret-claim.ts),
 * if it may not: then nothing is fetched, and the refusal's Event is recorded only when it is news.
 */
export function beforeFetch(o: TokenObserved, problem: string | undefined, now: Date): BeforeFetch {
  const held = o.secret?.hasToken ? o.secret.expiresAt : undefined;
  if (o.spec?.suspend === true) {
    // Suspended: no token request, no Secret write; a pending refresh request waits for the resume.
    const message =
      "Suspended (spec.suspend): no token is requested and the token Secret is not written" +
      (held ? `; the published token expires at ${rfc3339(held)}.` : ".");
    return {
      kind: "wait",
      status: suspendedStatus(o, now, message),
      requeueAfterMs: suspendedRecheckMs,
      ...(held ? { expiresAt: held } : {}),
      ...(!isShownSuspended(o.object.status?.conditions)
        ? { event: { type: "Normal", reason: Reason.Suspended, note: message } }
        : {}),
    };
  }
  if (problem) {
    const reason = o.secretClaim.state === "held" ? Reason.SecretInUse : Reason.SecretNotOwned;
    const news = conditionIsNews(o.object.status?.conditions, ConditionType.TokenReady, reason, problem);
    return {
      kind: "refuse",
      status: refusedStatus(o, now, reason, problem),
      ...(news ? { event: { type: "Warning", reason, note: problem } } : {}),
      // The Secret's events wake it sooner (it is indexed by name); this is the fallback.
      requeueAfterMs: 60_000,
    };
  }
  const plan = planRefresh(o, now);
  if (plan.fetch) return { kind: "fetch", cause: plan.cause };
  if (o.secret?.hasToken && !o.secret.shapeCurrent)
    return { kind: "reshape", requeueAfterMs: plan.requeueAfterMs };
  const expiresAt = o.secret?.expiresAt;
  return {
    kind: "wait",
    status: steadyStatus(o, now),
    requeueAfterMs: plan.requeueAfterMs,
    ...(expiresAt ? { expiresAt } : {}),
  };
}

/**
 * The step after a fetch ({@link afterRefresh} decides): publish with a TokenRefreshed Event unless
 * it is a routine refresh of a token that was valid, or keep the published token with a
 * TokenRefreshFailed Event.
 */
export function afterFetch(
  o: TokenObserved,
  fetched: RefreshOutcome,
  now: Date,
  cause: RefreshCause,
  policy?: RefreshRetryPolicy,
): AfterFetch {
  const result = afterRefresh(o, fetched, now, policy, cause);
  const claim = o.secretClaim;
  if (
    result.publish &&
    fetched.ok &&
    o.spec &&
    o.inputs.state === "ready" &&
    (claim.state === "free" || claim.state === "mine")
  ) {
    const wasReady =
      findCondition(o.object.status?.conditions, ConditionType.TokenReady)?.reason === Reason.TokenValid;
    const times = { issuedAt: fetched.issuedAt, expiresAt: fetched.expiresAt };
    return {
      kind: "publish",
      // An absent Secret is created, never applied over one made a moment ago.
      secret: tokenSecret(
        o.object,
        o.spec,
        claim,
        fetched.accessToken,
        times,
        o.inputs.version,
        refreshRequested(o) ?? o.object.status?.lastRefreshRequest ?? o.secret?.refreshRequest,
        claim.state === "mine" ? o.secret?.stale : undefined,
      ),
      create: claim.state === "free",
      expiresAt: fetched.expiresAt,
      status: result.status,
      requeueAfterMs: result.requeueAfterMs,
      ...(cause !== "due" || !wasReady
        ? {
            event: {
              type: "Normal",
              reason: "TokenRefreshed",
              note:
                `Published a token valid until ${result.status.tokenExpiresAt ?? "?"} (${cause}` +
                (cause === "requested" ? `: ${refreshAnnotation}=${refreshRequested(o) ?? ""}` : "") +
                ").",
            },
          }
        : {}),
    };
  }
  return {
    kind: "keep",
    status: result.status,
    requeueAfterMs: result.requeueAfterMs,
    event: {
      type: "Warning",
      reason: "TokenRefreshFailed",
      note: result.status.lastFailure ?? "refresh failed",
    },
  };
}

/**
 * The step of a reshape: the published token written again, unchanged, in the shape
 * spec.secretTemplate says (labels, annotations, key names, renderings); no request to the issuer.
 * `published` is the token read back from the Secret. Without it (or a spec, or a Secret of ours)
 * there is nothing to reshape, and the step is a wait.
 */
export function reshapeStep(
  o: TokenObserved,
  published: string | undefined,
  now: Date,
  requeueAfterMs: number,
): TokenStep {
  const s = o.secret;
  const expiresAt = s?.expiresAt;
  const status = steadyStatus(o, now);
  if (!published || !o.spec || o.secretClaim.state !== "mine" || !s?.issuedAt || !expiresAt)
    return { kind: "wait", status, requeueAfterMs, ...(expiresAt ? { expiresAt } : {}) };
  const inputsVersion = o.inputs.state === "ready" ? o.inputs.version : (s.inputsVersion ?? "");
  return {
    kind: "publish",
    secret: tokenSecret(
      o.object,
      o.spec,
      o.secretClaim,
      published,
      { issuedAt: s.issuedAt, expiresAt },
      inputsVersion,
      s.refreshRequest,
      s.stale,
    ),
    create: false,
    expiresAt,
    status,
    requeueAfterMs,
    event: {
      type: "Normal",
      reason: "SecretUpdated",
      note: "Rewrote the token Secret in the shape spec.secretTemplate gives; the token is unchanged.",
    },
  };
}
