/**
 * The create plan (docs/design.md, "Crash safety"): mark status.pendingCreate with the display name
 * and time, POST the create (carrying the ownership claim k8s_integration_uid=<uid>), write the
 * credentials Secret, then record the identity in status. A crash between any two steps leaves
 * enough behind to finish without a second create: the mark makes the next reconcile search
 * DataTrails by display name for an application carrying this object's UID. Pure.
 */
import { ConditionType, Reason, type IntegrationSpec } from "../../api/v1alpha1/index.ts";
import type { CorrectionGuard } from "./corrections.ts";
import type { Action, IntegrationObserved, Plan } from "./model.ts";
import { recordCorrections, setOn, settle, type Draft } from "./plan-status.ts";
import { pendingCreateOf } from "./predicates.ts";

/** What the create plan needs besides the observation. */
interface CreateInputs {
  url: string;
  tokenUrl: string;
  claims: Record<string, string>;
  /** A datatrails.ai/rotate value not yet acted on: a fresh secret answers it. */
  rotateRequest: string | undefined;
  stamp: string;
  resyncIntervalMs: number;
}

/** The plan for an integration whose application does not exist (or could not be found). */
export function decideCreate(
  o: IntegrationObserved,
  spec: IntegrationSpec,
  d: Draft,
  guard: CorrectionGuard,
  actions: Action[],
  c: CreateInputs,
): Plan {
  const obj = o.object;
  const missing = o.application.state === "missing";
  if (pendingCreateOf(obj)?.displayName !== spec.displayName || missing) {
    // A first create marks the annotation, in the same patch as the finalizer; a create again (or
    // over a mark in status) marks status, which the identity of the last create is in.
    if (missing || obj.status?.pendingCreate)
      actions.push({ type: "MarkPendingCreate", displayName: spec.displayName, at: c.stamp, into: "status" });
    else {
      const finalizer = actions.findIndex((a) => a.type === "AddFinalizer");
      const mark: Action = {
        type: "MarkPendingCreate",
        displayName: spec.displayName,
        at: c.stamp,
        into: "annotation",
        ...(finalizer >= 0 ? { addFinalizer: true as const } : {}),
      };
      if (finalizer >= 0) actions.splice(finalizer, 1, mark);
      else actions.push(mark);
    }
  }
  const roles = spec.roles ?? [];
  actions.push(
    {
      type: "CreateApplication",
      displayName: spec.displayName,
      customClaims: c.claims,
      ...(roles.length > 0 ? { roles: [...roles] } : {}),
    },
    { type: "WriteCredentials", url: c.url, tokenUrl: c.tokenUrl, secretFrom: "result" },
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
  if (c.rotateRequest !== undefined) d.status.lastRotateRequest = c.rotateRequest;
  const waiting = (spec.accessPolicies ?? []).length > 0;
  if (waiting)
    setOn(
      d,
      ConditionType.AccessPoliciesReady,
      "Unknown",
      Reason.Reconciling,
      "Access policies are created once the application's client_id is known.",
    );
  settle(o, spec, d, actions);
  recordCorrections(o, d, guard, actions);
  // The policies need the client_id this create returns: look again soon rather than at resync.
  return { actions, status: d.status, requeueAfterMs: waiting ? 1000 : c.resyncIntervalMs };
}
