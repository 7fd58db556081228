/** decide() with spec.accessPolicies and spec.roles: what the integration plan adds for them. */
import { describe, expect, it } from "vitest";
import { decide } from "./decide.ts";
import {
  app,
  clientId,
  credentials,
  identity,
  now,
  object,
  observed,
  options,
  settled,
  types,
  uid,
} from "./decide.fixtures.ts";

describe("decide: the OWNER role and access policies", () => {
  const lights = {
    name: "lights",
    filters: [["attributes.arc_display_type=Traffic Light"]],
    permissions: { assetAttributesRead: ["*"] },
  };

  it("sends spec.roles with the create and warns that OWNER was granted", () => {
    const plan = decide(observed(object({ spec: { roles: ["OWNER"] } })), now, options);
    expect(plan.actions.find((a) => a.type === "CreateApplication")).toMatchObject({ roles: ["OWNER"] });
    expect(plan.actions).toContainEqual(
      expect.objectContaining({ type: "RecordEvent", eventType: "Warning", reason: "OwnerRoleGranted" }),
    );
  });

  it("sends no roles and no warning without spec.roles", () => {
    const plan = decide(observed(object()), now, options);
    const create = plan.actions.find((a) => a.type === "CreateApplication");
    expect(create && "roles" in create).toBe(false);
    expect(types(plan.actions)).not.toContain("Event:OwnerRoleGranted");
  });

  it("waits for the client_id before creating policies, and looks again soon", () => {
    const plan = decide(observed(object({ spec: { accessPolicies: [lights] } })), now, options);
    expect(types(plan.actions)).not.toContain("CreateAccessPolicy");
    expect(plan.status.conditions?.find((c) => c.type === "AccessPoliciesReady")?.status).toBe("Unknown");
    expect(plan.requeueAfterMs).toBe(1000);
  });

  it("creates the policies once the application exists, and Ready waits for them", () => {
    const plan = decide(
      observed(object({ status: settled, spec: { accessPolicies: [lights] } }), {
        credentials,
        application: { state: "found", app: app() },
        policies: { lookups: {}, search: { state: "done", policies: [] } },
      }),
      now,
      options,
    );
    expect(types(plan.actions)).toEqual([
      "MarkPendingPolicy",
      "CreateAccessPolicy",
      "Event:AccessPolicyCreated",
    ]);
    expect(plan.status.accessPolicies).toEqual([{ name: "lights", pendingCreateAt: "2026-06-01T12:00:00Z" }]);
    expect(plan.status.conditions?.find((c) => c.type === "AccessPoliciesReady")?.status).toBe("True");
  });

  it("a policy failure shows as AccessPoliciesReady=False with AccessPolicyFailed, credentials still Ready", () => {
    const failure = {
      reason: "AccessPolicyFailed" as const,
      message: 'access policy "lights": Unavailable: x',
    };
    const plan = decide(
      observed(
        object({
          status: { ...settled, accessPolicies: [{ name: "lights", identity: "access_policies/a" }] },
          spec: { accessPolicies: [lights] },
        }),
        {
          credentials,
          application: { state: "found", app: app() },
          policies: {
            lookups: { "access_policies/a": { state: "failed", ...failure } },
            search: { state: "none" },
          },
        },
      ),
      now,
      options,
    );
    expect(plan.failure).toEqual(failure);
    const condition = (type: string) => plan.status.conditions?.find((c) => c.type === type);
    expect(condition("AccessPoliciesReady")).toMatchObject({ status: "False", reason: "AccessPolicyFailed" });
    expect(condition("CredentialsReady")?.status).toBe("True");
    expect(condition("Ready")).toMatchObject({ status: "False", reason: "AccessPolicyFailed" });
  });

  it("deletion removes the policies before the application", () => {
    const plan = decide(
      observed(
        object({
          deleting: true,
          status: { ...settled, accessPolicies: [{ name: "lights", identity: "access_policies/a" }] },
        }),
        {
          application: { state: "found", app: app() },
          policies: {
            lookups: {
              "access_policies/a": {
                state: "found",
                policy: {
                  identity: "access_policies/a",
                  displayName: "k8s:ns/tl/lights",
                  description: `k8s-uid=${uid}`,
                  filters: [],
                  permissions: [
                    {
                      subjects: [],
                      behaviours: [],
                      includeAttributes: [],
                      assetAttributesRead: [],
                      assetAttributesWrite: [],
                      eventTypesRead: [],
                      eventTypesWrite: [],
                      userAttributes: [[`subject=${clientId}`]],
                    },
                  ],
                },
              },
            },
            search: { state: "done", policies: [] },
          },
        },
      ),
      now,
      options,
    );
    expect(types(plan.actions)).toEqual(["DeleteAccessPolicy", "DeleteApplication", "RemoveFinalizer"]);
  });

  it("deletion waits when the policies cannot be listed", () => {
    const plan = decide(
      observed(object({ deleting: true, status: settled, spec: { accessPolicies: [lights] } }), {
        application: { state: "found", app: app() },
        policies: {
          lookups: {},
          search: { state: "failed", reason: "AccessPolicyFailed", message: "list: Unavailable: down" },
        },
      }),
      now,
      options,
    );
    expect(plan.failure?.reason).toBe("DeleteBlocked");
    expect(types(plan.actions)).toEqual(["Event:DeleteBlocked"]);
  });
});

describe("decide: access policies of an application deleted in DataTrails", () => {
  it("deletes the recorded policies (they name the dead client_id) before creating the application again", () => {
    const recorded = { name: "lights", identity: "access_policies/a" };
    const plan = decide(
      observed(
        object({
          status: { ...settled, accessPolicies: [recorded] },
          spec: {
            accessPolicies: [
              { name: "lights", filters: [["attributes.arc_display_type=Traffic Light"]], permissions: {} },
            ],
          },
        }),
        {
          identity: { value: identity, source: "status" },
          application: { state: "missing" },
          policies: {
            lookups: {
              "access_policies/a": {
                state: "found",
                policy: {
                  identity: "access_policies/a",
                  displayName: "k8s:ns/tl/lights",
                  description: `k8s-uid=${uid}`,
                  filters: [],
                  permissions: [
                    {
                      subjects: [],
                      behaviours: [],
                      includeAttributes: [],
                      assetAttributesRead: [],
                      assetAttributesWrite: [],
                      eventTypesRead: [],
                      eventTypesWrite: [],
                      userAttributes: [[`subject=${clientId}`]],
                    },
                  ],
                },
              },
            },
            search: { state: "none" },
          },
        },
      ),
      now,
      options,
    );
    expect(types(plan.actions).slice(0, 4)).toEqual([
      "Event:ApplicationMissing",
      "DeleteAccessPolicy",
      "MarkPendingCreate",
      "CreateApplication",
    ]);
    expect(plan.status.accessPolicies).toBeUndefined();
  });
});
