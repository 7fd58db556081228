/**
 * The assets route and access policies (ABAC): a new integration sees nothing, a policy naming it
 * by subject or custom claim shows it the matching assets, an OWNER sees everything.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../src/emulator/index.ts";
import { adminToken, createApp, send, tokenFor } from "./support.ts";

const policies = "/archivist/iam/v1/access_policies";
let emulator: RunningEmulator;
let admin: string;

beforeAll(async () => {
  emulator = await startEmulator({ seedAssets: true });
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(async () => {
  emulator.control.reset();
  admin = await adminToken(emulator);
});

async function integration(claims: Record<string, string> = {}) {
  const app = await createApp(emulator, admin, { display_name: "TrafficLight101", custom_claims: claims });
  const token = (await tokenFor(emulator, app.client_id, app.credentials[0]?.secret ?? "")).body as {
    access_token: string;
  };
  return { clientId: app.client_id, token: token.access_token };
}

function trafficLightPolicy(userAttribute: string, read: string[] = ["*"]) {
  return {
    display_name: "Traffic lights",
    filters: [{ or: ["attributes.arc_display_type=Traffic Light"] }],
    access_permissions: [
      {
        subjects: [],
        behaviours: ["RecordEvidence"],
        include_attributes: ["arc_display_name", "arc_display_type"],
        asset_attributes_read: read,
        asset_attributes_write: [],
        event_arc_display_type_read: ["*"],
        event_arc_display_type_write: [],
        user_attributes: [{ or: [userAttribute] }],
      },
    ],
  };
}

async function assets(token: string) {
  const response = await send(emulator, "GET", "/archivist/v2/assets", { token });
  return response.body as { assets: { attributes: Record<string, string> }[]; next_page_token: string };
}

describe("assets", () => {
  it("shows a new integration exactly {assets: [], next_page_token: ''}", async () => {
    const { token } = await integration();
    const response = await send(emulator, "GET", "/archivist/v2/assets", { token });
    expect([response.status, response.body]).toEqual([200, { assets: [], next_page_token: "" }]);
  });

  it("answers 401 without a valid token", async () => {
    expect((await send(emulator, "GET", "/archivist/v2/assets")).status).toBe(401);
    expect((await send(emulator, "GET", "/archivist/v2/assets", { token: "x.y.z" })).status).toBe(401);
  });

  it.each([
    ["its subject", (id: string) => `subject=${id}`],
    ["a custom claim", () => "jwt_serial_number=TL1000000101"],
  ])("shows the matching assets once a policy names the integration by %s", async (_name, attribute) => {
    const { clientId, token } = await integration({ serial_number: "TL1000000101" });
    const created = await send(emulator, "POST", policies, {
      token: admin,
      json: trafficLightPolicy(attribute(clientId)),
    });
    expect(created.status).toBe(200);
    const seen = await assets(token);
    expect(seen.assets.map((a) => a.attributes["arc_display_type"])).toEqual([
      "Traffic Light",
      "Traffic Light",
    ]);
  });

  it.each([
    {
      name: "!= a value",
      filter: "attributes.arc_display_type!=Traffic Light",
      seen: ["Camera", "Shipping Container"],
    },
    { name: "=* (present)", filter: "attributes.serial_number=*", seen: ["Traffic Light", "Traffic Light"] },
    { name: "!=* (absent)", filter: "attributes.serial_number!=*", seen: ["Camera", "Shipping Container"] },
  ])("selects assets with a filter term $name", async ({ filter, seen }) => {
    const { clientId, token } = await integration();
    const created = await send(emulator, "POST", policies, {
      token: admin,
      json: { ...trafficLightPolicy(`subject=${clientId}`), filters: [{ or: [filter] }] },
    });
    expect(created.status).toBe(200);
    const types = (await assets(token)).assets.map((a) => a.attributes["arc_display_type"]);
    expect(types.sort()).toEqual(seen);
  });

  it("accepts a group: user attribute, which an appidp token (carrying no groups) never matches", async () => {
    const { token } = await integration();
    const created = await send(emulator, "POST", policies, {
      token: admin,
      json: trafficLightPolicy("group:traffic-ops"),
    });
    expect(created.status).toBe(200);
    expect(await assets(token)).toEqual({ assets: [], next_page_token: "" });
  });

  it("cuts attributes down to those the policy lets it read", async () => {
    const { clientId, token } = await integration();
    await send(emulator, "POST", policies, {
      token: admin,
      json: trafficLightPolicy(`subject=${clientId}`, []),
    });
    expect(Object.keys((await assets(token)).assets[0]?.attributes ?? {}).sort()).toEqual([
      "arc_display_name",
      "arc_display_type",
    ]);
  });

  it("shows an OWNER every asset, and pages them", async () => {
    emulator.control.addAsset({ arc_display_name: "extra", arc_display_type: "Bollard" });
    const first = await send(emulator, "GET", "/archivist/v2/assets?page_size=3", { token: admin });
    const page = first.body as { assets: unknown[]; next_page_token: string };
    expect(page.assets).toHaveLength(3);
    const rest = await send(
      emulator,
      "GET",
      `/archivist/v2/assets?page_token=${encodeURIComponent(page.next_page_token)}`,
      {
        token: admin,
      },
    );
    expect(rest.body).toMatchObject({ next_page_token: "" });
    expect((rest.body as { assets: unknown[] }).assets).toHaveLength(2);
  });
});

describe("access policies", () => {
  it("lists, gets, patches and deletes", async () => {
    const created = (
      await send(emulator, "POST", policies, { token: admin, json: trafficLightPolicy("subject=x") })
    ).body as { identity: string };
    expect(created.identity).toMatch(/^access_policies\//);
    const path = `/archivist/iam/v1/${created.identity}`;
    expect((await send(emulator, "GET", path, { token: admin })).body).toMatchObject({
      display_name: "Traffic lights",
    });
    const patched = await send(emulator, "PATCH", path, { token: admin, json: { display_name: "Lights" } });
    expect(patched.body).toMatchObject({
      display_name: "Lights",
      filters: [{ or: ["attributes.arc_display_type=Traffic Light"] }],
    });
    const list = await send(emulator, "GET", policies, { token: admin });
    expect(
      (list.body as { access_policies: unknown[]; next_page_token: string }).access_policies,
    ).toHaveLength(1);
    expect([(await send(emulator, "DELETE", path, { token: admin })).body]).toEqual([{}]);
    expect((await send(emulator, "GET", path, { token: admin })).status).toBe(404);
  });

  it.each([
    [
      "a filter of another form",
      { ...trafficLightPolicy("subject=x"), filters: [{ or: ["arc_display_type=x"] }] },
    ],
    ["an unknown user attribute", trafficLightPolicy("role=admin")],
    ["no display name", { filters: [] }],
  ])("refuses %s with 400", async (_name, body) => {
    const response = await send(emulator, "POST", policies, { token: admin, json: body });
    expect([response.status, (response.body as { code: number }).code]).toEqual([400, 3]);
  });

  it("answers 403 to a plain integration and 402 past the quota", async () => {
    const { token } = await integration();
    expect((await send(emulator, "GET", policies, { token })).status).toBe(403);
    emulator.control.setAccessPolicyQuota(0);
    const refused = await send(emulator, "POST", policies, {
      token: admin,
      json: trafficLightPolicy("subject=x"),
    });
    expect([refused.status, (refused.body as { code: number }).code]).toEqual([402, 12]);
  });
});
