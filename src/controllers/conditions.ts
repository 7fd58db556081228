/**
 * The condition helpers every controller uses: set a condition (lastTransitionTime kept while its
 * status does not flip, observedGeneration stamped), set several to one state, drop one, and tell
 * whether a condition would be news (for the Event that goes with a transition). Pure.
 */
import {
  findCondition,
  setCondition,
  type ConditionTypeName,
  type ReasonName,
} from "../api/v1alpha1/index.ts";
import type { Condition } from "../api/v1alpha1/meta.ts";

/** The generation a condition is stated for, and the time a transition happens at. */
export interface ConditionScope {
  generation: number;
  now: Date;
}

/** What a condition says. */
export interface ConditionState {
  status: "True" | "False" | "Unknown";
  reason: ReasonName;
  message: string;
}

/** `conditions` with `type` in `state`, for the scope's generation. */
export function withCondition(
  conditions: readonly Condition[] | undefined,
  type: ConditionTypeName,
  state: ConditionState,
  scope: ConditionScope,
): Condition[] {
  return setCondition(conditions, { type, ...state, observedGeneration: scope.generation }, scope.now);
}

/** `conditions` with each of `types` in the same `state` (a condition and the Ready that summarises it). */
export function stateConditions(
  conditions: readonly Condition[] | undefined,
  types: readonly ConditionTypeName[],
  state: ConditionState,
  scope: ConditionScope,
): Condition[] {
  let out = [...(conditions ?? [])];
  for (const type of types) out = withCondition(out, type, state, scope);
  return out;
}

/** `conditions` without `type`. */
export function withoutCondition(
  conditions: readonly Condition[] | undefined,
  type: ConditionTypeName,
): Condition[] | undefined {
  return conditions?.filter((c) => c.type !== type);
}

/** Whether stating `reason` and `message` on `type` would change what it says (an Event's worth). */
export function conditionIsNews(
  conditions: readonly Condition[] | undefined,
  type: ConditionTypeName,
  reason: string,
  message: string,
): boolean {
  const before = findCondition(conditions, type);
  return before?.reason !== reason || before.message !== message;
}
