/**
 * The switches that make the emulator answer as a less obliging real server may: policies
 * normalised on the way back (normalisePolicies), and PATCHes that answer 200 but never stick
 * (ignoreUpdates), for access policies and applications alike.
 */
import { describe, expect, it } from "vitest";
import { normalisedBehaviours, type RunningEmulator } from "../../src/emulator/index.ts";
import { createApp, send, type WireApp, useEmulator } from "./support.ts";

const policies = "/archivist/iam/v1/access_policies";
let emulator: RunningEmulator;
let token: string;

useEmulator((e, t) => {
  emulator = e;
  token = t;
});

const sent = {
  display_name: "Traffic lights",
  description: "k8s-uid=u-1",
  filters: [
    { or: ["attributes.site=B", "attributes.site=A"] },
    { or: ["attributes.arc_display_type=Traffic Light"] },
  ],
  access_permissions: [
    {
      subjects: [],
      behaviours: ["Attachments"],
      include_attributes: ["arc_display_type", "arc_display_name"],
      asset_attributes_read: [],
      asset_attributes_write: [],
      event_arc_display_type_read: ["*"],
      event_arc_display_type_write: [],
      user_attributes: [{ or: ["subject=c-1"] }],
    },
  ],
};

const normalised = {
  display_name: "Traffic lights",
  description: "k8s-uid=u-1",
  filters: [
    { or: ["attributes.arc_display_type=Traffic Light"] },
    { or: ["attributes.site=A", "attributes.site=B"] },
  ],
  access_permissions: [
    {
      behaviours: [...normalisedBehaviours],
      include_attributes: ["arc_display_name", "arc_display_type"],
      event_arc_display_type_read: ["*"],
      user_attributes: [{ or: ["subject=c-1"] }],
    },
  ],
};

async function createPolicy(): Promise<{ identity: string; path: string; body: unknown }> {
  const created = await send(emulator, "POST", policies, { token, json: sent });
  const identity = (created.body as { identity: string }).identity;
  return { identity, path: `/archivist/iam/v1/${identity}`, body: created.body };
}

function withoutServerFields(policy: unknown): unknown {
  const { identity: _identity, tenant: _tenant, ...rest } = policy as Record<string, unknown>;
  return rest;
}

describe("normalisePolicies", () => {
  it.each([
    { name: "create", answer: async () => (await createPolicy()).body },
    {
      name: "get",
      answer: async () => (await send(emulator, "GET", (await createPolicy()).path, { token })).body,
    },
    {
      name: "list",
      answer: async () => {
        await createPolicy();
        return (
          (await send(emulator, "GET", `${policies}?page_size=10`, { token })).body as {
            access_policies: unknown[];
          }
        ).access_policies[0];
      },
    },
    {
      name: "PATCH",
      answer: async () =>
        (await send(emulator, "PATCH", (await createPolicy()).path, { token, json: sent })).body,
    },
  ])(
    "answers $name normalised: empty lists left out, lists sorted, behaviours rewritten",
    async ({ answer }) => {
      emulator.control.setNormalisePolicies(true);
      expect(withoutServerFields(await answer())).toEqual(normalised);
    },
  );

  it("answers as sent while off", async () => {
    expect(withoutServerFields((await createPolicy()).body)).toEqual(sent);
  });

  it("gives the same answer every time (deterministic)", async () => {
    emulator.control.setNormalisePolicies(true);
    const { path } = await createPolicy();
    const answers = await Promise.all([1, 2, 3].map(() => send(emulator, "GET", path, { token })));
    expect(new Set(answers.map((a) => a.text)).size).toBe(1);
  });

  it("is switched over the admin API and shown in the settings", async () => {
    const on = await send(emulator, "PATCH", "/_emulator/settings", { json: { normalisePolicies: true } });
    expect(on.body).toMatchObject({ normalisePolicies: true });
    expect(withoutServerFields((await createPolicy()).body)).toEqual(normalised);
    emulator.control.reset();
    expect(emulator.control.settings().normalisePolicies).toBe(false);
  });

  it("still grants what the policy means", async () => {
    emulator.control.setNormalisePolicies(true);
    emulator.control.addAsset({ arc_display_name: "L1", arc_display_type: "Traffic Light", site: "A" });
    const app = await createApp(emulator, token, { display_name: "reader" });
    await send(emulator, "POST", policies, {
      token,
      json: {
        ...sent,
        access_permissions: [
          { ...sent.access_permissions[0], user_attributes: [{ or: [`subject=${app.client_id}`] }] },
        ],
      },
    });
    const issued = await send(emulator, "POST", "/archivist/iam/v1/appidp/token", {
      form: {
        grant_type: "client_credentials",
        client_id: app.client_id,
        client_secret: app.credentials[0]?.secret ?? "",
      },
    });
    const seen = await send(emulator, "GET", "/archivist/v2/assets", {
      token: (issued.body as { access_token: string }).access_token,
    });
    expect((seen.body as { assets: unknown[] }).assets).toHaveLength(1);
  });
});

describe("ignoreUpdates", () => {
  it("answers an access-policy PATCH 200 with the stored policy, unchanged", async () => {
    const { path, body } = await createPolicy();
    emulator.control.setIgnoreUpdates({ accessPolicies: true });
    const patched = await send(emulator, "PATCH", path, {
      token,
      json: { display_name: "Lights", filters: [{ or: ["attributes.x=*"] }] },
    });
    expect([patched.status, patched.body]).toEqual([200, body]);
    expect((await send(emulator, "GET", path, { token })).body).toEqual(body);
  });

  it("answers an application PATCH 200 with the stored application: display_name and custom_claims not applied", async () => {
    const app = await createApp(emulator, token, {
      display_name: "a",
      custom_claims: { serial_number: "1" },
    });
    const path = `/archivist/iam/v1/${app.identity}`;
    const before = (await send(emulator, "GET", path, { token })).body as WireApp;
    emulator.control.setIgnoreUpdates({ applications: true });
    const patched = await send(emulator, "PATCH", path, {
      token,
      json: { display_name: "b", custom_claims: { serial_number: "2" } },
    });
    expect([patched.status, patched.body]).toEqual([200, before]);
    expect((await send(emulator, "GET", path, { token })).body).toEqual(before);
  });

  it("ignores only the routes it is set for", async () => {
    const { path } = await createPolicy();
    const app = await createApp(emulator, token, { display_name: "a" });
    emulator.control.setIgnoreUpdates({ applications: true });
    const policy = await send(emulator, "PATCH", path, { token, json: { display_name: "Lights" } });
    const application = await send(emulator, "PATCH", `/archivist/iam/v1/${app.identity}`, {
      token,
      json: { display_name: "b" },
    });
    expect([
      (policy.body as { display_name: string }).display_name,
      (application.body as WireApp).display_name,
    ]).toEqual(["Lights", "a"]);
  });

  it.each([
    { name: "an invalid policy PATCH", kind: "policy", patch: { filters: [] }, status: 400 },
    { name: "a policy PATCH with an unknown field", kind: "policy", patch: { colour: "red" }, status: 400 },
    { name: "an invalid application PATCH", kind: "application", patch: { display_name: " " }, status: 400 },
  ])("still refuses $name", async ({ kind, patch, status }) => {
    emulator.control.setIgnoreUpdates({ accessPolicies: true, applications: true });
    const path =
      kind === "policy"
        ? (await createPolicy()).path
        : `/archivist/iam/v1/${(await createApp(emulator, token, { display_name: "a" })).identity}`;
    expect((await send(emulator, "PATCH", path, { token, json: patch })).status).toBe(status);
  });

  it("is switched over the admin API, each route on its own, and reset", async () => {
    await send(emulator, "PATCH", "/_emulator/settings", {
      json: { ignoreUpdates: { accessPolicies: true } },
    });
    const both = await send(emulator, "PATCH", "/_emulator/settings", {
      json: { ignoreUpdates: { applications: true } },
    });
    expect(both.body).toMatchObject({ ignoreUpdates: { accessPolicies: true, applications: true } });
    emulator.control.reset();
    expect(emulator.control.settings().ignoreUpdates).toEqual({ accessPolicies: false, applications: false });
  });
});
