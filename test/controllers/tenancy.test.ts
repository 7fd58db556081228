/**
 * Tenancy (design.md invariant 7): a namespaced object reads Secrets only in its own namespace, and
 * a ClusterDataTrailsConnection serves only the namespaces it allows, by name or by label.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubectlOk } from "../support/kubectl.ts";
import { startTestEnv, type TestEnv } from "../support/env.ts";
import {
  type IntegrationSpecInput,
  bearerTokenManifest,
  clientSecretManifest,
  clusterConnectionManifest,
  dataTrailsIssuer,
  integrationManifest,
} from "../support/manifests.ts";

const [allowed, labelled, refused] = ["tenancy-allowed", "tenancy-labelled", "tenancy-refused"];
const clusterConnection = "tenancy-shared";
let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv([allowed, labelled, refused]);
  await kubectlOk(["label", "namespace", labelled, "datatrails-access=granted"]);
  // The shared admin Secret lives in a namespace none of the tenants can name.
  await kubectlOk(["create", "namespace", "tenancy-operator"]);
  await kubectlOk(
    ["apply", "-f", "-"],
    [
      clientSecretManifest("tenancy-operator", env.emulator.admin, "shared-admin"),
      clusterConnectionManifest(clusterConnection, {
        url: env.emulator.url,
        credentialsSecretRef: { namespace: "tenancy-operator", name: "shared-admin" },
        allowedNamespaces: {
          names: [allowed],
          selector: { matchLabels: { "datatrails-access": "granted" } },
        },
      }),
    ],
  );
});
afterAll(async () => {
  await kubectlOk(["delete", "clusterdatatrailsconnection", clusterConnection, "--wait=false"]);
  await kubectlOk(["delete", "namespace", "tenancy-operator", "--wait=false"]);
  await env?.stop();
});

const integration = (namespace: string, name: string, connectionRef: IntegrationSpecInput["connectionRef"]) =>
  integrationManifest(namespace, name, { connectionRef, displayName: `${namespace}-${name}` });

async function readyReason(namespace: string, name: string): Promise<string> {
  return kubectlOk([
    "get",
    "datatrailsintegration",
    name,
    "-n",
    namespace,
    "-o",
    'jsonpath={.status.conditions[?(@.type=="Ready")].status}/{.status.conditions[?(@.type=="Ready")].reason}',
  ]);
}

const appsNamed = (displayName: string) =>
  env.emulator.control.applications().filter((a) => a.displayName === displayName);

describe("tenancy", () => {
  it.each([
    ["by name", allowed],
    ["by label", labelled],
  ])("lets a namespace the cluster connection allows %s use it", async (_how, namespace) => {
    await kubectlOk(
      ["apply", "-f", "-"],
      integration(namespace, "shared", { kind: "ClusterDataTrailsConnection", name: clusterConnection }),
    );
    await kubectlOk([
      "wait",
      "--for=condition=CredentialsReady",
      "--timeout=60s",
      "-n",
      namespace,
      "datatrailsintegration/shared",
    ]);
    expect(appsNamed(`${namespace}-shared`)).toHaveLength(1);
  });

  it("refuses the cluster connection to a namespace it does not allow, creating nothing", async () => {
    await kubectlOk(
      ["apply", "-f", "-"],
      integration(refused, "shared", { kind: "ClusterDataTrailsConnection", name: clusterConnection }),
    );
    await expect
      .poll(() => readyReason(refused, "shared"), { timeout: 20_000 })
      .toBe("False/ConnectionNotAllowed");
    expect(appsNamed(`${refused}-shared`)).toHaveLength(0);
  });

  it("cannot reach another namespace's DataTrailsConnection: a connectionRef has no namespace", async () => {
    // `datatrails` exists in the allowed namespace; from here the name resolves only locally.
    await kubectlOk(["delete", "datatrailsconnection", "datatrails", "-n", refused]);
    await kubectlOk(["apply", "-f", "-"], integration(refused, "borrow", { name: "datatrails" }));
    await expect
      .poll(() => readyReason(refused, "borrow"), { timeout: 20_000 })
      .toBe("False/ConnectionNotFound");
    expect(appsNamed(`${refused}-borrow`)).toHaveLength(0);
  });

  it("reads a BearerToken's credentials only in its own namespace", async () => {
    // shared-credentials exists in the allowed namespace, not here.
    await kubectlOk(
      ["apply", "-f", "-"],
      bearerTokenManifest(refused, "borrowed", { dataTrails: dataTrailsIssuer("shared-credentials") }),
    );
    await expect
      .poll(
        () =>
          kubectlOk([
            "get",
            "bearertoken",
            "borrowed",
            "-n",
            refused,
            "-o",
            'jsonpath={.status.conditions[?(@.type=="Ready")].status}/{.status.conditions[?(@.type=="Ready")].reason}',
          ]),
        { timeout: 20_000 },
      )
      .toBe("False/SecretNotFound");
    const secrets = await kubectlOk(["get", "secrets", "-n", refused, "-o", "name"]);
    expect(secrets).not.toContain("borrowed-token");
  });
});
