/**
 * Decisions about an integration's access policies (spec.accessPolicies), as pure functions.
 *
 * Each entry becomes one DataTrails access policy named `k8s:<namespace>/<name>/<policy>`, whose
 * description carries the ownership marker `k8s-uid=<metadata.uid>` and whose only permission group
 * names the integration's client_id (`subject=<client_id>`). The create protocol is the
 * application's (docs/design.md, "Access policies"): mark status.accessPolicies[] pending, POST,
 * record the identity; after a crash the pending mark makes gather list the tenant's policies and
 * decide adopts the one carrying this display name and UID instead of creating a second. Extras
 * found that way are deleted. A policy that no longer names this integration's client_id as its
 * only subject is someone else's and is never touched.
 */
import { createHash } from "node:crypto";
import type { AccessPolicyStatus, DataTrailsIntegration, IntegrationSpec } from "../../api/v1alpha1/index.ts";
import { ConditionType, Reason } from "../../api/v1alpha1/index.ts";
import type { AccessPolicy, NewAccessPolicy } from "../../datatrails/api.ts";
import { withoutCondition } from "../conditions.ts";
import { setOn, type Draft } from "./plan-status.ts";
import { correctionGuard, type CorrectionGuard } from "./corrections.ts";
import type { Action, Failure, PoliciesObserved } from "./model.ts";

/** The display-name prefix shared by every policy of this integration. */
export function policyPrefix(obj: DataTrailsIntegration): string {
  return `k8s:${obj.metadata.namespace ?? ""}/${obj.metadata.name}/`;
}

/** The longest display name DataTrails stores for an access policy. */
const maxPolicyDisplayName = 128;

/**
 * The display name of one policy in DataTrails: `k8s:<namespace>/<integration>/<entry>` when that
 * fits DataTrails' 128 characters; otherwise the start of it, `~` and a digest of the whole, so it
 * stays unique and stable for any namespace and name. It is a label for people: the ownership
 * marker in the description is what the operator trusts.
 */
export function policyDisplayName(obj: DataTrailsIntegration, policyName: string): string {
  const full = `${policyPrefix(obj)}${policyName}`;
  if (full.length <= maxPolicyDisplayName) return full;
  const digest = createHash("sha256").update(full).digest("hex").slice(0, 12);
  return `${full.slice(0, maxPolicyDisplayName - digest.length - 1)}~${digest}`;
}

/** The ownership marker written into a policy's description. */
function ownerMarker(uid: string): string {
  return `k8s-uid=${uid}`;
}

/** Whether the policy carries this object's ownership marker. */
export function policyIsOwned(policy: AccessPolicy, uid: string): boolean {
  return policy.description.split(/\s+/).includes(ownerMarker(uid));
}

/** Every `subject=` term of the policy's permissions. */
function subjectTerms(policy: AccessPolicy): string[] {
  return policy.permissions.flatMap((p) => p.userAttributes.flat()).filter((t) => t.startsWith("subject="));
}

/**
 * Whether the operator may change or delete the policy: it carries this object's ownership marker
 * and names this integration's client_id, and no one else, as its subject.
 */
export function policyIsTouchable(policy: AccessPolicy, uid: string, clientId: string | undefined): boolean {
  if (!clientId || !policyIsOwned(policy, uid)) return false;
  const subjects = subjectTerms(policy);
  return subjects.length > 0 && subjects.every((t) => t === `subject=${clientId}`);
}

/** The entry a policy found by the search answers (by its display name), else its display name. */
function entryNameOf(
  obj: DataTrailsIntegration,
  entries: readonly { name: string }[],
  p: AccessPolicy,
): string {
  return entries.find((e) => policyDisplayName(obj, e.name) === p.displayName)?.name ?? p.displayName;
}

type PolicyEntry = NonNullable<IntegrationSpec["accessPolicies"]>[number];

/** The policy as the spec wants it in DataTrails, granted to `clientId` alone. */
export function desiredPolicy(
  obj: DataTrailsIntegration,
  entry: PolicyEntry,
  clientId: string,
): NewAccessPolicy {
  const p = entry.permissions;
  return {
    displayName: policyDisplayName(obj, entry.name),
    description: `Managed by datatrails-operator for DataTrailsIntegration ${obj.metadata.namespace ?? ""}/${obj.metadata.name} ${ownerMarker(obj.metadata.uid)}`,
    filters: entry.filters.map((or) => [...or]),
    permissions: [
      {
        subjects: [],
        behaviours: [...p.behaviours],
        includeAttributes: [...p.includeAttributes],
        assetAttributesRead: [...p.assetAttributesRead],
        assetAttributesWrite: [...p.assetAttributesWrite],
        eventTypesRead: [...p.eventTypesRead],
        eventTypesWrite: [...p.eventTypesWrite],
        userAttributes: [[`subject=${clientId}`]],
      },
    ],
  };
}

const sortedSet = (items: readonly string[]) => [...new Set(items)].sort();
const setOfSets = (groups: readonly (readonly string[])[]) =>
  [...new Set(groups.map((g) => JSON.stringify(sortedSet(g))))].sort();

/**
 * A policy as DataTrails means it, for comparison: filters and user attributes are ANDs of ORs
 * (sets of sets), every attribute list is a set, an absent list is an empty one, fields the server
 * adds are not looked at. `behaviours` is left out: DataTrails rewrites it as it likes (its SDK calls
 * the field hard-coded and due to go), so comparing it would make every write look undone.
 */
function meaning(p: NewAccessPolicy): unknown {
  return {
    displayName: p.displayName,
    description: p.description,
    filters: setOfSets(p.filters ?? []),
    permissions: [
      ...new Set(
        (p.permissions ?? []).map((perm) =>
          JSON.stringify([
            sortedSet(perm.subjects ?? []),
            sortedSet(perm.includeAttributes ?? []),
            sortedSet(perm.assetAttributesRead ?? []),
            sortedSet(perm.assetAttributesWrite ?? []),
            sortedSet(perm.eventTypesRead ?? []),
            sortedSet(perm.eventTypesWrite ?? []),
            setOfSets(perm.userAttributes ?? []),
          ]),
        ),
      ),
    ].sort(),
  };
}

/** Whether the policy in DataTrails means what is wanted (compared semantically; see {@link meaning}). */
export function policyMatches(actual: AccessPolicy, desired: NewAccessPolicy): boolean {
  return JSON.stringify(meaning(actual)) === JSON.stringify(meaning(desired));
}

/**
 * Whether gather must list the tenant's policies: a create may have happened without its identity
 * being recorded (a pending mark, or an entry with no identity at all, as after a status lost to a
 * restore), or the integration is being deleted and everything it owns must be found.
 */
export function needsPolicySearch(obj: DataTrailsIntegration, spec: IntegrationSpec | undefined): boolean {
  const recorded = obj.status?.accessPolicies ?? [];
  if (obj.metadata.deletionTimestamp) return recorded.length > 0 || (spec?.accessPolicies ?? []).length > 0;
  if (recorded.some((e) => e.identity === undefined)) return true;
  return (spec?.accessPolicies ?? []).some((w) => !recorded.some((e) => e.name === w.name && e.identity));
}

/** The first failed lookup or search, if any. */
function policyLookupFailure(observed: PoliciesObserved): Failure | undefined {
  for (const lookup of [...Object.values(observed.lookups), observed.search]) {
    if (lookup.state === "failed") {
      const { state: _state, ...failure } = lookup;
      return failure;
    }
  }
  return undefined;
}

/** What decidePolicies returns: the actions, status.accessPolicies after them, and a failure if any. */
interface PolicyPlan {
  actions: Action[];
  entries: AccessPolicyStatus[];
  failure?: Failure;
}

function event(eventType: "Normal" | "Warning", reason: string, note: string): Action {
  return { type: "RecordEvent", eventType, reason, note };
}

/**
 * Brings the integration's access policies in DataTrails in line with the spec, for an application
 * whose client_id is known. `at` is the time written into a pending mark.
 */
export function decidePolicies(
  obj: DataTrailsIntegration,
  spec: IntegrationSpec,
  observed: PoliciesObserved,
  clientId: string,
  at: string,
  guard: CorrectionGuard = correctionGuard(obj.status?.corrections, obj.metadata.generation, new Date(at)),
): PolicyPlan {
  const recorded = obj.status?.accessPolicies ?? [];
  const failure = policyLookupFailure(observed);
  if (failure) return { actions: [], entries: recorded, failure };
  const uid = obj.metadata.uid;
  const touchable = (p: AccessPolicy) => policyIsTouchable(p, uid, clientId);
  const found = observed.search.state === "done" ? observed.search.policies.filter(touchable) : [];
  const actions: Action[] = [];
  const entries: AccessPolicyStatus[] = [];
  const kept = new Set<string>();

  for (const want of spec.accessPolicies ?? []) {
    const desired = desiredPolicy(obj, want, clientId);
    const entry = recorded.find((e) => e.name === want.name);
    let current: AccessPolicy | undefined;
    if (entry?.identity) {
      const lookup = observed.lookups[entry.identity];
      if (lookup?.state === "found" && touchable(lookup.policy)) current = lookup.policy;
      else if (lookup?.state === "found")
        actions.push(
          event(
            "Warning",
            "AccessPolicyForeign",
            `${entry.identity} no longer names this integration's client_id; it is left alone and "${want.name}" is created again.`,
          ),
        );
      else
        actions.push(
          event(
            "Warning",
            "AccessPolicyMissing",
            `${entry.identity} ("${want.name}") no longer exists in DataTrails; creating it again.`,
          ),
        );
    }
    current ??= found.find((p) => p.displayName === desired.displayName && !kept.has(p.identity));
    if (current) {
      kept.add(current.identity);
      entries.push({ name: want.name, identity: current.identity });
      if (!policyMatches(current, desired) && guard.allow(`accessPolicy/${want.name}`, desired)) {
        actions.push(
          { type: "UpdateAccessPolicy", name: want.name, identity: current.identity, policy: desired },
          event(
            "Normal",
            "AccessPolicyUpdated",
            `Updated access policy "${want.name}" (${current.identity}).`,
          ),
        );
      }
      continue;
    }
    // A policy that vanishes after every create is a loop too: the breaker counts creates.
    if (!guard.allow(`accessPolicy/${want.name}`, { create: desired })) {
      if (entry) entries.push(entry);
      continue;
    }
    const pendingAt = entry && !entry.identity ? entry.pendingCreateAt : undefined;
    if (pendingAt === undefined) actions.push({ type: "MarkPendingPolicy", name: want.name, at });
    actions.push(
      { type: "CreateAccessPolicy", name: want.name, policy: desired },
      event("Normal", "AccessPolicyCreated", `Created access policy "${want.name}" in DataTrails.`),
    );
    entries.push({ name: want.name, pendingCreateAt: pendingAt ?? at });
  }

  // Entries removed from the spec: delete what was recorded for them, if it is still ours.
  for (const entry of recorded) {
    if (!entry.identity || kept.has(entry.identity) || entries.some((e) => e.name === entry.name)) continue;
    const lookup = observed.lookups[entry.identity];
    if (lookup?.state === "found" && touchable(lookup.policy)) {
      kept.add(entry.identity);
      actions.push(
        { type: "DeleteAccessPolicy", name: entry.name, identity: entry.identity, cause: "removed" },
        event("Normal", "AccessPolicyDeleted", `Deleted access policy "${entry.name}" (${entry.identity}).`),
      );
    }
  }
  // Whatever else the search found under this object's marker is a duplicate or a leftover of a
  // create that a crash interrupted after the entry was removed: provably ours, so deleted.
  for (const p of found) {
    if (kept.has(p.identity)) continue;
    const name = entryNameOf(obj, [...(spec.accessPolicies ?? []), ...recorded], p);
    const duplicate = entries.some((e) => e.name === name);
    actions.push(
      { type: "DeleteAccessPolicy", name, identity: p.identity, cause: duplicate ? "duplicate" : "removed" },
      event(
        "Normal",
        "AccessPolicyDeleted",
        `Deleted ${duplicate ? "duplicate " : ""}access policy ${p.identity}.`,
      ),
    );
  }
  return { actions, entries };
}

/**
 * The policies to delete with the integration (deletionPolicy Delete): every recorded one and every
 * one the search found, as long as it is still this integration's.
 */
export function policyDeletions(
  obj: DataTrailsIntegration,
  observed: PoliciesObserved,
): { actions: Action[]; failure?: Failure } {
  const failure = policyLookupFailure(observed);
  if (failure) return { actions: [], failure };
  const uid = obj.metadata.uid;
  const clientId = obj.status?.clientId;
  const doomed = new Map<string, string>();
  for (const entry of obj.status?.accessPolicies ?? []) {
    const lookup = entry.identity ? observed.lookups[entry.identity] : undefined;
    if (lookup?.state === "found" && policyIsTouchable(lookup.policy, uid, clientId))
      doomed.set(lookup.policy.identity, entry.name);
  }
  if (observed.search.state === "done")
    for (const p of observed.search.policies)
      if (policyIsTouchable(p, uid, clientId))
        doomed.set(p.identity, entryNameOf(obj, obj.status?.accessPolicies ?? [], p));
  return {
    actions: [...doomed].map(([identity, name]) => ({
      type: "DeleteAccessPolicy",
      name,
      identity,
      cause: "deleted",
    })),
  };
}

/** Adds the access-policy actions and AccessPoliciesReady to the plan; returns a policy failure, if any. */
export function policyStep(
  o: { object: DataTrailsIntegration; policies: PoliciesObserved },
  spec: IntegrationSpec,
  clientId: string,
  stamp: string,
  d: Draft,
  actions: Action[],
  guard: CorrectionGuard,
): Failure | undefined {
  const wanted = spec.accessPolicies ?? [];
  const plan = decidePolicies(o.object, spec, o.policies, clientId, stamp, guard);
  actions.push(...plan.actions);
  if (plan.entries.length > 0) d.status.accessPolicies = plan.entries;
  else delete d.status.accessPolicies;
  if (plan.failure) {
    setOn(d, ConditionType.AccessPoliciesReady, "False", plan.failure.reason, plan.failure.message);
  } else if (wanted.length > 0) {
    setOn(
      d,
      ConditionType.AccessPoliciesReady,
      "True",
      Reason.Ready,
      wanted.length === 1
        ? "The access policy is in place."
        : `${wanted.length} access policies are in place.`,
    );
  } else {
    d.status.conditions = withoutCondition(d.status.conditions, ConditionType.AccessPoliciesReady);
  }
  return plan.failure;
}
