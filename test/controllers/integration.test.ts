/**
 * The DataTrailsIntegration controller end to end: a real kube-apiserver, the emulator over real
 * HTTP, the operator running on this file's namespace, and kubectl as a user would type it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ownerClaimName } from "../../src/api/v1alpha1/index.ts";
import { HttpDataTrailsApi } from "../../src/datatrails/http-api.ts";
import { sha256Hex } from "../../src/emulator/index.ts";
import { kubectl, kubectlOk, waitForCondition } from "../support/kubectl.ts";
import { startTestEnv, type TestEnv } from "../support/env.ts";
import { integrationManifest, type IntegrationSpecInput } from "../support/manifests.ts";

const ns = "it-integration";
let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv([ns], ["--resync-interval-ms=2000"]);
});
afterAll(async () => {
  if (process.env["DUMP_LOGS"])
    (await import("node:fs")).writeFileSync("/tmp/op-logs.txt", env.logs.join("\n"));
  await env?.stop();
});

const integration = (
  name: string,
  spec: Partial<IntegrationSpecInput> = {},
  annotations?: Record<string, string>,
) => integrationManifest(ns, name, spec, annotations ? { annotations } : {});

async function secretData(name: string): Promise<Record<string, string>> {
  const secret = await env.core.readNamespacedSecret({ name, namespace: ns });
  return Object.fromEntries(
    Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]),
  );
}

async function tokenStatus(clientId: string, clientSecret: string): Promise<number> {
  const res = await fetch(`${env.emulator.url}/archivist/iam/v1/appidp/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: clientId,
      client_secret: clientSecret,
    }),
  });
  await res.arrayBuffer();
  return res.status;
}

const apps = (displayName: string) =>
  env.emulator.control.applications().filter((a) => a.displayName === displayName);

async function condition(kind: string, name: string, type: string): Promise<string> {
  const out = await kubectl([
    "get",
    kind,
    name,
    "-n",
    ns,
    "-o",
    `jsonpath={.status.conditions[?(@.type=="${type}")].status}`,
  ]);
  return out.stdout;
}

describe("DataTrailsIntegration", () => {
  it("creates the docs' TrafficLight101 with both claims and a credentials Secret that gets a token", async () => {
    await kubectlOk(
      ["apply", "-f", "-"],
      integration("traffic-light-101", {
        displayName: "TrafficLight101",
        customClaims: { serial_number: "TL1000000101", has_cyclist_light: "true" },
      }),
    );
    await waitForCondition(ns, "datatrailsintegration/traffic-light-101", "CredentialsReady");

    const [app, ...others] = apps("TrafficLight101");
    expect(others).toHaveLength(0);
    expect(app?.customClaims).toMatchObject({ serial_number: "TL1000000101", has_cyclist_light: "true" });
    const data = await secretData("traffic-light-101-credentials");
    expect(data["client_id"]).toBe(app?.clientId);
    expect(data["url"]).toBe(env.emulator.url);
    expect(data["token_url"]).toBe(`${env.emulator.url}/archivist/iam/v1/appidp/token`);
    expect(sha256Hex(data["client_secret"] ?? "")).toBe(app?.secretSha256);
    expect(await tokenStatus(data["client_id"] ?? "", data["client_secret"] ?? "")).toBe(200);

    const status = JSON.parse(
      await kubectlOk(["get", "datatrailsintegration", "traffic-light-101", "-n", ns, "-o", "json"]),
    ) as {
      status: Record<string, unknown>;
    };
    expect(status.status).toMatchObject({
      clientId: app?.clientId,
      applicationIdentity: `applications/${app?.clientId}`,
    });
    expect(status.status["pendingCreate"]).toBeUndefined();
    const metrics = await env.metrics.registry.metrics();
    expect(metrics).toMatch(
      /datatrails_api_requests_total\{endpoint="create application",code="200"\} [1-9]/,
    );
    expect(metrics).toMatch(
      /datatrails_token_expiry_timestamp_seconds\{namespace="it-integration",name="traffic-light-101"\} \d{10}/,
    );
  });

  it("PATCHes edited claims to DataTrails, replacing the whole map", async () => {
    await kubectlOk(["apply", "-f", "-"], integration("claims-edit", { customClaims: { a: "1", b: "2" } }));
    await waitForCondition(ns, "datatrailsintegration/claims-edit", "CredentialsReady");
    await kubectlOk(
      ["apply", "-f", "-"],
      integration("claims-edit", { displayName: "claims-edit", customClaims: { b: "3" } }),
    );
    await expect.poll(() => apps("claims-edit")[0]?.customClaims["b"], { timeout: 20_000 }).toBe("3");
    const uid = await kubectlOk([
      "get",
      "-n",
      ns,
      "datatrailsintegration/claims-edit",
      "-o",
      "jsonpath={.metadata.uid}",
    ]);
    expect(apps("claims-edit")[0]?.customClaims).toEqual({ b: "3", [ownerClaimName]: uid });
  });

  it("deletes the application with the object, and leaves it under deletionPolicy Orphan", async () => {
    await kubectlOk(
      ["apply", "-f", "-"],
      [integration("doomed"), integration("kept", { deletionPolicy: "Orphan" })],
    );
    await waitForCondition(
      ns,
      ["datatrailsintegration/doomed", "datatrailsintegration/kept"],
      "CredentialsReady",
    );
    expect(apps("doomed")).toHaveLength(1);
    await kubectlOk([
      "delete",
      "-n",
      ns,
      "datatrailsintegration/doomed",
      "datatrailsintegration/kept",
      "--timeout=60s",
    ]);
    expect(apps("doomed")).toHaveLength(0);
    expect(apps("kept")).toHaveLength(1);
  });

  it("rotates the secret on demand: the new secret works, the old one does not", async () => {
    await kubectlOk(["apply", "-f", "-"], integration("rotate-me"));
    await waitForCondition(ns, "datatrailsintegration/rotate-me", "CredentialsReady");
    const before = await secretData("rotate-me-credentials");
    await kubectlOk(["annotate", "-n", ns, "datatrailsintegration/rotate-me", "datatrails.ai/rotate=1"]);
    await expect
      .poll(async () => (await secretData("rotate-me-credentials"))["client_secret"], { timeout: 20_000 })
      .not.toBe(before["client_secret"]);
    const after = await secretData("rotate-me-credentials");
    expect(await tokenStatus(after["client_id"] ?? "", after["client_secret"] ?? "")).toBe(200);
    expect(await tokenStatus(before["client_id"] ?? "", before["client_secret"] ?? "")).toBe(401);
    expect(apps("rotate-me")).toHaveLength(1);
  });

  it("repairs a deleted credentials Secret by regenerating the secret, without a second application", async () => {
    await kubectlOk(["apply", "-f", "-"], integration("lose-secret"));
    await waitForCondition(ns, "datatrailsintegration/lose-secret", "CredentialsReady");
    const hash = apps("lose-secret")[0]?.secretSha256;
    await kubectlOk(["delete", "secret", "-n", ns, "lose-secret-credentials"]);
    await expect.poll(() => apps("lose-secret")[0]?.secretSha256, { timeout: 20_000 }).not.toBe(hash);
    await expect
      .poll(
        async () =>
          sha256Hex(
            (await secretData("lose-secret-credentials").catch((): Record<string, string> => ({})))[
              "client_secret"
            ] ?? "",
          ),
        {
          timeout: 20_000,
        },
      )
      .toBe(apps("lose-secret")[0]?.secretSha256);
    expect(apps("lose-secret")).toHaveLength(1);
  });

  it("refuses a connection that does not exist, with a clear reason", async () => {
    await kubectlOk(["apply", "-f", "-"], integration("no-conn", { connectionRef: { name: "missing" } }));
    await expect
      .poll(() => condition("datatrailsintegration", "no-conn", "Ready"), { timeout: 20_000 })
      .toBe("False");
    const reason = await kubectlOk([
      "get",
      "datatrailsintegration",
      "no-conn",
      "-n",
      ns,
      "-o",
      'jsonpath={.status.conditions[?(@.type=="Ready")].reason}',
    ]);
    expect(reason).toBe("ConnectionNotFound");
  });

  it("re-creates an application deleted in DataTrails behind its back, with a new working secret", async () => {
    await kubectlOk(["apply", "-f", "-"], integration("deleted-behind"));
    await waitForCondition(ns, "datatrailsintegration/deleted-behind", "CredentialsReady");
    const first = apps("deleted-behind")[0];
    const admin = new HttpDataTrailsApi({ baseUrl: env.emulator.url, credentials: env.emulator.admin });
    await admin.deleteApplication(first?.identity ?? "");
    await admin.close();
    await expect
      .poll(() => apps("deleted-behind").map((a) => a.identity), { timeout: 30_000 })
      .toEqual([expect.not.stringMatching(first?.identity ?? "") as unknown as string]);
    await expect
      .poll(async () => (await secretData("deleted-behind-credentials"))["client_id"], { timeout: 30_000 })
      .toBe(apps("deleted-behind")[0]?.clientId);
    const data = await secretData("deleted-behind-credentials");
    expect(await tokenStatus(data["client_id"] ?? "", data["client_secret"] ?? "")).toBe(200);
  });

  it("adopts an existing application: takes its claims over and gives it a secret of its own", async () => {
    const admin = new HttpDataTrailsApi({ baseUrl: env.emulator.url, credentials: env.emulator.admin });
    const existing = await admin.createApplication({
      displayName: "made-by-hand",
      customClaims: { old: "x" },
    });
    await admin.close();
    await kubectlOk(
      ["apply", "-f", "-"],
      integration("adopter", {
        displayName: "made-by-hand",
        customClaims: { fresh: "y" },
        adopt: { identity: existing.identity },
      }),
    );
    await waitForCondition(ns, "datatrailsintegration/adopter", "CredentialsReady");
    const [app, ...others] = apps("made-by-hand");
    expect(others).toHaveLength(0);
    expect(app?.identity).toBe(existing.identity);
    expect(app?.customClaims["fresh"]).toBe("y");
    expect(app?.customClaims["old"]).toBeUndefined();
    const data = await secretData("adopter-credentials");
    expect(await tokenStatus(data["client_id"] ?? "", data["client_secret"] ?? "")).toBe(200);
    expect(await tokenStatus(existing.clientId, existing.secret)).toBe(401);
  });

  it("refuses to adopt an application that does not exist, and creates nothing", async () => {
    const creates = env.emulator.control.count("applications.create");
    await kubectlOk(
      ["apply", "-f", "-"],
      integration("adopt-ghost", {
        adopt: { identity: "applications/00000000-0000-4000-8000-000000000001" },
      }),
    );
    await expect
      .poll(() => condition("datatrailsintegration", "adopt-ghost", "Ready"), { timeout: 20_000 })
      .toBe("False");
    const reason = await kubectlOk([
      "get",
      "datatrailsintegration",
      "adopt-ghost",
      "-n",
      ns,
      "-o",
      'jsonpath={.status.conditions[?(@.type=="Ready")].reason}',
    ]);
    expect(reason).toBe("AdoptTargetNotFound");
    expect(env.emulator.control.count("applications.create")).toBe(creates);
  });
});
