/**
 * What a suspended integration does (docs/control.md): nothing in DataTrails, no Secret write, its
 * child BearerToken told to suspend too, and a Suspended condition; a pending rotate request waits.
 * Deletion waits too, unless deletionPolicy is Orphan (which writes nothing to DataTrails). Pure.
 */
import {
  applicationFinalizer,
  ConditionType,
  findCondition,
  Reason,
  type IntegrationSpec,
} from "../../api/v1alpha1/index.ts";
import { isShownSuspended, suspendedConditions } from "../control.ts";
import type { Action, IntegrationObserved, Plan } from "./model.ts";
import { childTokenAction, setOn, type Draft } from "./plan-status.ts";

/** The message of the Suspended condition of an integration. */
const suspendedMessage =
  "Suspended (spec.suspend): nothing is written to DataTrails or to the Secrets; the published " +
  "credentials and token stay as they are.";

/** The plan of a suspended integration that is not being deleted. */
export function decideSuspended(o: IntegrationObserved, spec: IntegrationSpec, d: Draft): Plan {
  const obj = o.object;
  const actions: Action[] = [];
  // The finalizer is the object's own metadata: with it, a later deletion waits for the resume.
  if (!(obj.metadata.finalizers ?? []).includes(applicationFinalizer)) actions.push({ type: "AddFinalizer" });
  // The child is told to stop too; one that does not exist yet is not made now.
  if (spec.token?.enabled !== false && o.token.exists && !o.token.foreign && !o.token.upToDate)
    actions.push(childTokenAction(o, spec));
  if (!isShownSuspended(obj.status?.conditions))
    actions.push({
      type: "RecordEvent",
      eventType: "Normal",
      reason: Reason.Suspended,
      note: suspendedMessage,
    });
  d.status.conditions = suspendedConditions(d.status.conditions, suspendedMessage, d.scope);
  // No requeue: clearing spec.suspend changes the generation, which wakes the object.
  return { actions, status: d.status };
}

/**
 * The plan of a suspended integration being deleted with deletionPolicy Delete: it waits, since
 * deleting the application is a DataTrails write; the condition and a Warning Event say how to go on.
 */
export function suspendedDeletion(o: IntegrationObserved, d: Draft): Plan {
  const message =
    "Deletion waits: the integration is suspended, and deleting its application writes to DataTrails. " +
    "Clear spec.suspend to delete it, or set spec.deletionPolicy to Orphan to leave it in DataTrails.";
  const before = findCondition(o.object.status?.conditions, ConditionType.Ready);
  const news = before?.reason !== Reason.DeleteSuspended;
  setOn(d, ConditionType.Ready, "False", Reason.DeleteSuspended, message);
  d.status.conditions = suspendedConditions(d.status.conditions, suspendedMessage, d.scope);
  return {
    actions: news
      ? [{ type: "RecordEvent", eventType: "Warning", reason: Reason.DeleteSuspended, note: message }]
      : [],
    status: d.status,
  };
}
