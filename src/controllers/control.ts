/**
 * On-demand control shared by the controllers (docs/control.md): requests made with an annotation
 * and acted on once per value, and spec.suspend shown as a Suspended condition. Pure.
 */
import { ConditionType, findCondition, Reason } from "../api/v1alpha1/index.ts";
import type { Condition } from "../api/v1alpha1/meta.ts";
import { withCondition, withoutCondition, type ConditionScope } from "./conditions.ts";

/**
 * The value of a request annotation not yet acted on, given the value last acted on: any value
 * other than that one is a new request; the same value again, or no annotation, is none.
 */
export function pendingRequest(
  annotations: Record<string, string> | undefined,
  annotation: string,
  lastDone: string | undefined,
): string | undefined {
  const value = annotations?.[annotation];
  return value !== undefined && value !== lastDone ? value : undefined;
}

/** Whether the Suspended condition says the object is suspended. */
export function isShownSuspended(conditions: readonly Condition[] | undefined): boolean {
  return findCondition(conditions, ConditionType.Suspended)?.status === "True";
}

/** `conditions` with Suspended True for the scope's generation; the others keep what they said. */
export function suspendedConditions(
  conditions: readonly Condition[] | undefined,
  message: string,
  scope: ConditionScope,
): Condition[] {
  return withCondition(
    conditions,
    ConditionType.Suspended,
    { status: "True", reason: Reason.Suspended, message },
    scope,
  );
}

/** `conditions` without the Suspended condition: it is present only while suspended. */
export function resumedConditions(conditions: readonly Condition[] | undefined): Condition[] | undefined {
  return withoutCondition(conditions, ConditionType.Suspended);
}
