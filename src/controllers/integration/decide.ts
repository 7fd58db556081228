/**
 * The integration controller's decision, a pure function of what was observed and the time: a short
 * dispatcher over deletion (deletion.ts), the refusals and failed lookups that stop a plan, the
 * create plan (create.ts), and for an existing application its drift, its rotation (rotation.ts) and
 * its access policies (policies.ts). Status is drafted with plan-status.ts.
 */
import { applicationFinalizer, Reason, rfc3339, type IntegrationSpec } from "../../api/v1alpha1/index.ts";
import { claimProblem } from "../secret-claim.ts";
import { correctionGuard, type CorrectionGuard } from "./corrections.ts";
import { decideCreate } from "./create.ts";
import { decideDeletion } from "./deletion.ts";
import type { Action, ApplicationView, IntegrationObserved, Plan } from "./model.ts";
import { draftOf, failed, heldBack, recordCorrections, refused, settle, type Draft } from "./plan-status.ts";
import { policyDeletions, policyStep } from "./policies.ts";
import { credentialsSecretName, desiredClaims, ownedBy, rotationDueAt } from "./predicates.ts";
import { regenerateCause, rotationActions, rotationState } from "./rotation.ts";
import { isShownSuspended, resumedConditions } from "../control.ts";
import { decideSuspended, suspendedDeletion } from "./suspension.ts";

/** Tunables of decide(). */
export interface DecideOptions {
  /** How often to re-read the application in DataTrails to repair drift when nothing else is due. */
  resyncIntervalMs: number;
  /** How long to wait before looking again for an adopt target that does not exist. */
  missingTargetRetryMs: number;
}

function claimsEqual(a: Record<string, string>, b: Record<string, string>): boolean {
  const ak = Object.keys(a);
  return ak.length === Object.keys(b).length && ak.every((k) => a[k] === b[k]);
}

/** The message of an ApplicationInUse refusal. */
function foreignMessage(f: NonNullable<IntegrationObserved["foreignApplication"]>): string {
  const whose =
    f.why === "notClaimed"
      ? "carries no ownership claim and was neither created nor adopted by this integration"
      : f.why === "adoptedFirst"
        ? `is adopted by the older DataTrailsIntegration ${f.holder ?? "?"}`
        : `belongs to ${f.holder ? `DataTrailsIntegration ${f.holder}` : "another integration, which no longer exists"}`;
  return `Application ${f.identity} ${whose}; it is not changed, rotated or deleted by this one.`;
}

/** Decides what to do for one DataTrailsIntegration. */
export function decide(o: IntegrationObserved, now: Date, options: DecideOptions): Plan {
  const obj = o.object;
  const spec = o.spec;
  const d = draftOf(o, now);

  const suspended = spec?.suspend === true;
  if (obj.metadata.deletionTimestamp)
    return suspended && spec.deletionPolicy !== "Orphan"
      ? suspendedDeletion(o, d)
      : decideDeletion(o, spec, d);

  if (!spec) return failed(d, { reason: Reason.InvalidSpec, message: o.specError ?? "The spec is invalid." });
  if (suspended) return decideSuspended(o, spec, d);

  const actions: Action[] = [];
  if (isShownSuspended(obj.status?.conditions)) {
    // Resumed: the condition goes, and the reconcile picks up what is due (a waiting request too).
    actions.push({
      type: "RecordEvent",
      eventType: "Normal",
      reason: "Resumed",
      note: "Resumed (spec.suspend cleared): the operator acts on the integration again.",
    });
  }
  const active = resumedConditions(d.status.conditions);
  if (active) d.status.conditions = active;
  if (!(obj.metadata.finalizers ?? []).includes(applicationFinalizer)) actions.push({ type: "AddFinalizer" });

  const secretProblem = claimProblem(credentialsSecretName(obj, spec), o.credentialsClaim);
  if (secretProblem) {
    const reason = o.credentialsClaim.state === "held" ? Reason.SecretInUse : Reason.SecretNotOwned;
    return refused(o, d, actions, reason, secretProblem);
  }
  if (o.connection.state === "failed") return failed(d, o.connection, actions);
  const { url, tokenUrl } = o.connection;
  for (const lookup of [o.application, o.search, o.secretCheck])
    if (lookup.state === "failed") return failed(d, lookup, actions);
  if (o.foreignApplication)
    return refused(o, d, actions, Reason.ApplicationInUse, foreignMessage(o.foreignApplication));

  const guard = correctionGuard(obj.status?.corrections, obj.metadata.generation, now);
  let app: ApplicationView | undefined = o.application.state === "found" ? o.application.app : undefined;
  if (o.application.state === "missing") {
    if (!guard.allow("application", { recreate: spec.displayName }))
      return heldBack(o, d, guard, actions, options.resyncIntervalMs);
    if (o.identity?.source === "adopt") {
      return failed(
        d,
        {
          reason: Reason.AdoptTargetNotFound,
          message: `spec.adopt.identity ${o.identity.value} does not exist in DataTrails.`,
          retryAfterMs: options.missingTargetRetryMs,
        },
        actions,
      );
    }
    actions.push({
      type: "RecordEvent",
      eventType: "Warning",
      reason: "ApplicationMissing",
      note: `${o.identity?.value ?? "The application"} no longer exists in DataTrails; creating it again.`,
    });
    // Its policies name a client_id that no longer exists: they go, new ones follow the new application.
    const stale = policyDeletions(obj, o.policies);
    if (stale.failure) return failed(d, stale.failure, actions);
    actions.push(...stale.actions);
    delete d.status.accessPolicies;
    delete d.status.applicationIdentity;
    delete d.status.clientId;
  }
  if (!app && o.search.state === "done") {
    const [first, ...extra] = ownedBy(o.search.apps, obj.metadata.uid);
    app = first;
    for (const dup of extra)
      actions.push({ type: "DeleteApplication", identity: dup.identity, cause: "duplicate" });
  }

  const claims = desiredClaims(spec, obj.metadata.uid);
  const stamp = rfc3339(now);
  if (!app)
    return decideCreate(o, spec, d, guard, actions, {
      url,
      tokenUrl,
      claims,
      rotateRequest: rotationState(obj, app).rotateRequest,
      stamp,
      resyncIntervalMs: options.resyncIntervalMs,
    });
  return decideExisting(o, spec, d, guard, actions, app, { url, tokenUrl, claims, stamp, now, options });
}

/** The plan for an application that exists: its secret in hand, its drift repaired, its policies. */
function decideExisting(
  o: IntegrationObserved,
  spec: IntegrationSpec,
  d: Draft,
  guard: CorrectionGuard,
  actions: Action[],
  app: ApplicationView,
  c: {
    url: string;
    tokenUrl: string;
    claims: Record<string, string>;
    stamp: string;
    now: Date;
    options: DecideOptions;
  },
): Plan {
  const rotation = rotationState(o.object, app);
  const regenerate = regenerateCause(o, spec, app, rotation, c.now);
  if (regenerate === "rejected" && !guard.allow("secret", { regenerate: app.identity }))
    return heldBack(o, d, guard, actions, c.options.resyncIntervalMs);

  const drifted = app.displayName !== spec.displayName || !claimsEqual(app.customClaims, c.claims);
  if (drifted && guard.allow("application", { displayName: spec.displayName, customClaims: c.claims })) {
    actions.push({
      type: "PatchApplication",
      identity: app.identity,
      ...(app.displayName !== spec.displayName ? { displayName: spec.displayName } : {}),
      ...(!claimsEqual(app.customClaims, c.claims) ? { customClaims: c.claims } : {}),
    });
    actions.push({
      type: "RecordEvent",
      eventType: "Normal",
      reason: "Updated",
      note: "Updated the application's display name or custom claims.",
    });
  }

  d.status.applicationIdentity = app.identity;
  d.status.clientId = app.clientId;
  if (app.validUntil) d.status.secretValidUntil = app.validUntil;
  delete d.status.pendingCreate;

  rotationActions(o, d, app, regenerate, rotation, c, actions);

  const policyFailure = policyStep(o, spec, app.clientId, c.stamp, d, actions, guard);
  settle(o, spec, d, actions);
  recordCorrections(o, d, guard, actions);

  let requeueAfterMs = c.options.resyncIntervalMs;
  const due = rotationDueAt(spec, app.validUntil);
  if (due && !regenerate)
    requeueAfterMs = Math.max(1000, Math.min(requeueAfterMs, due.getTime() - c.now.getTime()));
  if (policyFailure) {
    const retry = policyFailure.retryAfterMs;
    return { actions, status: d.status, failure: policyFailure, requeueAfterMs: retry ?? requeueAfterMs };
  }
  return { actions, status: d.status, requeueAfterMs };
}
