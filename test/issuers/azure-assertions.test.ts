/**
 * Azure AD client assertions through the operator, against the test control plane and the
 * emulator's Azure AD: a BearerToken authenticates with a certificate from a kubernetes.io/tls
 * Secret, or with a ServiceAccount token the operator requests (workload identity federation; the
 * emulator checks it against the control plane's own discovery document and JWKS), for v1
 * (`resource`) and v2 (`scope`); the published bearer-token.txt works with curl; each kind of bad
 * assertion is refused with a reason naming its cause; a restart asks for no token.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parseAllDocuments } from "yaml";
import type { AzureClientCredentials } from "../../src/emulator/index.ts";
import { certificateAssertions } from "../../src/tokens/client-assertion.ts";
import { ClientCredentialsIssuer } from "../../src/tokens/client-credentials.ts";
import { selfSignedRsaCertificate, type TestCertificate } from "../../src/tokens/testing/certificate.ts";
import { startTestEnv, type TestEnv } from "../support/env.ts";
import { kubectl, kubectlOk } from "../support/kubectl.ts";
import {
  bearerTokenManifest,
  clientAssertionIssuer,
  serviceAccountManifest,
  tlsSecretManifest,
  untypedBearerTokenManifest,
} from "../support/manifests.ts";
import { metricSum, restartOperator, waitForQuietController } from "../tokens/support.ts";

const run = promisify(execFile);
const ns = "it-azure-assertions";
const otherNs = "it-azure-assertions-b";
const resource = "https://app.datatrails.example";
const exchanger = "token-exchanger";
const exchange = "api://AzureADTokenExchange";
let env: TestEnv;
let app: AzureClientCredentials;
let registered: TestCertificate;
let unregistered: TestCertificate;
let dir: string;

beforeAll(async () => {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(inject("kubeconfigPath"));
  const cluster = kubeConfig.getCurrentCluster();
  const caCertificate = Buffer.from(cluster?.caData ?? "", "base64").toString();
  env = await startTestEnv([ns, otherNs], [], { azure: { federationCaCertificates: [caCertificate] } });
  // Relying parties read the ServiceAccount issuer's discovery anonymously, as on public clusters.
  await kubectlOk(["apply", "-f", "-"], {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: "it-azure-assertions-oidc-discovery" },
    roleRef: {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "ClusterRole",
      name: "system:service-account-issuer-discovery",
    },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:unauthenticated" }],
  });
  [registered, unregistered] = await Promise.all([
    selfSignedRsaCertificate("registered"),
    selfSignedRsaCertificate("unregistered"),
  ]);
  const issuer = cluster?.server ?? "";
  app = env.emulator.control.azure.addClient({
    certificates: [registered.certificatePem],
    federatedCredentials: [
      { issuer, subject: `system:serviceaccount:${ns}:${exchanger}` },
      { issuer, subject: `system:serviceaccount:${ns}:wide-exchanger` },
    ],
    roles: { [resource]: ["archivist_administrator"] },
  });
  await kubectlOk(
    ["apply", "-f", "-"],
    [
      tlsSecretManifest(ns, "app-certificate", registered),
      tlsSecretManifest(ns, "azure-app-certificate", registered),
      tlsSecretManifest(ns, "other-certificate", unregistered),
      serviceAccountManifest(ns, exchanger, [exchange]),
      serviceAccountManifest(ns, "wide-exchanger", [exchange, "api://SomethingElse"]),
      serviceAccountManifest(ns, "not-opted-in"),
      serviceAccountManifest(otherNs, exchanger, [exchange]),
      serviceAccountManifest(otherNs, "only-in-b", [exchange]),
    ],
  );
  dir = await mkdtemp(join(tmpdir(), "azure-bearer-"));
}, 120_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  await kubectl(["delete", "clusterrolebinding", "it-azure-assertions-oidc-discovery", "--ignore-not-found"]);
  await env?.stop();
});

type Assertion = Parameters<typeof clientAssertionIssuer>[2];
type Target = Parameters<typeof clientAssertionIssuer>[3];
const v1: Target = { resource };
const v2: Target = { scopes: [`${resource}/.default`] };
const tokenUrl = (target: Target) =>
  "resource" in target ? app.endpoints.tokenUrlV1 : app.endpoints.tokenUrlV2;

async function bearerToken(name: string, assertion: Assertion, target: Target, namespace = ns) {
  await kubectlOk(
    ["apply", "-f", "-"],
    bearerTokenManifest(namespace, name, {
      oauth2ClientCredentials: clientAssertionIssuer(tokenUrl(target), app.clientId, assertion, target),
    }),
  );
}

const readyOf = (name: string, namespace = ns) =>
  kubectlOk([
    "get",
    "bearertoken",
    name,
    "-n",
    namespace,
    "-o",
    'jsonpath={.status.conditions[?(@.type=="Ready")].status}/{.status.conditions[?(@.type=="Ready")].reason}: {.status.conditions[?(@.type=="Ready")].message}',
  ]);

/** Real curl with the published bearer-token.txt against the tenant's protected API. */
async function curlWithTokenFile(name: string): Promise<{ status: number; body: string }> {
  const s = await env.core.readNamespacedSecret({ name: `${name}-token`, namespace: ns });
  const path = join(dir, `${name}.txt`);
  await writeFile(path, Buffer.from(s.data?.["bearer-token.txt"] ?? "", "base64"), { mode: 0o600 });
  const url = `${env.emulator.url}/${app.tenant}/resource/whoami`;
  const { stdout } = await run("curl", ["-s", "-w", "\n%{http_code}", "-H", `@${path}`, url], {
    timeout: 30_000,
  });
  const at = stdout.lastIndexOf("\n");
  return { status: Number(stdout.slice(at + 1)), body: stdout.slice(0, at) };
}

describe("client assertions for Azure AD", () => {
  it.each([
    { name: "cert-v1", assertion: { certificateSecret: "app-certificate" }, target: v1, ver: "1.0" },
    { name: "cert-v2", assertion: { certificateSecret: "app-certificate" }, target: v2, ver: "2.0" },
    { name: "federated-v1", assertion: { serviceAccount: exchanger }, target: v1, ver: "1.0" },
    { name: "federated-v2", assertion: { serviceAccount: exchanger }, target: v2, ver: "2.0" },
  ])(
    "$name reaches TokenReady and its bearer-token.txt works with curl -H @file",
    async ({ name, assertion, target, ver }) => {
      await bearerToken(name, assertion, target);
      await expect.poll(() => readyOf(name), { timeout: 30_000 }).toMatch(/^True\/TokenValid/);
      const answer = await curlWithTokenFile(name);
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject({
        appid: app.clientId,
        ver,
        roles: ["archivist_administrator"],
      });
    },
  );

  it("refuses a certificate that is not registered on the app, naming AADSTS700027", async () => {
    await bearerToken("wrong-cert", { certificateSecret: "other-certificate" }, v2);
    await expect
      .poll(() => readyOf("wrong-cert"), { timeout: 30_000 })
      .toMatch(
        /^False\/CredentialsRejected: .*AADSTS700027: the certificate is not registered on the application/,
      );
  });

  it("refuses an expired assertion, naming AADSTS700024", async () => {
    // The emulator's clock runs 10 minutes ahead: every 5-minute assertion has expired when it arrives.
    env.emulator.control.setClockOffsetMs(10 * 60_000);
    try {
      await bearerToken("expired-assertion", { certificateSecret: "app-certificate" }, v1);
      await expect
        .poll(() => readyOf("expired-assertion"), { timeout: 30_000 })
        .toMatch(
          /^False\/CredentialsRejected: .*AADSTS700024: the client assertion is not within its valid time range/,
        );
    } finally {
      env.emulator.control.setClockOffsetMs(0);
    }
  });

  it("refuses a replayed jti, naming AADSTS50013", async () => {
    const assertion = await certificateAssertions(
      registered,
      { clientId: app.clientId, audience: app.endpoints.tokenUrlV2, lifetimeSeconds: 300 },
      () => Date.now(),
    )();
    const issuer = new ClientCredentialsIssuer({
      tokenUrl: app.endpoints.tokenUrlV2,
      clientId: app.clientId,
      scopes: [`${resource}/.default`],
      assertion: () => Promise.resolve(assertion),
    });
    await expect(issuer.issue()).resolves.toMatchObject({ tokenType: "Bearer" });
    await expect(issuer.issue()).rejects.toThrow(
      /answered 401 \(invalid_client, AADSTS50013: .*jti was used before/,
    );
  });

  it("refuses a federated token with a wrong audience, naming AADSTS700212", async () => {
    // The ServiceAccount lends tokens for this audience; Azure AD's credential expects another.
    await bearerToken(
      "wrong-audience",
      { serviceAccount: "wide-exchanger", audience: "api://SomethingElse" },
      v2,
    );
    await expect
      .poll(() => readyOf("wrong-audience"), { timeout: 30_000 })
      .toMatch(/^False\/CredentialsRejected: .*AADSTS700212: no federated identity credential .* audience/);
  });

  it("lends no ServiceAccount token for an audience the ServiceAccount does not list in its annotation", async () => {
    await bearerToken("not-opted-in", { serviceAccount: "not-opted-in" }, v2);
    await bearerToken(
      "unlisted-audience",
      { serviceAccount: exchanger, audience: "api://SomethingElse" },
      v2,
    );
    const refusal = (sa: string, audience: string) =>
      new RegExp(
        `^False/InvalidSpec: .*ServiceAccount ${ns}/${sa} does not lend tokens for audience ${audience}: its annotation datatrails.ai/token-audiences must list it`,
      );
    await expect
      .poll(() => readyOf("not-opted-in"), { timeout: 30_000 })
      .toMatch(refusal("not-opted-in", exchange));
    await expect
      .poll(() => readyOf("unlisted-audience"), { timeout: 30_000 })
      .toMatch(refusal(exchanger, "api://SomethingElse"));
  });

  it("cannot use another namespace's ServiceAccount: not by name, and not by its federated identity", async () => {
    // The spec names a ServiceAccount by name only: there is no field for another namespace.
    const refused = await kubectl(
      ["apply", "--validate=strict", "-f", "-"],
      untypedBearerTokenManifest(ns, "cross-namespace", {
        oauth2ClientCredentials: {
          tokenUrl: app.endpoints.tokenUrlV2,
          scopes: [`${resource}/.default`],
          clientAssertion: {
            clientId: app.clientId,
            serviceAccount: { name: exchanger, namespace: otherNs },
          },
        },
      }),
    );
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(
      /unknown field "spec.oauth2ClientCredentials.clientAssertion.serviceAccount.namespace"/,
    );
    // A name that exists only in the other namespace is looked up in the BearerToken's own.
    await bearerToken("only-in-b", { serviceAccount: "only-in-b" }, v2);
    await expect
      .poll(() => readyOf("only-in-b"), { timeout: 30_000 })
      .toMatch(new RegExp(`^False/InvalidSpec: .*ServiceAccount ${ns}/only-in-b not found`));
    // The other namespace's own ServiceAccount of the same name is another subject to Azure AD.
    await bearerToken("other-tenant", { serviceAccount: exchanger }, v2, otherNs);
    await expect
      .poll(() => readyOf("other-tenant", otherNs), { timeout: 30_000 })
      .toMatch(/^False\/CredentialsRejected: .*AADSTS700213: no federated identity credential .* subject/);
  });

  it("refuses at admission a client assertion with a client secret too, or with both kinds", async () => {
    const cases = [
      {
        clientAssertion: { clientId: "x", certificate: { secretRef: { name: "app-certificate" } } },
        credentialsSecretRef: { name: "creds" },
        message: "spec.oauth2ClientCredentials needs exactly one of credentialsSecretRef and clientAssertion",
      },
      {
        clientAssertion: {
          clientId: "x",
          certificate: { secretRef: { name: "app-certificate" } },
          serviceAccount: { name: exchanger },
        },
        message:
          "spec.oauth2ClientCredentials.clientAssertion needs exactly one of certificate and serviceAccount",
      },
    ];
    for (const { message, ...issuer } of cases) {
      const result = await kubectl(
        ["apply", "-f", "-"],
        untypedBearerTokenManifest(ns, "refused", {
          oauth2ClientCredentials: { tokenUrl: app.endpoints.tokenUrlV2, resource, ...issuer },
        }),
      );
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain(message);
    }
  });

  it.each(["azure-certificate", "azure-workload-identity"])(
    "examples/%s.yaml, pointed at the emulator, reaches TokenReady",
    async (example) => {
      const text = await readFile(
        join(import.meta.dirname, "..", "..", "examples", `${example}.yaml`),
        "utf8",
      );
      const objects = parseAllDocuments(text).map((d) => d.toJS() as Record<string, unknown>);
      for (const o of objects) {
        if (o["kind"] !== "BearerToken") continue;
        const c = (o["spec"] as { oauth2ClientCredentials: Record<string, unknown> }).oauth2ClientCredentials;
        c["tokenUrl"] = app.endpoints.tokenUrlV2;
        c["scopes"] = [`${resource}/.default`];
        (c["clientAssertion"] as Record<string, unknown>)["clientId"] = app.clientId;
      }
      await kubectlOk(["apply", "-n", ns, "-f", "-"], objects);
      await expect.poll(() => readyOf(example), { timeout: 30_000 }).toMatch(/^True\/TokenValid/);
    },
  );

  it("asks Azure AD for no token after a restart", async () => {
    // The refusals of other cases retry on their own; they are not what this case measures.
    for (const [namespace, names] of [
      [
        ns,
        [
          "wrong-cert",
          "expired-assertion",
          "wrong-audience",
          "only-in-b",
          "not-opted-in",
          "unlisted-audience",
        ],
      ],
      [otherNs, ["other-tenant"]],
    ] as const)
      await kubectlOk(["delete", "bearertoken", "-n", namespace, "--ignore-not-found", "--wait", ...names]);
    await bearerToken("restart-cert", { certificateSecret: "app-certificate" }, v2);
    await bearerToken("restart-federated", { serviceAccount: exchanger }, v1);
    for (const name of ["restart-cert", "restart-federated"])
      await expect.poll(() => readyOf(name), { timeout: 30_000 }).toMatch(/^True\/TokenValid/);
    const listed = await kubectlOk([
      "get",
      "bearertokens",
      "-A",
      "-o",
      "jsonpath={.items[*].metadata.namespace}",
    ]);
    const tokenCount = listed.split(" ").filter((n) => n === ns || n === otherNs).length;
    await waitForQuietController(env.operator.metricsPort, "bearertoken", tokenCount);
    const secretVersions = () =>
      kubectlOk([
        "get",
        "secrets",
        "-n",
        ns,
        "-o",
        "jsonpath={range .items[*]}{.metadata.name}={.metadata.resourceVersion} {end}",
      ]);
    const before = await secretVersions();
    env.emulator.control.resetCounters();
    await restartOperator(env);
    await expect.poll(() => env.operator.isReady(), { timeout: 30_000 }).toBe(true);
    await waitForQuietController(env.operator.metricsPort, "bearertoken", tokenCount);
    expect(env.emulator.control.count("azure.token.v1")).toBe(0);
    expect(env.emulator.control.count("azure.token.v2")).toBe(0);
    expect(await metricSum(env.operator.metricsPort, "datatrails_token_refresh_total")).toBe(0);
    expect(await secretVersions()).toBe(before);
  }, 120_000);
});
