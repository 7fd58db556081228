/**
 * What a real DataTrails server may do to an access policy it stores, for the `normalisePolicies`
 * switch: the answer means the same as what was sent, but its bytes differ. Clients must compare
 * policies semantically; this is how the emulator makes them prove it. Deterministic and
 * idempotent: normalising twice gives what normalising once gave.
 *
 * - every empty list of a permission is left out (proto3 JSON may omit empty fields);
 * - the terms inside each `or` group (filters and user attributes) and every permission's string
 *   lists are sorted, and the outer groups sorted by their sorted terms (AND and OR do not care);
 * - `behaviours` is replaced with {@link normalisedBehaviours}, whatever was sent (the SDK calls the
 *   field "hardcoded", to be removed).
 */
import type { AccessPermission, AccessPolicy } from "./state.ts";

/** The behaviours every normalised permission carries. */
export const normalisedBehaviours: readonly string[] = ["RecordEvidence"];

/** A permission as a normalising server answers it: empty lists left out. */
export type NormalisedPermission = { [K in keyof AccessPermission]?: AccessPermission[K] };

/** An access policy as a normalising server answers it. */
export type NormalisedPolicy = Omit<AccessPolicy, "access_permissions"> & {
  access_permissions: NormalisedPermission[];
};

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortedGroups(groups: readonly { or: string[] }[]): { or: string[] }[] {
  return groups
    .map((g) => ({ or: [...g.or].sort(byCodeUnit) }))
    .sort((a, b) => byCodeUnit(JSON.stringify(a.or), JSON.stringify(b.or)));
}

const stringLists = [
  "subjects",
  "include_attributes",
  "asset_attributes_read",
  "asset_attributes_write",
  "event_arc_display_type_read",
  "event_arc_display_type_write",
] as const;

function normalisePermission(p: AccessPermission): NormalisedPermission {
  const out: NormalisedPermission = {};
  for (const name of stringLists) {
    const list = [...p[name]].sort(byCodeUnit);
    if (list.length > 0) out[name] = list;
  }
  out.behaviours = [...normalisedBehaviours];
  const users = sortedGroups(p.user_attributes);
  if (users.length > 0) out.user_attributes = users;
  return out;
}

/** The policy as a normalising server would answer it. */
export function normalisePolicy(policy: AccessPolicy): NormalisedPolicy {
  return {
    ...policy,
    filters: sortedGroups(policy.filters),
    access_permissions: policy.access_permissions.map(normalisePermission),
  };
}
