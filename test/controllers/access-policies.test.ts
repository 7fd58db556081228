/**
 * spec.accessPolicies and spec.roles end to end: a real kube-apiserver, the emulator over real HTTP
 * with its seeded assets, and each integration's own bearer token (read from its token Secret, as a
 * workload would) asking GET /archivist/v2/assets what it may see.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpDataTrailsApi } from "../../src/datatrails/http-api.ts";
import { startTestEnv, type TestEnv } from "../support/env.ts";
import { kubectl, kubectlOk, waitForCondition } from "../support/kubectl.ts";
import { integrationManifest, type IntegrationSpecInput } from "../support/manifests.ts";

const ns = "it-access-policies";
let env: TestEnv;
let admin: HttpDataTrailsApi;

beforeAll(async () => {
  env = await startTestEnv([ns], ["--resync-interval-ms=2000"], { seedAssets: true });
  admin = new HttpDataTrailsApi({ baseUrl: env.emulator.url, credentials: env.emulator.admin });
});
afterAll(async () => {
  await admin?.close();
  await env?.stop();
});

const trafficLights = {
  name: "lights",
  filters: [["attributes.arc_display_type=Traffic Light"]],
  permissions: { assetAttributesRead: ["*"], eventTypesRead: ["*"] },
};

const integration = (name: string, spec: Partial<IntegrationSpecInput> = {}) =>
  integrationManifest(ns, name, spec);

interface IntegrationJson {
  metadata: { uid: string };
  status?: {
    clientId?: string;
    accessPolicies?: { name: string; identity?: string; pendingCreateAt?: string }[];
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
}

async function get(name: string): Promise<IntegrationJson> {
  return JSON.parse(
    await kubectlOk(["get", "datatrailsintegration", name, "-n", ns, "-o", "json"]),
  ) as IntegrationJson;
}

async function waitReady(name: string): Promise<void> {
  await waitForCondition(ns, `datatrailsintegration/${name}`, "Ready");
}

/** The `bearer-token.txt` header line of the integration's token Secret. */
async function bearerHeader(name: string): Promise<string> {
  const secret = await env.core.readNamespacedSecret({ name: `${name}-token`, namespace: ns });
  const file = Buffer.from(secret.data?.["bearer-token.txt"] ?? "", "base64").toString();
  const match = /^Authorization: (Bearer \S+)\n$/.exec(file);
  if (!match?.[1]) throw new Error(`${name}-token holds no bearer-token.txt`);
  return match[1];
}

/** GET /archivist/v2/assets with the integration's own token, as `curl -H @bearer-token.txt` would. */
async function assetsSeenBy(name: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${env.emulator.url}/archivist/v2/assets`, {
    headers: { authorization: await bearerHeader(name) },
  });
  return { status: res.status, body: await res.json() };
}

async function displayTypesSeenBy(name: string): Promise<string[]> {
  const { status, body } = await assetsSeenBy(name);
  if (status !== 200) throw new Error(`assets: HTTP ${status}`);
  return (body as { assets: { attributes: Record<string, unknown> }[] }).assets
    .map((a) => String(a.attributes["arc_display_type"]))
    .sort();
}

const policiesNamed = (displayName: string) =>
  env.emulator.control.accessPolicies().filter((p) => p.display_name === displayName);

const seededOfType = (type: string) =>
  env.emulator.control
    .assets()
    .filter((a) => a.attributes["arc_display_type"] === type)
    .map((a) => a.identity)
    .sort();

async function eventReasons(name: string): Promise<string[]> {
  const out = await kubectlOk([
    "get",
    "events.events.k8s.io",
    "-n",
    ns,
    "--field-selector",
    `regarding.name=${name}`,
    "-o",
    "jsonpath={range .items[*]}{.type}/{.reason}{'\\n'}{end}",
  ]);
  return out.split("\n").filter(Boolean);
}

describe("spec.accessPolicies", () => {
  it("grants exactly the matching seeded assets to the integration's own token; filter edits change what it sees; drift is put back; removal deletes", async () => {
    await kubectlOk(["apply", "-f", "-"], integration("reader", { accessPolicies: [trafficLights] }));
    await waitReady("reader");

    const obj = await get("reader");
    const [policy, ...others] = policiesNamed("k8s:it-access-policies/reader/lights");
    expect(others).toHaveLength(0);
    expect(policy?.access_permissions[0]?.user_attributes).toEqual([
      { or: [`subject=${obj.status?.clientId}`] },
    ]);
    expect(policy?.description).toContain(`k8s-uid=${obj.metadata.uid}`);
    expect(obj.status?.accessPolicies).toEqual([{ name: "lights", identity: policy?.identity }]);
    expect(obj.status?.conditions?.find((c) => c.type === "AccessPoliciesReady")?.status).toBe("True");

    const seen = await assetsSeenBy("reader");
    expect(seen.status).toBe(200);
    const identities = (seen.body as { assets: { identity: string }[] }).assets.map((a) => a.identity).sort();
    expect(identities).toEqual(seededOfType("Traffic Light"));
    expect(identities).toHaveLength(2);

    // A plain integration is no administrator: the App Registrations API refuses its token.
    const apps = await fetch(`${env.emulator.url}/archivist/iam/v1/applications`, {
      headers: { authorization: await bearerHeader("reader") },
    });
    await apps.arrayBuffer();
    expect(apps.status).toBe(403);

    // Editing the filter changes what the same token sees; the policy is updated, not replaced.
    await kubectlOk(
      ["apply", "-f", "-"],
      integration("reader", {
        accessPolicies: [{ ...trafficLights, filters: [["attributes.arc_display_type=Camera"]] }],
      }),
    );
    await expect.poll(() => displayTypesSeenBy("reader"), { timeout: 30_000 }).toEqual(["Camera"]);
    expect(policiesNamed("k8s:it-access-policies/reader/lights").map((p) => p.identity)).toEqual([
      policy?.identity,
    ]);

    // Edited in DataTrails: put back.
    await admin.updateAccessPolicy(policy?.identity ?? "", { filters: [["attributes.arc_display_type=*"]] });
    await expect
      .poll(() => policiesNamed("k8s:it-access-policies/reader/lights")[0]?.filters, { timeout: 30_000 })
      .toEqual([{ or: ["attributes.arc_display_type=Camera"] }]);

    // Deleted in DataTrails: created again, once.
    await admin.deleteAccessPolicy(policy?.identity ?? "");
    await expect
      .poll(() => policiesNamed("k8s:it-access-policies/reader/lights").map((p) => p.identity), {
        timeout: 30_000,
      })
      .toEqual([expect.not.stringMatching(policy?.identity ?? "-") as unknown as string]);
    await expect.poll(() => displayTypesSeenBy("reader"), { timeout: 30_000 }).toEqual(["Camera"]);
    await expect
      .poll(async () => (await get("reader")).status?.accessPolicies?.[0]?.identity, { timeout: 30_000 })
      .toBe(policiesNamed("k8s:it-access-policies/reader/lights")[0]?.identity);
    expect(await eventReasons("reader")).toEqual(
      expect.arrayContaining([
        "Normal/AccessPolicyCreated",
        "Normal/AccessPolicyUpdated",
        "Warning/AccessPolicyMissing",
      ]),
    );

    // Removed from the spec: deleted in DataTrails, and the token sees nothing again.
    await kubectlOk(["apply", "-f", "-"], integration("reader", { accessPolicies: [] }));
    await expect
      .poll(() => policiesNamed("k8s:it-access-policies/reader/lights"), { timeout: 30_000 })
      .toEqual([]);
    await expect.poll(() => displayTypesSeenBy("reader"), { timeout: 30_000 }).toEqual([]);
    await expect
      .poll(async () => (await get("reader")).status?.accessPolicies, { timeout: 30_000 })
      .toBeUndefined();
  }, 180_000);

  it("an integration without a policy sees no asset", async () => {
    await kubectlOk(["apply", "-f", "-"], integration("no-policy"));
    await waitReady("no-policy");
    expect(await assetsSeenBy("no-policy")).toEqual({
      status: 200,
      body: { assets: [], next_page_token: "" },
    });
  }, 120_000);

  it("deleting the integration deletes its policies and never one that names another subject", async () => {
    await kubectlOk(["apply", "-f", "-"], integration("doomed", { accessPolicies: [trafficLights] }));
    await waitReady("doomed");
    const obj = await get("doomed");
    const mine = policiesNamed("k8s:it-access-policies/doomed/lights");
    expect(mine).toHaveLength(1);
    // Someone else's policy under the same name and even the same marker, for another subject.
    const foreign = await admin.createAccessPolicy({
      displayName: "k8s:it-access-policies/doomed/lights",
      description: `k8s-uid=${obj.metadata.uid}`,
      filters: [["attributes.arc_display_type=Camera"]],
      permissions: [
        {
          subjects: [],
          behaviours: [],
          includeAttributes: [],
          assetAttributesRead: ["*"],
          assetAttributesWrite: [],
          eventTypesRead: [],
          eventTypesWrite: [],
          userAttributes: [["subject=someone-else"]],
        },
      ],
    });

    await kubectlOk(["delete", "datatrailsintegration", "doomed", "-n", ns, "--wait=true", "--timeout=60s"]);
    expect(policiesNamed("k8s:it-access-policies/doomed/lights").map((p) => p.identity)).toEqual([
      foreign.identity,
    ]);
    expect(env.emulator.control.applications().filter((a) => a.clientId === obj.status?.clientId)).toEqual(
      [],
    );
    await admin.deleteAccessPolicy(foreign.identity);
  }, 120_000);

  it("deletionPolicy Orphan keeps the policies", async () => {
    await kubectlOk(
      ["apply", "-f", "-"],
      integration("kept", { accessPolicies: [trafficLights], deletionPolicy: "Orphan" }),
    );
    await waitReady("kept");
    await kubectlOk(["delete", "datatrailsintegration", "kept", "-n", ns, "--wait=true", "--timeout=60s"]);
    expect(policiesNamed("k8s:it-access-policies/kept/lights")).toHaveLength(1);
  }, 120_000);

  it("a policy DataTrails refuses shows as AccessPolicyFailed with its error code, then recovers", async () => {
    env.emulator.control.setAccessPolicyQuota(0);
    try {
      await kubectlOk(["apply", "-f", "-"], integration("over-quota", { accessPolicies: [trafficLights] }));
      await expect
        .poll(
          async () =>
            (await get("over-quota")).status?.conditions?.find((c) => c.type === "AccessPoliciesReady"),
          { timeout: 30_000 },
        )
        .toMatchObject({
          status: "False",
          reason: "AccessPolicyFailed",
          message: expect.stringContaining("QuotaExceeded") as string,
        });
      const ready = (await get("over-quota")).status?.conditions?.find((c) => c.type === "Ready");
      expect(ready).toMatchObject({ status: "False", reason: "AccessPolicyFailed" });
    } finally {
      env.emulator.control.setAccessPolicyQuota(null);
    }
    await waitReady("over-quota");
    expect(policiesNamed("k8s:it-access-policies/over-quota/lights")).toHaveLength(1);
    expect(await displayTypesSeenBy("over-quota")).toEqual(["Traffic Light", "Traffic Light"]);
  }, 120_000);
});

describe("an application deleted in DataTrails behind the operator's back", () => {
  it("is created again with one policy for its new client_id; the old policy goes with the old client", async () => {
    await kubectlOk(["apply", "-f", "-"], integration("reborn", { accessPolicies: [trafficLights] }));
    await waitReady("reborn");
    const before = await get("reborn");
    const [old] = policiesNamed("k8s:it-access-policies/reborn/lights");
    await admin.deleteApplication(`applications/${before.status?.clientId}`);

    await expect
      .poll(async () => (await get("reborn")).status?.clientId, { timeout: 30_000 })
      .not.toBe(before.status?.clientId);
    await waitReady("reborn");
    const after = await get("reborn");
    await expect
      .poll(
        () =>
          policiesNamed("k8s:it-access-policies/reborn/lights").map((p) => [
            p.identity === old?.identity,
            p.access_permissions[0]?.user_attributes,
          ]),
        { timeout: 30_000 },
      )
      .toEqual([[false, [{ or: [`subject=${after.status?.clientId}`] }]]]);
    expect(await displayTypesSeenBy("reborn")).toEqual(["Traffic Light", "Traffic Light"]);
  }, 120_000);
});

describe("examples/traffic-light-reader.yaml", () => {
  it("is admitted as written and its token lists exactly the traffic lights", async () => {
    const file = join(import.meta.dirname, "..", "..", "examples", "traffic-light-reader.yaml");
    await kubectlOk(["apply", "-n", ns, "-f", file]);
    await waitReady("traffic-light-reader");
    expect(await displayTypesSeenBy("traffic-light-reader")).toEqual(["Traffic Light", "Traffic Light"]);
  }, 120_000);
});

describe("spec.roles", () => {
  it("creates an OWNER application, says so in a Warning Event, and its token sees every asset", async () => {
    await kubectlOk(["apply", "-f", "-"], integration("owner", { roles: ["OWNER"] }));
    await waitReady("owner");
    const obj = await get("owner");
    const app = env.emulator.control.applications().find((a) => a.clientId === obj.status?.clientId);
    expect(app?.roles).toEqual(["OWNER"]);
    await expect.poll(() => eventReasons("owner"), { timeout: 30_000 }).toContain("Warning/OwnerRoleGranted");
    expect(await displayTypesSeenBy("owner")).toHaveLength(env.emulator.control.assets().length);
    // An administrator may use the App Registrations API that a plain integration may not.
    const apps = await fetch(`${env.emulator.url}/archivist/iam/v1/applications`, {
      headers: { authorization: await bearerHeader("owner") },
    });
    await apps.arrayBuffer();
    expect(apps.status).toBe(200);
  }, 120_000);

  it("refuses spec.roles changed after creation, and with spec.adopt", async () => {
    await kubectlOk(["apply", "-f", "-"], integration("roles-later"));
    const changed = await kubectl(["apply", "-f", "-"], integration("roles-later", { roles: ["OWNER"] }));
    expect(changed.status).not.toBe(0);
    expect(changed.stderr).toContain("spec.roles can only be set when the integration is created");

    const adopted = await kubectl(
      ["apply", "-f", "-"],
      integration("adopt-owner", {
        roles: ["OWNER"],
        adopt: { identity: "applications/d1fb6c87-faa9-4d56-b2fd-a5b70a9af065" },
      }),
    );
    expect(adopted.status).not.toBe(0);
    expect(adopted.stderr).toContain("spec.roles cannot be used with spec.adopt");
  }, 60_000);
});
