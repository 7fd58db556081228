import { describe, expect, it } from "vitest";
import {
  applicationFinalizer,
  integrationSpec,
  type AccessPolicyStatus,
  type DataTrailsIntegration,
} from "../../api/v1alpha1/index.ts";
import type { AccessPolicy } from "../../datatrails/api.ts";
import type { Action, PoliciesObserved } from "./model.ts";
import {
  decidePolicies,
  desiredPolicy,
  needsPolicySearch,
  policyDeletions,
  policyDisplayName,
  policyIsTouchable,
  policyMatches,
} from "./policies.ts";
import { correctionGuard } from "./corrections.ts";

const uid = "0b7b2c1e-6a43-4a8e-9c55-2f0e4b0f7a11";
const clientId = "d1fb6c87-faa9-4d56-b2fd-a5b70a9af065";
const at = "2026-06-01T12:00:00Z";
const lights = {
  name: "lights",
  filters: [["attributes.arc_display_type=Traffic Light"]],
  permissions: { assetAttributesRead: ["*"] },
};

function object(
  opts: { policies?: unknown[]; status?: AccessPolicyStatus[]; deleting?: boolean } = {},
): DataTrailsIntegration {
  return {
    apiVersion: "datatrails.ai/v1alpha1",
    kind: "DataTrailsIntegration",
    metadata: {
      name: "tl",
      namespace: "ns",
      uid,
      generation: 2,
      resourceVersion: "1",
      finalizers: [applicationFinalizer],
      ...(opts.deleting ? { deletionTimestamp: at } : {}),
    },
    spec: integrationSpec.parse({
      connectionRef: { name: "dt" },
      displayName: "TL",
      ...(opts.policies ? { accessPolicies: opts.policies } : {}),
    }),
    status: { clientId, ...(opts.status ? { accessPolicies: opts.status } : {}) },
  };
}

/** The policy as the operator would create it for `obj`, with an identity and edits applied. */
function stored(id: string, over: Partial<AccessPolicy> = {}, entry: typeof lights = lights): AccessPolicy {
  const wanted = integrationSpec.parse({
    connectionRef: { name: "dt" },
    displayName: "TL",
    accessPolicies: [entry],
  }).accessPolicies?.[0];
  if (!wanted) throw new Error("no policy");
  return { identity: `access_policies/${id}`, ...desiredPolicy(object(), wanted, clientId), ...over };
}

const foreignSubject = (p: AccessPolicy): AccessPolicy => ({
  ...p,
  permissions: p.permissions.map((x) => ({ ...x, userAttributes: [["subject=someone-else"]] })),
});

function seen(lookups: PoliciesObserved["lookups"] = {}, search?: AccessPolicy[]): PoliciesObserved {
  return { lookups, search: search ? { state: "done", policies: search } : { state: "none" } };
}

const types = (actions: Action[]) =>
  actions.map((a) => (a.type === "RecordEvent" ? `Event:${a.reason}` : a.type));

describe("policy names and ownership", () => {
  it("names a policy after the namespace, the integration and the entry", () => {
    expect(policyDisplayName(object(), "lights")).toBe("k8s:ns/tl/lights");
  });

  it.each<[string, AccessPolicy, string | undefined, boolean]>([
    ["the operator's own policy", stored("a"), clientId, true],
    ["another object's UID", { ...stored("a"), description: "k8s-uid=other" }, clientId, false],
    ["no marker at all", { ...stored("a"), description: "" }, clientId, false],
    ["another subject", foreignSubject(stored("a")), clientId, false],
    ["no client_id known", stored("a"), undefined, false],
    ["no subject at all", { ...stored("a"), permissions: [] }, clientId, false],
  ])("touchable: %s", (_name, policy, id, expected) => {
    expect(policyIsTouchable(policy, uid, id)).toBe(expected);
  });

  it("sends the client_id as the only subject and the spec's permissions", () => {
    const p = stored("a");
    expect(p.permissions).toEqual([
      expect.objectContaining({ userAttributes: [[`subject=${clientId}`]], assetAttributesRead: ["*"] }),
    ]);
    expect(p.filters).toEqual([["attributes.arc_display_type=Traffic Light"]]);
    expect(p.description).toContain(`k8s-uid=${uid}`);
  });

  it.each<[string, Partial<AccessPolicy>, boolean]>([
    ["unchanged", {}, true],
    ["filters edited", { filters: [["attributes.arc_display_type=Camera"]] }, false],
    ["renamed", { displayName: "mine now" }, false],
  ])("matches: %s", (_name, over, expected) => {
    const { identity: _id, ...desired } = stored("a");
    expect(policyMatches(stored("a", over), desired)).toBe(expected);
  });
});

describe("needsPolicySearch", () => {
  it.each<[string, DataTrailsIntegration, boolean]>([
    ["no policies", object(), false],
    ["a policy not yet recorded", object({ policies: [lights] }), true],
    [
      "a pending create",
      object({ policies: [lights], status: [{ name: "lights", pendingCreateAt: at }] }),
      true,
    ],
    [
      "every policy recorded",
      object({ policies: [lights], status: [{ name: "lights", identity: "access_policies/a" }] }),
      false,
    ],
    [
      "a deletion with recorded policies",
      object({ deleting: true, status: [{ name: "x", identity: "access_policies/a" }] }),
      true,
    ],
    ["a deletion without policies", object({ deleting: true }), false],
  ])("%s", (_name, obj, expected) => {
    expect(needsPolicySearch(obj, obj.spec)).toBe(expected);
  });
});

describe("decidePolicies", () => {
  const recorded = [{ name: "lights", identity: "access_policies/a" }];
  it.each<[string, DataTrailsIntegration, PoliciesObserved, string[], AccessPolicyStatus[]]>([
    [
      "a new policy: mark, create, event",
      object({ policies: [lights] }),
      seen({}, []),
      ["MarkPendingPolicy", "CreateAccessPolicy", "Event:AccessPolicyCreated"],
      [{ name: "lights", pendingCreateAt: at }],
    ],
    [
      "a pending create that happened: adopted from the search, nothing sent",
      object({ policies: [lights], status: [{ name: "lights", pendingCreateAt: "2026-06-01T11:00:00Z" }] }),
      seen({}, [stored("a")]),
      [],
      recorded,
    ],
    [
      "no record at all (a status lost to a restore): the policy found by the search is adopted",
      object({ policies: [lights] }),
      seen({}, [stored("a")]),
      [],
      recorded,
    ],
    [
      "a pending create that did not happen: created again without a second mark",
      object({ policies: [lights], status: [{ name: "lights", pendingCreateAt: "2026-06-01T11:00:00Z" }] }),
      seen({}, []),
      ["CreateAccessPolicy", "Event:AccessPolicyCreated"],
      [{ name: "lights", pendingCreateAt: "2026-06-01T11:00:00Z" }],
    ],
    [
      "two found after a crash: one kept, the duplicate deleted",
      object({ policies: [lights], status: [{ name: "lights", pendingCreateAt: at }] }),
      seen({}, [stored("a"), stored("b")]),
      ["DeleteAccessPolicy", "Event:AccessPolicyDeleted"],
      recorded,
    ],
    [
      "a same-named policy of another subject found by the search is never touched",
      object({ policies: [lights], status: [{ name: "lights", pendingCreateAt: at }] }),
      seen({}, [foreignSubject(stored("z"))]),
      ["CreateAccessPolicy", "Event:AccessPolicyCreated"],
      [{ name: "lights", pendingCreateAt: at }],
    ],
    [
      "in step: nothing to do",
      object({ policies: [lights], status: recorded }),
      seen({ "access_policies/a": { state: "found", policy: stored("a") } }),
      [],
      recorded,
    ],
    [
      "edited in DataTrails: put back",
      object({ policies: [lights], status: recorded }),
      seen({
        "access_policies/a": {
          state: "found",
          policy: stored("a", { filters: [["attributes.arc_display_type=*"]] }),
        },
      }),
      ["UpdateAccessPolicy", "Event:AccessPolicyUpdated"],
      recorded,
    ],
    [
      "deleted in DataTrails: created again",
      object({ policies: [lights], status: recorded }),
      seen({ "access_policies/a": { state: "missing" } }, []),
      ["Event:AccessPolicyMissing", "MarkPendingPolicy", "CreateAccessPolicy", "Event:AccessPolicyCreated"],
      [{ name: "lights", pendingCreateAt: at }],
    ],
    [
      "re-pointed to another subject: left alone, a new one created",
      object({ policies: [lights], status: recorded }),
      seen({ "access_policies/a": { state: "found", policy: foreignSubject(stored("a")) } }, []),
      ["Event:AccessPolicyForeign", "MarkPendingPolicy", "CreateAccessPolicy", "Event:AccessPolicyCreated"],
      [{ name: "lights", pendingCreateAt: at }],
    ],
    [
      "removed from the spec: deleted",
      object({ status: recorded }),
      seen({ "access_policies/a": { state: "found", policy: stored("a") } }),
      ["DeleteAccessPolicy", "Event:AccessPolicyDeleted"],
      [],
    ],
    [
      "removed from the spec but no longer ours: left alone",
      object({ status: recorded }),
      seen({ "access_policies/a": { state: "found", policy: foreignSubject(stored("a")) } }),
      [],
      [],
    ],
  ])("%s", (_name, obj, observed, expected, entries) => {
    if (!obj.spec) throw new Error("no spec");
    const plan = decidePolicies(obj, obj.spec, observed, clientId, at);
    expect(types(plan.actions)).toEqual(expected);
    expect(plan.entries).toEqual(entries);
    expect(plan.failure).toBeUndefined();
  });

  it("deletes only the duplicate, never the one it keeps", () => {
    const obj = object({ policies: [lights], status: [{ name: "lights", pendingCreateAt: at }] });
    if (!obj.spec) throw new Error("no spec");
    const plan = decidePolicies(obj, obj.spec, seen({}, [stored("a"), stored("b")]), clientId, at);
    expect(plan.actions[0]).toMatchObject({
      type: "DeleteAccessPolicy",
      identity: "access_policies/b",
      cause: "duplicate",
    });
  });

  it("a failed lookup stops the policy plan with AccessPolicyFailed and keeps the record", () => {
    const obj = object({ policies: [lights], status: recorded });
    if (!obj.spec) throw new Error("no spec");
    const failure = {
      reason: "AccessPolicyFailed" as const,
      message: 'access policy "lights": Unavailable: down',
    };
    const plan = decidePolicies(
      obj,
      obj.spec,
      seen({ "access_policies/a": { state: "failed", ...failure } }),
      clientId,
      at,
    );
    expect(plan).toEqual({ actions: [], entries: recorded, failure });
  });
});

describe("policyDeletions", () => {
  it.each<[string, DataTrailsIntegration, PoliciesObserved, string[]]>([
    [
      "recorded and found by the search, each once",
      object({ deleting: true, status: [{ name: "lights", identity: "access_policies/a" }] }),
      seen({ "access_policies/a": { state: "found", policy: stored("a") } }, [stored("a"), stored("b")]),
      ["access_policies/a", "access_policies/b"],
    ],
    [
      "never one that names another subject",
      object({ deleting: true, status: [{ name: "lights", identity: "access_policies/a" }] }),
      seen({ "access_policies/a": { state: "found", policy: foreignSubject(stored("a")) } }, []),
      [],
    ],
    [
      "already gone: nothing",
      object({ deleting: true, status: [{ name: "lights", identity: "access_policies/a" }] }),
      seen({ "access_policies/a": { state: "missing" } }, []),
      [],
    ],
  ])("%s", (_name, obj, observed, identities) => {
    const { actions, failure } = policyDeletions(obj, observed);
    expect(failure).toBeUndefined();
    expect(actions.map((a) => (a.type === "DeleteAccessPolicy" ? a.identity : a.type))).toEqual(identities);
  });
});

describe("what DataTrails may do to a stored policy", () => {
  const { identity: _id, ...desired } = stored("a");
  const [perm] = desired.permissions;
  if (!perm) throw new Error("no permission");
  it.each([
    {
      name: "empty lists left out (read back as empty)",
      stored: { permissions: [{ ...perm, assetAttributesWrite: [], eventTypesWrite: [], subjects: [] }] },
      matches: true,
    },
    {
      name: "lists reordered and filters' OR terms reordered",
      stored: {
        filters: [["attributes.x=2", "attributes.x=1"]],
      },
      desired: { filters: [["attributes.x=1", "attributes.x=2"]] },
      matches: true,
    },
    {
      name: "behaviours rewritten by the server",
      stored: { permissions: [{ ...perm, behaviours: ["RecordEvidence"] }] },
      matches: true,
    },
    {
      name: "a read list changed",
      stored: { permissions: [{ ...perm, assetAttributesRead: ["arc_display_name"] }] },
      matches: false,
    },
    {
      name: "a subject changed",
      stored: { permissions: [{ ...perm, userAttributes: [["subject=other"]] }] },
      matches: false,
    },
    { name: "the description changed", stored: { description: "edited" }, matches: false },
  ] satisfies {
    name: string;
    stored: Partial<AccessPolicy>;
    desired?: Partial<AccessPolicy>;
    matches: boolean;
  }[])("$name", (c) => {
    expect(policyMatches(stored("a", c.stored), { ...desired, ...c.desired })).toBe(c.matches);
  });

  it("keeps every display name within DataTrails' 128 characters, unique and stable", () => {
    const long = {
      ...object(),
      metadata: { ...object().metadata, namespace: "n".repeat(63), name: "i".repeat(253) },
    };
    const a = policyDisplayName(long, "a".repeat(63));
    const b = policyDisplayName(long, "b".repeat(63));
    expect([
      a.length <= 128,
      b.length <= 128,
      a !== b,
      a === policyDisplayName(long, "a".repeat(63)),
    ]).toEqual([true, true, true, true]);
    expect(a.startsWith("k8s:nnn")).toBe(true);
  });
});

describe("the write-loop breaker on policies", () => {
  const wanted = object({ policies: [lights], status: [{ name: "lights", identity: "access_policies/a" }] });
  const drifted = stored("a", { filters: [["attributes.arc_display_type=Camera"]] });
  const lookups = { "access_policies/a": { state: "found", policy: drifted } } as const;

  it("corrects a drifted policy up to three times for one generation, then stops", () => {
    let status = wanted.status ?? {};
    const made: string[][] = [];
    for (let i = 0; i < 5; i++) {
      const obj = { ...wanted, status };
      const guard = correctionGuard(obj.status.corrections, obj.metadata.generation, new Date(at));
      const plan = decidePolicies(obj, obj.spec, seen(lookups), clientId, at, guard);
      made.push(types(plan.actions));
      status = { ...status, corrections: guard.records() };
    }
    expect(made.map((t) => t.includes("UpdateAccessPolicy"))).toEqual([true, true, true, false, false]);
    expect(status.corrections?.[0]).toMatchObject({
      target: "accessPolicy/lights",
      attempts: 3,
      generation: 2,
    });
  });

  it("tries again at once for a new generation", () => {
    const obj = {
      ...wanted,
      metadata: { ...wanted.metadata, generation: 3 },
      status: {
        ...wanted.status,
        corrections: [
          { target: "accessPolicy/lights", generation: 2, digest: "x", attempts: 3, lastAttemptAt: at },
        ],
      },
    };
    const plan = decidePolicies(obj, obj.spec, seen(lookups), clientId, at);
    expect(types(plan.actions)).toContain("UpdateAccessPolicy");
  });
});
