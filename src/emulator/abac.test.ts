import { describe, expect, it } from "vitest";
import {
  filterTermProblem,
  permissionMatchesCaller,
  policySelectsAsset,
  userAttributeProblem,
  visibleAssets,
  type Caller,
} from "./abac.ts";
import type { AccessPermission, AccessPolicy, Asset } from "./state.ts";

function asset(attributes: Record<string, unknown>): Asset {
  return {
    identity: `assets/${String(attributes["arc_display_name"])}`,
    behaviours: [],
    attributes,
    confirmation_status: "COMMITTED",
    tracked: "TRACKED",
    owner: "",
    at_time: "2024-01-01T00:00:00Z",
    storage_integrity: "TENANT_STORAGE",
    public: false,
    tenant_identity: "tenant/t",
  };
}

function permission(
  userAttributes: string[][],
  read: string[] = ["*"],
  include: string[] = [],
): AccessPermission {
  return {
    subjects: [],
    behaviours: [],
    include_attributes: include,
    asset_attributes_read: read,
    asset_attributes_write: [],
    event_arc_display_type_read: [],
    event_arc_display_type_write: [],
    user_attributes: userAttributes.map((or) => ({ or })),
  };
}

function policy(filters: string[][], permissions: AccessPermission[]): AccessPolicy {
  return {
    identity: "access_policies/p",
    display_name: "p",
    description: "",
    filters: filters.map((or) => ({ or })),
    access_permissions: permissions,
    tenant: "tenant/t",
  };
}

const light = asset({ arc_display_name: "L1", arc_display_type: "Traffic Light", colour: "red" });
const camera = asset({ arc_display_name: "C1", arc_display_type: "Camera" });
const caller: Caller = { clientId: "c-1", owner: false, claims: { sub: "c-1", serial_number: "TL1" } };

describe("asset filters", () => {
  it.each([
    ["one matching term", [["attributes.arc_display_type=Traffic Light"]], true],
    [
      "OR inside a group",
      [["attributes.arc_display_type=Camera", "attributes.arc_display_type=Traffic Light"]],
      true,
    ],
    [
      "AND across groups",
      [["attributes.arc_display_type=Traffic Light"], ["attributes.colour=green"]],
      false,
    ],
    ["wildcard value", [["attributes.colour=*"]], true],
    ["missing attribute", [["attributes.weight=*"]], false],
    ["no filters selects all", [], true],
  ])("%s", (_name, filters, expected) => {
    expect(policySelectsAsset(policy(filters, []), light)).toBe(expected);
  });
});

describe("user attributes", () => {
  it.each([
    ["subject", [["subject=c-1"]], true],
    ["another subject", [["subject=c-2"]], false],
    ["jwt_ custom claim", [["jwt_serial_number=TL1"]], true],
    ["jwt_ claim with another value", [["jwt_serial_number=TL2"]], false],
    ["email the app does not have", [["email=a@b.c"]], false],
    ["OR inside a group", [["subject=c-2", "jwt_serial_number=TL1"]], true],
    ["AND across groups", [["subject=c-1"], ["jwt_serial_number=TL2"]], false],
    ["no user attributes matches nobody", [], false],
  ])("%s", (_name, groups, expected) => {
    expect(permissionMatchesCaller(permission(groups), caller)).toBe(expected);
  });
});

describe("visible assets", () => {
  const lights = policy([["attributes.arc_display_type=Traffic Light"]], [permission([["subject=c-1"]])]);

  it("shows nothing without a policy", () => {
    expect(visibleAssets([light, camera], [], caller)).toEqual([]);
  });

  it("shows what a matching policy selects", () => {
    expect(visibleAssets([light, camera], [lights], caller).map((a) => a.identity)).toEqual([light.identity]);
  });

  it("shows an OWNER everything, whole", () => {
    expect(visibleAssets([light, camera], [], { ...caller, owner: true })).toEqual([light, camera]);
  });

  it("cuts attributes down to the readable ones", () => {
    const narrow = policy([], [permission([["subject=c-1"]], ["colour"], ["arc_display_name"])]);
    expect(visibleAssets([light], [narrow], caller)[0]?.attributes).toEqual({
      arc_display_name: "L1",
      colour: "red",
    });
  });
});

describe("term syntax", () => {
  it.each([
    ["attributes.arc_display_type=Traffic Light", true],
    ["attributes.=x", false],
    ["arc_display_type=x", false],
    ["attributes.x", false],
  ])("filter %j valid: %s", (term, ok) => {
    expect(filterTermProblem(term) === undefined).toBe(ok);
  });

  it.each([
    ["subject=abc", true],
    ["email=a@b.c", true],
    ["jwt_serial_number=1", true],
    ["jwt_=1", false],
    ["role=admin", false],
  ])("user attribute %j valid: %s", (term, ok) => {
    expect(userAttributeProblem(term) === undefined).toBe(ok);
  });
});
