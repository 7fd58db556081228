import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { AzureDirectory, azureEndpoints, newAzureSecret } from "./azure-directory.ts";
import { sha256Hex } from "./state.ts";

const api = "https://app.datatrails.ai";
const tenant = "11111111-2222-3333-4444-555555555555";

function directory(): AzureDirectory {
  return new AzureDirectory({ defaultTenantId: tenant });
}

describe("Azure directory", () => {
  it("creates app registrations with their resources and keeps only the secret's hash", () => {
    const azure = directory();
    const { client, secret } = azure.addClient({ roles: { [api]: ["archivist_administrator", "guest"] } });
    expect(client.tenant).toBe(tenant);
    expect(secret).toMatch(/^.{3}8Q~.{34}$/);
    expect(azure.clients()).toEqual([
      {
        tenant,
        clientId: client.clientId,
        objectId: client.objectId,
        displayName: expect.any(String) as unknown,
        secretSha256: sha256Hex(secret),
        roles: { [api]: ["archivist_administrator", "guest"] },
        certificateThumbprints: [],
        federatedCredentials: [],
      },
    ]);
    expect(azure.resources(tenant)).toEqual([
      { uri: api, appId: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown },
    ]);
  });

  it.each([
    ["the right secret", "s3cret", { ok: true }],
    ["a wrong secret", "nope", { ok: false, reason: "wrongSecret" }],
  ])("authenticates %s", (_name, presented, outcome) => {
    const azure = directory();
    azure.addClient({ clientId: "app-1", clientSecret: "s3cret" });
    expect(azure.authenticate(tenant, "APP-1", presented)).toMatchObject(outcome);
  });

  it.each([
    ["an unknown client", tenant, "other"],
    ["a client of another tenant", "contoso.onmicrosoft.com", "app-1"],
    ["a removed client", tenant, "removed"],
  ])("does not know %s", (_name, inTenant, clientId) => {
    const azure = directory();
    azure.addClient({ clientId: "app-1", clientSecret: "s" });
    azure.addClient({ clientId: "removed", clientSecret: "s" });
    azure.addTenant("contoso.onmicrosoft.com");
    expect(azure.removeClient(tenant, "removed")).toBe(true);
    expect(azure.authenticate(inTenant, clientId, "s")).toEqual({ ok: false, reason: "unknownClient" });
  });

  it.each([
    ["its URI", api],
    ["its URI with a trailing slash", `${api}/`],
    ["its app id, any case", "AAAAAAAA-0000-0000-0000-000000000001"],
  ])("finds a resource by %s", (_name, value) => {
    const azure = directory();
    azure.addResource({ uri: api, appId: "aaaaaaaa-0000-0000-0000-000000000001" });
    expect(azure.findResource(tenant, value)?.uri).toBe(api);
  });

  it.each([
    ["a tenant that is neither a GUID nor a domain", { tenant: "common" }],
    ["a client id with a slash", { clientId: "a/b" }],
    ["an empty role", { roles: { [api]: [""] } }],
  ])("refuses %s", (_name, input) => {
    expect(() => directory().addClient(input)).toThrow();
  });

  it.each([
    ["1.0", { appid: "app-1", appidacr: "1", ver: "1.0" }, "azp"],
    ["2.0", { azp: "app-1", azpacr: "1", ver: "2.0" }, "appid"],
  ] as const)("issues v%s tokens signed with the tenant's kid", async (version, shape, absent) => {
    const azure = directory();
    const { client } = azure.addClient({ clientId: "app-1", roles: { [api]: ["guest"] } });
    const resource = azure.findResource(tenant, api);
    if (!resource) throw new Error("resource missing");
    const nowMs = 1_700_000_000_000;
    const issuer = `http://emulator.test/${tenant}/`;
    const { token, iat, exp } = await azure.issue({
      client,
      resource,
      version,
      audience: api,
      issuer,
      nowMs,
    });
    expect([iat, exp - iat]).toEqual([1_700_000_000, 3599]);
    expect(decodeProtectedHeader(token)).toEqual({ alg: "RS256", typ: "JWT", kid: azure.keys(tenant)?.kid });
    const { payload } = await jwtVerify(
      token,
      createLocalJWKSet(azure.keys(tenant)?.jwks() ?? { keys: [] }),
      {
        issuer,
        audience: api,
        currentDate: new Date(nowMs),
      },
    );
    expect(payload).toMatchObject({
      ...shape,
      tid: tenant,
      oid: client.objectId,
      sub: client.objectId,
      nbf: iat,
      roles: ["guest"],
    });
    expect(payload[absent]).toBeUndefined();
  });

  it("leaves roles out when none are assigned on the resource", async () => {
    const azure = directory();
    const { client } = azure.addClient({ roles: { [api]: ["guest"] } });
    const other = azure.addResource({ uri: "https://graph.example" });
    const { token } = await azure.issue({
      client,
      resource: other,
      version: "1.0",
      audience: other.uri,
      issuer: "x",
      nowMs: Date.now(),
    });
    expect(JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString())).not.toHaveProperty(
      "roles",
    );
  });

  it("forgets clients, resources and settings on reset but keeps tenants and keys", () => {
    const azure = directory();
    azure.addClient({ tenant: "contoso.onmicrosoft.com", roles: { [api]: ["guest"] } });
    azure.settings.tokenTtlSeconds = 60;
    const kid = azure.keys("contoso.onmicrosoft.com")?.kid;
    azure.reset();
    expect([azure.clients(), azure.resources("contoso.onmicrosoft.com"), azure.settings]).toEqual([
      [],
      [],
      { tokenTtlSeconds: 3599 },
    ]);
    expect(azure.keys("contoso.onmicrosoft.com")?.kid).toBe(kid);
  });

  it("names v1 and v2 endpoints as Azure lays them out, under the emulator", () => {
    expect(azureEndpoints("http://e:1", "t.example")).toEqual({
      tokenUrlV1: "http://e:1/t.example/oauth2/token",
      tokenUrlV2: "http://e:1/t.example/oauth2/v2.0/token",
      issuerV1: "http://e:1/t.example/",
      issuerV2: "http://e:1/t.example/v2.0",
      discoveryUrlV1: "http://e:1/t.example/.well-known/openid-configuration",
      discoveryUrlV2: "http://e:1/t.example/v2.0/.well-known/openid-configuration",
      jwksUriV1: "http://e:1/t.example/discovery/keys",
      jwksUriV2: "http://e:1/t.example/discovery/v2.0/keys",
    });
  });

  it("makes secrets that differ", () => {
    expect(new Set(Array.from({ length: 20 }, newAzureSecret)).size).toBe(20);
  });
});
