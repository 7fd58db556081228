/**
 * A suspended integration (docs/control.md): no DataTrails call, no Secret write, its child told to
 * suspend, a pending rotation kept for the resume; deletion waits unless deletionPolicy is Orphan.
 */
import { describe, expect, it } from "vitest";
import { refreshAnnotation, rotateAnnotation } from "../../api/v1alpha1/index.ts";
import { decide } from "./decide.ts";
import { app, credentials, now, object, observed, options, settled, types } from "./decide.fixtures.ts";
import type { Action, IntegrationObserved } from "./model.ts";

const suspendedCondition = {
  type: "Suspended",
  status: "True" as const,
  reason: "Suspended",
  message: "m",
  observedGeneration: 3,
  lastTransitionTime: "2026-05-01T00:00:00Z",
};
const found = { application: { state: "found", app: app() }, credentials } as const;
/** Actions that reach DataTrails or a Secret. */
const writes = new Set<Action["type"]>([
  "MarkPendingCreate",
  "CreateApplication",
  "MarkPendingRotation",
  "RegenerateSecret",
  "WriteCredentials",
  "PatchApplication",
  "DeleteApplication",
  "MarkPendingPolicy",
  "CreateAccessPolicy",
  "UpdateAccessPolicy",
  "DeleteAccessPolicy",
  "DeleteBearerToken",
]);

describe("decide: a suspended integration", () => {
  it.each<{ name: string; o: IntegrationObserved; want: string[] }>([
    {
      name: "a new one gets its finalizer and nothing else is created",
      o: observed(object({ spec: { suspend: true }, finalizer: false }), {
        token: { exists: false, upToDate: false },
      }),
      want: ["AddFinalizer", "Event:Suspended"],
    },
    {
      name: "a settled one tells its child to suspend",
      o: observed(object({ spec: { suspend: true }, status: settled }), {
        ...found,
        token: { exists: true, upToDate: false },
      }),
      want: ["Event:Suspended", "ApplyBearerToken"].sort(),
    },
    {
      name: "a rotate request waits",
      o: observed(
        object({
          spec: { suspend: true },
          status: { ...settled, conditions: [suspendedCondition] },
          annotations: { [rotateAnnotation]: "r1" },
        }),
        found,
      ),
      want: [],
    },
    {
      name: "a drifted application is left as it is",
      o: observed(object({ spec: { suspend: true, displayName: "New" }, status: settled }), found),
      want: ["Event:Suspended"],
    },
    {
      name: "a secret past its rotation point is not regenerated",
      o: observed(object({ spec: { suspend: true }, status: settled }), {
        ...found,
        application: { state: "found", app: app({ validUntil: "2026-06-10T00:00:00Z" }) },
      }),
      want: ["Event:Suspended"],
    },
  ])("$name", ({ o, want }) => {
    const plan = decide(o, now, options);
    expect(types(plan.actions).sort()).toEqual(want.sort());
    expect(plan.actions.filter((a) => writes.has(a.type))).toEqual([]);
    expect(plan.status.conditions?.find((c) => c.type === "Suspended")).toMatchObject({
      status: "True",
      reason: "Suspended",
      observedGeneration: 3,
    });
    expect(plan.status.lastRotateRequest).toBeUndefined();
    expect(plan.requeueAfterMs).toBeUndefined();
  });

  it("passes suspend and a refresh request on to the child", () => {
    const o = observed(
      object({ spec: { suspend: true }, status: settled, annotations: { [refreshAnnotation]: "x" } }),
      { ...found, token: { exists: true, upToDate: false } },
    );
    const apply = decide(o, now, options).actions.find((a) => a.type === "ApplyBearerToken");
    expect(apply).toMatchObject({ suspend: true, refreshRequest: "x" });
  });

  it("resumes: the condition goes with a Resumed Event, and the rotation that waited is done once", () => {
    const o = observed(
      object({
        status: { ...settled, conditions: [suspendedCondition] },
        annotations: { [rotateAnnotation]: "r1" },
      }),
      { ...found, token: { exists: true, upToDate: false } },
    );
    const plan = decide(o, now, options);
    expect(types(plan.actions)).toEqual([
      "Event:Resumed",
      "MarkPendingRotation",
      "RegenerateSecret",
      "WriteCredentials",
      "Event:SecretRotated",
      "ApplyBearerToken",
    ]);
    expect(plan.actions.find((a) => a.type === "ApplyBearerToken")).not.toHaveProperty("suspend");
    expect(plan.status.lastRotateRequest).toBe("r1");
    expect(plan.status.conditions?.find((c) => c.type === "Suspended")).toBeUndefined();
  });

  it("deletion waits with DeleteSuspended under deletionPolicy Delete, once an Event", () => {
    const o = observed(object({ spec: { suspend: true }, status: settled, deleting: true }), found);
    const plan = decide(o, now, options);
    expect(types(plan.actions)).toEqual(["Event:DeleteSuspended"]);
    expect(plan.status.conditions?.find((c) => c.type === "Ready")).toMatchObject({
      status: "False",
      reason: "DeleteSuspended",
    });
    const again = observed(object({ spec: { suspend: true }, status: plan.status, deleting: true }), found);
    expect(decide(again, now, options).actions).toEqual([]);
  });

  it("deletion goes on under deletionPolicy Orphan: only the finalizer goes", () => {
    const o = observed(
      object({ spec: { suspend: true, deletionPolicy: "Orphan" }, status: settled, deleting: true }),
      { ...found, identity: { value: settled.applicationIdentity ?? "", source: "status" } },
    );
    expect(types(decide(o, now, options).actions)).toEqual(["Event:Orphaned", "RemoveFinalizer"]);
  });
});
