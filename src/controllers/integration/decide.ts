/**
 * The integration controller's decisions, as pure functions of what was observed and the time.
 *
 * The create protocol (docs/design.md, "Crash safety"): mark status.pendingCreate with the display
 * name and time, POST the create (which carries the ownership claim k8s_integration_uid=<uid>),
 * write the credentials Secret, then record the identity in status. A crash between any two steps
 * leaves enough behind to finish without a second create: a pending mark makes the next reconcile
 * search DataTrails by display name for an application carrying this object's UID; a found
 * application whose secret was lost gets regenerate-secret, never a second create.
 */
import {
  applicationFinalizer,
  ConditionType,
  Reason,
  type IntegrationSpec,
  rfc3339,
} from "../../api/v1alpha1/index.ts";
import type {
  Action,
  ApplicationView,
  Failure,
  IntegrationObserved,
  Plan,
  RegenerateCause,
} from "./model.ts";
import { decidePolicies, policyDeletions } from "./policies.ts";
import { claimProblem } from "../secret-claim.ts";
import { decideDeletion } from "./deletion.ts";
import { failed, heldBack, recordCorrections, refused, settle, StatusBuilder } from "./plan-status.ts";
import { correctionGuard, type CorrectionGuard } from "./corrections.ts";
import {
  credentialsSecretName,
  desiredClaims,
  ownedBy,
  secretIsPresent,
  rotationDueAt,
  rotationRequested,
  pendingRotationHappened,
} from "./predicates.ts";

// The predicates are part of this module's interface: callers and tests reach every decision here.
export {
  credentialsSecretName,
  tokenSecretName,
  desiredClaims,
  identityCandidate,
  needsSearch,
  ownedBy,
  secretIsPresent,
  needsSecretCheck,
  isSettled,
  settledCheckDelayMs,
  rotationDueAt,
  rotationRequested,
  pendingRotationHappened,
} from "./predicates.ts";

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

/** Adds the access-policy actions and AccessPoliciesReady to the plan; returns a policy failure, if any. */
function policyStep(
  o: IntegrationObserved,
  spec: IntegrationSpec,
  clientId: string,
  stamp: string,
  b: StatusBuilder,
  actions: Action[],
  guard: CorrectionGuard,
): Failure | undefined {
  const wanted = spec.accessPolicies ?? [];
  const plan = decidePolicies(o.object, spec, o.policies, clientId, stamp, guard);
  actions.push(...plan.actions);
  if (plan.entries.length > 0) b.status.accessPolicies = plan.entries;
  else delete b.status.accessPolicies;
  if (plan.failure) {
    b.set(ConditionType.AccessPoliciesReady, "False", plan.failure.reason, plan.failure.message);
  } else if (wanted.length > 0) {
    b.set(
      ConditionType.AccessPoliciesReady,
      "True",
      Reason.Ready,
      wanted.length === 1
        ? "The access policy is in place."
        : `${wanted.length} access policies are in place.`,
    );
  } else {
    b.status.conditions = b.status.conditions?.filter((c) => c.type !== ConditionType.AccessPoliciesReady);
  }
  return plan.failure;
}

/** Decides what to do for one DataTrailsIntegration. */
export function decide(o: IntegrationObserved, now: Date, options: DecideOptions): Plan {
  const obj = o.object;
  const spec = o.spec;
  const b = new StatusBuilder(obj, now);

  if (obj.metadata.deletionTimestamp) return decideDeletion(o, spec, b);

  if (!spec) return failed(b, { reason: Reason.InvalidSpec, message: o.specError ?? "The spec is invalid." });

  const actions: Action[] = [];
  if (!(obj.metadata.finalizers ?? []).includes(applicationFinalizer)) actions.push({ type: "AddFinalizer" });

  const secretProblem = claimProblem(credentialsSecretName(obj, spec), o.credentialsClaim);
  if (secretProblem) {
    const reason = o.credentialsClaim.state === "held" ? Reason.SecretInUse : Reason.SecretNotOwned;
    return refused(o, b, actions, reason, secretProblem);
  }

  if (o.connection.state === "failed") return failed(b, o.connection, actions);
  const { url, tokenUrl } = o.connection;

  for (const lookup of [o.application, o.search, o.secretCheck]) {
    if (lookup.state === "failed") return failed(b, lookup, actions);
  }

  if (o.foreignApplication) {
    const f = o.foreignApplication;
    const whose =
      f.why === "notClaimed"
        ? "carries no ownership claim and was neither created nor adopted by this integration"
        : f.why === "adoptedFirst"
          ? `is adopted by the older DataTrailsIntegration ${f.holder ?? "?"}`
          : `belongs to ${f.holder ? `DataTrailsIntegration ${f.holder}` : "another integration, which no longer exists"}`;
    return refused(
      o,
      b,
      actions,
      Reason.ApplicationInUse,
      `Application ${f.identity} ${whose}; it is not changed, rotated or deleted by this one.`,
    );
  }

  const guard = correctionGuard(obj.status?.corrections, obj.metadata.generation, now);
  let app: ApplicationView | undefined = o.application.state === "found" ? o.application.app : undefined;
  if (o.application.state === "missing") {
    if (!guard.allow("application", { recreate: spec.displayName }))
      return heldBack(o, b, guard, actions, options.resyncIntervalMs);
    if (o.identity?.source === "adopt") {
      return failed(
        b,
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
    if (stale.failure) return failed(b, stale.failure, actions);
    actions.push(...stale.actions);
    delete b.status.accessPolicies;
    delete b.status.applicationIdentity;
    delete b.status.clientId;
  }
  if (!app && o.search.state === "done") {
    const [first, ...extra] = ownedBy(o.search.apps, obj.metadata.uid);
    app = first;
    for (const dup of extra)
      actions.push({ type: "DeleteApplication", identity: dup.identity, cause: "duplicate" });
  }

  const claims = desiredClaims(spec, obj.metadata.uid);
  // A rotation whose regenerate happened before a crash is done once its secret is in hand; what it
  // answered counts as done, or the same request would regenerate a second time.
  const finished = app !== undefined && pendingRotationHappened(obj, app);
  const lastDone = finished
    ? (obj.status?.pendingRotation?.request ?? obj.status?.lastRotateRequest)
    : obj.status?.lastRotateRequest;
  const rotateRequest = rotationRequested(obj, lastDone);
  const stamp = rfc3339(now);

  if (!app) {
    if (obj.status?.pendingCreate?.displayName !== spec.displayName || o.application.state === "missing") {
      actions.push({ type: "MarkPendingCreate", displayName: spec.displayName, at: stamp });
    }
    const roles = spec.roles ?? [];
    actions.push(
      {
        type: "CreateApplication",
        displayName: spec.displayName,
        customClaims: claims,
        ...(roles.length > 0 ? { roles: [...roles] } : {}),
      },
      { type: "WriteCredentials", url, tokenUrl, secretFrom: "result" },
      {
        type: "RecordEvent",
        eventType: "Normal",
        reason: "Created",
        note: `Created application "${spec.displayName}" in DataTrails.`,
      },
    );
    if (roles.includes("OWNER"))
      actions.push({
        type: "RecordEvent",
        eventType: "Warning",
        reason: "OwnerRoleGranted",
        note: `Application "${spec.displayName}" was created with the OWNER role: it administers the whole tenant.`,
      });
    if (rotateRequest !== undefined) b.status.lastRotateRequest = rotateRequest;
    const waiting = (spec.accessPolicies ?? []).length > 0;
    if (waiting)
      b.set(
        ConditionType.AccessPoliciesReady,
        "Unknown",
        Reason.Reconciling,
        "Access policies are created once the application's client_id is known.",
      );
    settle(o, spec, b, actions);
    recordCorrections(o, b, guard, actions);
    // The policies need the client_id this create returns: look again soon rather than at resync.
    return { actions, status: b.status, requeueAfterMs: waiting ? 1000 : options.resyncIntervalMs };
  }

  // The application exists. Is its secret in hand?
  let regenerate: RegenerateCause | undefined;
  if (!secretIsPresent(o.credentials, app)) regenerate = o.identity?.source === "adopt" ? "adopted" : "lost";
  else if (o.secretCheck.state === "rejected") regenerate = "rejected";
  else if (rotateRequest !== undefined) regenerate = "requested";
  else {
    const due = rotationDueAt(spec, app.validUntil);
    if (due && due.getTime() <= now.getTime()) regenerate = "expiring";
  }

  if (regenerate === "rejected" && !guard.allow("secret", { regenerate: app.identity }))
    return heldBack(o, b, guard, actions, options.resyncIntervalMs);

  const drifted = app.displayName !== spec.displayName || !claimsEqual(app.customClaims, claims);
  if (drifted && guard.allow("application", { displayName: spec.displayName, customClaims: claims })) {
    actions.push({
      type: "PatchApplication",
      identity: app.identity,
      ...(app.displayName !== spec.displayName ? { displayName: spec.displayName } : {}),
      ...(!claimsEqual(app.customClaims, claims) ? { customClaims: claims } : {}),
    });
    actions.push({
      type: "RecordEvent",
      eventType: "Normal",
      reason: "Updated",
      note: "Updated the application's display name or custom claims.",
    });
  }

  b.status.applicationIdentity = app.identity;
  b.status.clientId = app.clientId;
  if (app.validUntil) b.status.secretValidUntil = app.validUntil;
  delete b.status.pendingCreate;

  if (finished) {
    if (lastDone !== undefined) b.status.lastRotateRequest = lastDone;
    if (app.validFrom) b.status.secretRotatedAt = app.validFrom;
  }
  if (regenerate) {
    if (!obj.status?.pendingRotation || finished) {
      actions.push({
        type: "MarkPendingRotation",
        at: stamp,
        ...(app.validFrom ? { previousValidFrom: app.validFrom } : {}),
        ...(rotateRequest !== undefined ? { request: rotateRequest } : {}),
      });
    }
    actions.push(
      { type: "RegenerateSecret", identity: app.identity, cause: regenerate },
      { type: "WriteCredentials", url, tokenUrl, secretFrom: "result" },
      {
        type: "RecordEvent",
        eventType: "Normal",
        reason: regenerate === "lost" || regenerate === "rejected" ? "SecretRecovered" : "SecretRotated",
        note: `Regenerated the client secret (${regenerate}).`,
      },
    );
    if (rotateRequest !== undefined) b.status.lastRotateRequest = rotateRequest;
  } else {
    delete b.status.pendingRotation;
    const creds = o.credentials;
    if (creds && (creds.url !== url || creds.tokenUrl !== tokenUrl)) {
      actions.push({ type: "WriteCredentials", url, tokenUrl, secretFrom: "existing" });
    } else if (creds) {
      b.status.credentialsSecretVersion = creds.resourceVersion;
    }
  }

  const policyFailure = policyStep(o, spec, app.clientId, stamp, b, actions, guard);
  settle(o, spec, b, actions);
  recordCorrections(o, b, guard, actions);

  let requeueAfterMs = options.resyncIntervalMs;
  const due = rotationDueAt(spec, app.validUntil);
  if (due && !regenerate)
    requeueAfterMs = Math.max(1000, Math.min(requeueAfterMs, due.getTime() - now.getTime()));
  if (policyFailure) {
    const retry = policyFailure.retryAfterMs;
    return { actions, status: b.status, failure: policyFailure, requeueAfterMs: retry ?? requeueAfterMs };
  }
  return { actions, status: b.status, requeueAfterMs };
}
