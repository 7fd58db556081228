/**
 * grpc-gateway refuses a JSON field the request message does not have with 400 INVALID_ARGUMENT;
 * the emulator does the same on every JSON route, at any depth, and names the field.
 */
import { describe, expect, it } from "vitest";
import { type RunningEmulator } from "../../src/emulator/index.ts";
import { createApp, send, useEmulator } from "./support.ts";

const applications = "/archivist/iam/v1/applications";
const policies = "/archivist/iam/v1/access_policies";
let emulator: RunningEmulator;
let token: string;

useEmulator((e, t) => {
  emulator = e;
  token = t;
});

const permission = {
  asset_attributes_read: ["*"],
  user_attributes: [{ or: ["subject=c-1"] }],
};
const policy = {
  display_name: "Traffic lights",
  filters: [{ or: ["attributes.arc_display_type=Traffic Light"] }],
  access_permissions: [permission],
};

/** What each route needs to exist: the path of an application or a policy made for the case. */
async function existing(kind: "application" | "policy"): Promise<string> {
  if (kind === "application") {
    const app = await createApp(emulator, token, { display_name: "a" });
    return `/archivist/iam/v1/${app.identity}`;
  }
  const created = await send(emulator, "POST", policies, { token, json: policy });
  return `/archivist/iam/v1/${(created.body as { identity: string }).identity}`;
}

describe("unknown JSON fields", () => {
  it.each([
    {
      name: "applications.create",
      method: "POST",
      path: () => Promise.resolve(applications),
      body: { display_name: "a", colour: "red" },
      field: "colour",
    },
    {
      name: "applications.update",
      method: "PATCH",
      path: () => existing("application"),
      body: { display_name: "b", description: "x" },
      field: "description",
    },
    {
      name: "applications.regenerateSecret",
      method: "POST",
      path: async () => `${await existing("application")}:regenerate-secret`,
      body: { force: true },
      field: "force",
    },
    {
      name: "accessPolicies.create",
      method: "POST",
      path: () => Promise.resolve(policies),
      body: { ...policy, enabled: true },
      field: "enabled",
    },
    {
      name: "accessPolicies.create, inside a permission",
      method: "POST",
      path: () => Promise.resolve(policies),
      body: { ...policy, access_permissions: [{ ...permission, asset_attributes: ["*"] }] },
      field: "asset_attributes",
    },
    {
      name: "accessPolicies.create, inside a filter group",
      method: "POST",
      path: () => Promise.resolve(policies),
      body: { ...policy, filters: [{ or: ["attributes.a=b"], and: ["attributes.c=d"] }] },
      field: "and",
    },
    {
      name: "accessPolicies.update",
      method: "PATCH",
      path: () => existing("policy"),
      body: { display_name: "b", owner: "me" },
      field: "owner",
    },
  ])("$name: 400 naming the field, nothing changed", async ({ method, path, body, field }) => {
    const target = await path();
    const before = {
      applications: emulator.control.applications(),
      policies: emulator.control.accessPolicies(),
    };
    const response = await send(emulator, method, target, { token, json: body });
    expect([response.status, response.body]).toEqual([
      400,
      expect.objectContaining({ code: 3, details: [] }),
    ]);
    expect((response.body as { message: string }).message).toContain(`unknown field "${field}"`);
    expect({
      applications: emulator.control.applications(),
      policies: emulator.control.accessPolicies(),
    }).toEqual(before);
  });

  it("takes regenerate-secret with no body or an empty object", async () => {
    const path = `${await existing("application")}:regenerate-secret`;
    expect((await send(emulator, "POST", path, { token })).status).toBe(200);
    expect((await send(emulator, "POST", path, { token, json: {} })).status).toBe(200);
  });
});
