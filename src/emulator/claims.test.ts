import { describe, expect, it } from "vitest";
import * as operator from "../api/v1alpha1/claims.ts";
import { customClaimNameProblem, registeredJwtClaimNames, reservedClaimPrefixes } from "./claims.ts";

describe("custom claim names", () => {
  it.each([
    ["serial_number", undefined],
    ["has_cyclist_light", undefined],
    ["k8s_integration_uid", undefined],
    ["jit_tier", "must not start with jit_ or arc_"],
    ["arc_display_type", "must not start with jit_ or arc_"],
    ["iss", "is a registered JWT claim"],
    ["client_id", "is a registered JWT claim"],
    ["name", "is a registered JWT claim"],
    ["", "must not be empty"],
  ])("%j → %s", (name, problem) => {
    const found = customClaimNameProblem(name);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toContain(problem);
  });

  it("refuses exactly what the operator's CRD refuses (but the operator's own ownership claim)", () => {
    expect([...registeredJwtClaimNames].sort()).toEqual([...operator.registeredClaimNames].sort());
    expect([...reservedClaimPrefixes]).toEqual([...operator.reservedClaimPrefixes]);
  });
});
