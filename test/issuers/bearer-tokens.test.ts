/**
 * Every issuer kind through the operator: a BearerToken keeps a token Secret fresh from the
 * emulator's Azure AD (v1 `resource`, v2 `scope`) and JWT-bearer endpoints, and from oidc-provider,
 * an independent OpenID provider, each verified against its issuer's own discovery document.
 */
import { exportPKCS8, generateKeyPair, exportSPKI } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubectlOk } from "../support/kubectl.ts";
import { startTestEnv, type TestEnv } from "../support/env.ts";
import { startOidcProvider, type RunningOidcProvider } from "../support/oidc-provider.ts";
import { bearerTokenManifest, secretManifest, type BearerTokenSpecInput } from "../support/manifests.ts";

const ns = "it-issuers";
const resource = "https://app.datatrails.example";
let env: TestEnv;
let oidc: RunningOidcProvider;

beforeAll(async () => {
  env = await startTestEnv([ns]);
  oidc = await startOidcProvider({ accessTokenTtlSeconds: 300 });
});
afterAll(async () => {
  await env?.stop();
  await oidc?.close();
});

async function secret(name: string, stringData: Record<string, string>) {
  await kubectlOk(["apply", "-f", "-"], secretManifest(ns, name, stringData));
}

async function bearerToken(name: string, spec: Omit<BearerTokenSpecInput, "secretName">) {
  await kubectlOk(["apply", "-f", "-"], bearerTokenManifest(ns, name, spec));
}

const ready = (name: string) =>
  kubectlOk([
    "get",
    "bearertoken",
    name,
    "-n",
    ns,
    "-o",
    'jsonpath={.status.conditions[?(@.type=="Ready")].status}/{.status.conditions[?(@.type=="Ready")].reason}',
  ]);

async function tokenSecret(
  name: string,
): Promise<{ issuedAt: string; claims: Record<string, unknown>; file: string }> {
  const s = await env.core.readNamespacedSecret({ name: `${name}-token`, namespace: ns });
  const data = Object.fromEntries(
    Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]),
  );
  const payload = (data["access_token"] ?? "").split(".")[1] ?? "";
  return {
    issuedAt: s.metadata?.annotations?.["datatrails.ai/issued-at"] ?? "",
    claims: JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>,
    file: data["bearer-token.txt"] ?? "",
  };
}

describe("BearerToken issuers", () => {
  it("Azure AD v1 (resource): publishes a verified token with the app's roles, and refreshes it", async () => {
    env.emulator.control.azure.setTokenTtlSeconds(30);
    const app = env.emulator.control.azure.addClient({ roles: { [resource]: ["archivist_administrator"] } });
    await secret("azure-v1", { client_id: app.clientId, client_secret: app.clientSecret });
    await bearerToken("azure-v1", {
      oauth2ClientCredentials: {
        tokenUrl: app.endpoints.tokenUrlV1,
        resource,
        credentialsSecretRef: { name: "azure-v1" },
      },
      verify: {
        discoveryUrl: app.endpoints.discoveryUrlV1,
        audiences: [resource],
        requiredRoles: ["archivist_administrator"],
      },
    });
    await expect.poll(() => ready("azure-v1"), { timeout: 30_000 }).toBe("True/TokenValid");
    const first = await tokenSecret("azure-v1");
    expect(first.claims).toMatchObject({
      aud: resource,
      roles: ["archivist_administrator"],
      appid: app.clientId,
    });
    expect(first.file).toMatch(/^Authorization: Bearer [\w-]+\.[\w-]+\.[\w-]+\n$/);
    // Refreshed at 67-80 % of 30 s: a second token arrives well before the first expires.
    await expect
      .poll(async () => (await tokenSecret("azure-v1")).issuedAt, { timeout: 40_000, interval: 500 })
      .not.toBe(first.issuedAt);
  });

  it("Azure AD v2 (scope <resource>/.default): aud is the resource's app id", async () => {
    const app = env.emulator.control.azure.addClient({ roles: { [resource]: ["guest"] } });
    await secret("azure-v2", { client_id: app.clientId, client_secret: app.clientSecret });
    await bearerToken("azure-v2", {
      oauth2ClientCredentials: {
        tokenUrl: app.endpoints.tokenUrlV2,
        scopes: [`${resource}/.default`],
        authStyle: "Basic",
        credentialsSecretRef: { name: "azure-v2" },
      },
      verify: {
        discoveryUrl: app.endpoints.discoveryUrlV2,
        audiences: [app.resourceAppIds[resource] ?? ""],
        requiredRoles: ["guest"],
      },
    });
    await expect.poll(() => ready("azure-v2"), { timeout: 30_000 }).toBe("True/TokenValid");
    expect((await tokenSecret("azure-v2")).claims).toMatchObject({
      aud: app.resourceAppIds[resource],
      ver: "2.0",
    });
  });

  it("JWT-bearer (Federated Directory): signs an assertion with the key from a Secret and honours an 8-hour expires_in", async () => {
    const keys = await generateKeyPair("RS256", { extractable: true });
    const issuer = "fd-client-1";
    env.emulator.control.federated.registerJwtBearerClient({
      issuer,
      publicKeyPem: await exportSPKI(keys.publicKey),
      allowedScopes: ["directoryKey"],
    });
    await secret("fd-key", { private_key: await exportPKCS8(keys.privateKey) });
    const endpoints = env.emulator.control.federated.endpoints();
    await bearerToken("federated", {
      jwtBearer: {
        tokenUrl: endpoints.tokenUrl,
        privateKeySecretRef: { name: "fd-key" },
        issuer,
        audience: "key",
        scopes: ["directoryKey"],
        requestEncoding: "JSON",
      },
      verify: { discoveryUrl: endpoints.discoveryUrl },
    });
    await expect.poll(() => ready("federated"), { timeout: 30_000 }).toBe("True/TokenValid");
    const expires = await kubectlOk([
      "get",
      "bearertoken",
      "federated",
      "-n",
      ns,
      "-o",
      "jsonpath={.status.tokenExpiresAt}",
    ]);
    const hoursLeft = (Date.parse(expires) - Date.now()) / 3_600_000;
    expect(hoursLeft).toBeGreaterThan(7.9);
    expect(hoursLeft).toBeLessThanOrEqual(8);
  });

  it.each(["client_secret_post", "client_secret_basic"] as const)(
    "oidc-provider, an independent OpenID provider (%s): publishes a token verified against its own discovery",
    async (method) => {
      const client = oidc.clients.find((c) => c.authMethod === method);
      if (!client) throw new Error(`the oidc-provider fixture has no ${method} client`);
      const name = `oidc-${method.replaceAll("_", "-")}`;
      await secret(name, { client_id: client.clientId, client_secret: client.clientSecret });
      await bearerToken(name, {
        oauth2ClientCredentials: {
          tokenUrl: oidc.tokenUrl,
          scopes: ["read"],
          resource: oidc.resource,
          authStyle: method === "client_secret_basic" ? "Basic" : "Body",
          credentialsSecretRef: { name },
        },
        verify: { discoveryUrl: oidc.discoveryUrl, audiences: [oidc.resource] },
      });
      await expect.poll(() => ready(name), { timeout: 30_000 }).toBe("True/TokenValid");
      expect((await tokenSecret(name)).claims).toMatchObject({
        iss: oidc.issuer,
        aud: oidc.resource,
        client_id: client.clientId,
      });
    },
  );
});
