import { describe, expect, it } from "vitest";
import {
  filterTermProblem,
  parseFilterTerm,
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

const light = asset({
  arc_display_name: "L1",
  arc_display_type: "Traffic Light",
  colour: "red",
  lanes: ["north", "south"],
  location: { lat: "51.5", lng: "-0.1" },
  height: 4,
});
const camera = asset({ arc_display_name: "C1", arc_display_type: "Camera" });
const caller: Caller = { clientId: "c-1", owner: false, claims: { sub: "c-1", serial_number: "TL1" } };

describe("asset filters", () => {
  it.each([
    { name: "one matching term", filters: [["attributes.arc_display_type=Traffic Light"]], selects: true },
    { name: "another value", filters: [["attributes.arc_display_type=Camera"]], selects: false },
    {
      name: "OR inside a group",
      filters: [["attributes.arc_display_type=Camera", "attributes.arc_display_type=Traffic Light"]],
      selects: true,
    },
    {
      name: "AND across groups",
      filters: [["attributes.arc_display_type=Traffic Light"], ["attributes.colour=green"]],
      selects: false,
    },
    { name: "a number written as text", filters: [["attributes.height=4"]], selects: true },
    { name: "= v on an absent attribute", filters: [["attributes.weight=4"]], selects: false },
    { name: "= v on a list", filters: [["attributes.lanes=north"]], selects: false },
    { name: "!= another value", filters: [["attributes.colour!=green"]], selects: true },
    { name: "!= its own value", filters: [["attributes.colour!=red"]], selects: false },
    { name: "!= v on an absent attribute", filters: [["attributes.weight!=4"]], selects: true },
    { name: "!= v on a map", filters: [["attributes.location!=x"]], selects: true },
    { name: "=* on a string", filters: [["attributes.colour=*"]], selects: true },
    { name: "=* on a list", filters: [["attributes.lanes=*"]], selects: true },
    { name: "=* on a map", filters: [["attributes.location=*"]], selects: true },
    { name: "=* on an absent attribute", filters: [["attributes.weight=*"]], selects: false },
    { name: "!=* on an absent attribute", filters: [["attributes.weight!=*"]], selects: true },
    { name: "!=* on a present list", filters: [["attributes.lanes!=*"]], selects: false },
    {
      name: "!=* ANDed with =v",
      filters: [["attributes.arc_display_type=Traffic Light"], ["attributes.weight!=*"]],
      selects: true,
    },
    { name: "no filters selects all", filters: [], selects: true },
  ])("$name", ({ filters, selects }) => {
    expect(policySelectsAsset(policy(filters, []), light)).toBe(selects);
  });
});

describe("user attributes", () => {
  const grouped: Caller = { ...caller, claims: { ...caller.claims, groups: ["lights", "ops"] } };
  it.each([
    { name: "subject", groups: [["subject=c-1"]], who: caller, matches: true },
    { name: "another subject", groups: [["subject=c-2"]], who: caller, matches: false },
    { name: "jwt_ custom claim", groups: [["jwt_serial_number=TL1"]], who: caller, matches: true },
    {
      name: "jwt_ claim with another value",
      groups: [["jwt_serial_number=TL2"]],
      who: caller,
      matches: false,
    },
    { name: "email the app does not have", groups: [["email=a@b.c"]], who: caller, matches: false },
    { name: "group: the token names", groups: [["group:ops"]], who: grouped, matches: true },
    { name: "group: the token does not name", groups: [["group:admins"]], who: grouped, matches: false },
    { name: "group: for a token with no groups", groups: [["group:ops"]], who: caller, matches: false },
    {
      name: "OR inside a group",
      groups: [["subject=c-2", "jwt_serial_number=TL1"]],
      who: caller,
      matches: true,
    },
    {
      name: "AND across groups",
      groups: [["subject=c-1"], ["jwt_serial_number=TL2"]],
      who: caller,
      matches: false,
    },
    { name: "no user attributes matches nobody", groups: [], who: caller, matches: false },
  ])("$name", ({ groups, who, matches }) => {
    expect(permissionMatchesCaller(permission(groups), who)).toBe(matches);
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
    { term: "attributes.arc_display_type=Traffic Light", valid: true },
    { term: "attributes.arc_display_type!=Traffic Light", valid: true },
    { term: "attributes.x=*", valid: true },
    { term: "attributes.x!=*", valid: true },
    { term: "attributes.=x", valid: false },
    { term: "attributes.!=x", valid: false },
    { term: "arc_display_type=x", valid: false },
    { term: "attributes.x", valid: false },
  ])("filter $term valid: $valid", ({ term, valid }) => {
    expect(filterTermProblem(term) === undefined).toBe(valid);
  });

  it.each([
    { term: "attributes.colour!=red", parsed: { attribute: "colour", operator: "!=", value: "red" } },
    { term: "attributes.colour=*", parsed: { attribute: "colour", operator: "=", value: "*" } },
    { term: "attributes.a=b=c", parsed: { attribute: "a", operator: "=", value: "b=c" } },
  ])("parses $term", ({ term, parsed }) => {
    expect(parseFilterTerm(term)).toEqual(parsed);
  });

  it.each([
    { term: "subject=abc", valid: true },
    { term: "email=a@b.c", valid: true },
    { term: "jwt_serial_number=1", valid: true },
    { term: "group:traffic-ops", valid: true },
    { term: "group:", valid: false },
    { term: "jwt_=1", valid: false },
    { term: "role=admin", valid: false },
  ])("user attribute $term valid: $valid", ({ term, valid }) => {
    expect(userAttributeProblem(term) === undefined).toBe(valid);
  });
});
