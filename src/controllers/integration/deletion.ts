/**
 * What deleting an integration does: with deletionPolicy Orphan, only the finalizer goes; with
 * Delete, the access policies, then the application (and any duplicate the search found), then the
 * finalizer. Another integration's application is never deleted; a lookup that failed blocks it.
 */
import { applicationFinalizer, Reason, type IntegrationSpec } from "../../api/v1alpha1/index.ts";
import type { Action, IntegrationObserved, Plan } from "./model.ts";
import { failed, type Draft } from "./plan-status.ts";
import { policyDeletions } from "./policies.ts";
import { ownedBy } from "./predicates.ts";

export function decideDeletion(o: IntegrationObserved, spec: IntegrationSpec | undefined, d: Draft): Plan {
  if (!(o.object.metadata.finalizers ?? []).includes(applicationFinalizer))
    return { actions: [], status: d.status };
  const policy = spec?.deletionPolicy ?? "Delete";
  if (policy === "Orphan") {
    const identity = o.identity?.value;
    return {
      actions: [
        ...(identity
          ? [
              {
                type: "RecordEvent",
                eventType: "Normal",
                reason: "Orphaned",
                note: `Left ${identity} in DataTrails (deletionPolicy Orphan).`,
              } as const,
            ]
          : []),
        { type: "RemoveFinalizer" },
      ],
      status: d.status,
    };
  }
  const policies = policyDeletions(o.object, o.policies);
  const lookupFailure =
    [o.application, o.search].find((x) => x.state === "failed") ??
    (policies.failure ? { state: "failed" as const, ...policies.failure } : undefined);
  if (lookupFailure && lookupFailure.state === "failed") {
    const failure = {
      ...lookupFailure,
      reason: Reason.DeleteBlocked,
      message: `Deletion waits: ${lookupFailure.message}`,
    };
    return failed(d, failure, [
      { type: "RecordEvent", eventType: "Warning", reason: "DeleteBlocked", note: failure.message },
    ]);
  }
  const doomed = new Set<string>();
  // Another integration's application is never deleted by this one.
  if (o.application.state === "found" && !o.foreignApplication) doomed.add(o.application.app.identity);
  if (o.search.state === "done")
    for (const app of ownedBy(o.search.apps, o.object.metadata.uid)) doomed.add(app.identity);
  // Policies go first: they name the application's client_id and would outlive it.
  const actions: Action[] = [
    ...policies.actions,
    ...[...doomed].map((identity) => ({ type: "DeleteApplication", identity, cause: "deleted" }) as const),
  ];
  actions.push({ type: "RemoveFinalizer" });
  return { actions, status: d.status };
}
