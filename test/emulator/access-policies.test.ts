/**
 * What the access-policies API refuses, as DataTrails documents it: create needs filters and
 * access_permissions, display_name and description have length limits, and a permission must
 * grant something through one of its read, write or include lists.
 */
import { describe, expect, it } from "vitest";
import { type RunningEmulator } from "../../src/emulator/index.ts";
import { send, useEmulator } from "./support.ts";

const policies = "/archivist/iam/v1/access_policies";
let emulator: RunningEmulator;
let token: string;

useEmulator((e, t) => {
  emulator = e;
  token = t;
});

const permission = { user_attributes: [{ or: ["subject=c-1"] }], asset_attributes_read: ["*"] };
const valid = {
  display_name: "Traffic lights",
  filters: [{ or: ["attributes.arc_display_type=Traffic Light"] }],
  access_permissions: [permission],
};
const without = (name: keyof typeof valid) => {
  const { [name]: _left, ...rest } = valid;
  return rest;
};

describe("creating access policies", () => {
  it.each([
    { name: "no filters", body: without("filters"), message: "filters is required" },
    { name: "empty filters", body: { ...valid, filters: [] }, message: "filters is required" },
    {
      name: "no access_permissions",
      body: without("access_permissions"),
      message: "access_permissions is required",
    },
    {
      name: "empty access_permissions",
      body: { ...valid, access_permissions: [] },
      message: "access_permissions is required",
    },
    { name: "no display_name", body: without("display_name"), message: "display_name is required" },
    {
      name: "a display_name of 129 characters",
      body: { ...valid, display_name: "x".repeat(129) },
      message: "display_name must be at most 128 characters",
    },
    {
      name: "a description of 4097 characters",
      body: { ...valid, description: "x".repeat(4097) },
      message: "description must be at most 4096 characters",
    },
    {
      name: "a permission with only user attributes and behaviours",
      body: {
        ...valid,
        access_permissions: [{ ...permission, asset_attributes_read: [], behaviours: ["RecordEvidence"] }],
      },
      message: "access_permissions.0: a permission must set at least one of asset_attributes_read",
    },
  ])("refuses $name with 400 naming it", async ({ body, message }) => {
    const response = await send(emulator, "POST", policies, { token, json: body });
    expect([response.status, (response.body as { code: number }).code]).toEqual([400, 3]);
    expect((response.body as { message: string }).message).toContain(message);
    expect(emulator.control.accessPolicies()).toEqual([]);
  });

  it.each([
    { name: "a display_name of 128 characters", body: { ...valid, display_name: "x".repeat(128) } },
    { name: "a description of 4096 characters", body: { ...valid, description: "x".repeat(4096) } },
    ...(
      [
        "asset_attributes_read",
        "asset_attributes_write",
        "event_arc_display_type_read",
        "event_arc_display_type_write",
        "include_attributes",
      ] as const
    ).map((list) => ({
      name: `a permission that sets only ${list}`,
      body: {
        ...valid,
        access_permissions: [{ user_attributes: permission.user_attributes, [list]: ["x"] }],
      },
    })),
  ])("takes $name", async ({ body }) => {
    const response = await send(emulator, "POST", policies, { token, json: body });
    expect(response.status).toBe(200);
  });
});

describe("patching access policies", () => {
  it.each([
    { name: "empty filters", patch: { filters: [] }, message: "filters is required" },
    {
      name: "a permission that grants nothing",
      patch: { access_permissions: [{ user_attributes: permission.user_attributes }] },
      message: "a permission must set at least one of",
    },
    {
      name: "a display_name of 129 characters",
      patch: { display_name: "x".repeat(129) },
      message: "display_name must be at most 128 characters",
    },
  ])("refuses $name with 400 and keeps the policy", async ({ patch, message }) => {
    const created = await send(emulator, "POST", policies, { token, json: valid });
    const path = `/archivist/iam/v1/${(created.body as { identity: string }).identity}`;
    const response = await send(emulator, "PATCH", path, { token, json: patch });
    expect([response.status, (response.body as { message: string }).message]).toEqual([
      400,
      expect.stringContaining(message),
    ]);
    expect((await send(emulator, "GET", path, { token })).body).toEqual(created.body);
  });
});
