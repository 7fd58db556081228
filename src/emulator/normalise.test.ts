import { describe, expect, it } from "vitest";
import { normalisedBehaviours, normalisePolicy } from "./normalise.ts";
import type { AccessPermission, AccessPolicy } from "./state.ts";

function permission(over: Partial<AccessPermission> = {}): AccessPermission {
  return {
    subjects: [],
    behaviours: ["Attachments"],
    include_attributes: ["b_name", "a_name"],
    asset_attributes_read: [],
    asset_attributes_write: [],
    event_arc_display_type_read: ["*"],
    event_arc_display_type_write: [],
    user_attributes: [{ or: ["subject=z", "jwt_x=1"] }, { or: ["email=a@b.c"] }],
    ...over,
  };
}

function policy(permissions: AccessPermission[]): AccessPolicy {
  return {
    identity: "access_policies/p",
    display_name: "p",
    description: "d",
    filters: [{ or: ["attributes.z=1", "attributes.a=1"] }, { or: ["attributes.b!=*"] }],
    access_permissions: permissions,
    tenant: "tenant/t",
  };
}

describe("normalising access policies", () => {
  it.each([
    {
      name: "sorts filter terms and groups",
      input: policy([permission()]),
      check: (p: ReturnType<typeof normalisePolicy>) =>
        expect(p.filters).toEqual([
          { or: ["attributes.a=1", "attributes.z=1"] },
          { or: ["attributes.b!=*"] },
        ]),
    },
    {
      name: "leaves empty lists out of each permission",
      input: policy([permission()]),
      check: (p: ReturnType<typeof normalisePolicy>) =>
        expect(Object.keys(p.access_permissions[0] ?? {}).sort()).toEqual([
          "behaviours",
          "event_arc_display_type_read",
          "include_attributes",
          "user_attributes",
        ]),
    },
    {
      name: "sorts permission lists and user-attribute groups",
      input: policy([permission()]),
      check: (p: ReturnType<typeof normalisePolicy>) =>
        expect(p.access_permissions[0]).toMatchObject({
          include_attributes: ["a_name", "b_name"],
          user_attributes: [{ or: ["email=a@b.c"] }, { or: ["jwt_x=1", "subject=z"] }],
        }),
    },
    {
      name: "replaces behaviours with the fixed list",
      input: policy([permission(), permission({ behaviours: [] })]),
      check: (p: ReturnType<typeof normalisePolicy>) =>
        expect(p.access_permissions.map((x) => x.behaviours)).toEqual([
          normalisedBehaviours,
          normalisedBehaviours,
        ]),
    },
    {
      name: "keeps identity, names and tenant",
      input: policy([permission()]),
      check: (p: ReturnType<typeof normalisePolicy>) =>
        expect(p).toMatchObject({
          identity: "access_policies/p",
          display_name: "p",
          description: "d",
          tenant: "tenant/t",
        }),
    },
  ])("$name", ({ input, check }) => {
    check(normalisePolicy(input));
  });

  it("is idempotent: normalising the answer again changes nothing", () => {
    const once = normalisePolicy(policy([permission()]));
    const asStored = {
      ...once,
      access_permissions: once.access_permissions.map((p) =>
        permission({ ...p, behaviours: p.behaviours ?? [] }),
      ),
    };
    const full = (p: ReturnType<typeof normalisePolicy>) => JSON.stringify(p);
    expect(full(normalisePolicy(asStored))).toBe(full(once));
  });

  it("does not change the policy it is given", () => {
    const input = policy([permission()]);
    const copy = structuredClone(input);
    normalisePolicy(input);
    expect(input).toEqual(copy);
  });
});
