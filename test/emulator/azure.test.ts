/**
 * The emulated Azure AD over real HTTP: v1 and v2 client-credentials answers and claims, tokens
 * verified with jose against each tenant's discovery document and JWKS, Azure's error bodies, key
 * rotation, fault switches and the admin API — and the operator's own ClientCredentialsIssuer
 * getting tokens from it with `resource` (v1) and `scopes` (v2), credentials in the body or Basic.
 */
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  startEmulator,
  type AzureClientCredentials,
  type RunningEmulator,
} from "../../src/emulator/index.ts";
import { certificateAssertions } from "../../src/tokens/client-assertion.ts";
import { ClientCredentialsIssuer } from "../../src/tokens/client-credentials.ts";
import { TokenError } from "../../src/tokens/errors.ts";
import { selfSignedRsaCertificate, type TestCertificate } from "../../src/tokens/testing/certificate.ts";
import { jwtPayload, send } from "./support.ts";

const api = "https://app.datatrails.ai";
let emulator: RunningEmulator;
let client: AzureClientCredentials;

beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(() => {
  emulator.control.reset();
  client = emulator.control.azure.addClient({ roles: { [api]: ["archivist_administrator", "guest"] } });
});

function path(url: string): string {
  return url.slice(emulator.url.length);
}

function v1Form(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    grant_type: "client_credentials",
    client_id: client.clientId,
    client_secret: client.clientSecret,
    resource: api,
    ...overrides,
  };
}

function v2Form(overrides: Record<string, string> = {}): Record<string, string> {
  const { resource: _resource, ...rest } = v1Form({ scope: `${api}/.default`, ...overrides });
  return rest;
}

/** Verifies a token as a relying party would: discovery document → jwks_uri → signature, iss, aud. */
async function verifyWithDiscovery(
  token: string,
  discoveryUrl: string,
  audience: string,
): Promise<JWTPayload> {
  const doc = (await (await fetch(discoveryUrl)).json()) as { issuer: string; jwks_uri: string };
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(doc.jwks_uri)), {
    issuer: doc.issuer,
    audience,
    algorithms: ["RS256"],
  });
  return payload;
}

describe("v1 client credentials", () => {
  it("answers with every number as a string, and the resource", async () => {
    const response = await send(emulator, "POST", path(client.endpoints.tokenUrlV1), { form: v1Form() });
    expect(response.status).toBe(200);
    const body = response.body as Record<string, string>;
    expect(Object.keys(body).sort()).toEqual(
      [
        "access_token",
        "expires_in",
        "expires_on",
        "ext_expires_in",
        "not_before",
        "resource",
        "token_type",
      ].sort(),
    );
    expect(body).toMatchObject({
      token_type: "Bearer",
      expires_in: "3599",
      ext_expires_in: "3599",
      resource: api,
    });
    const claims = jwtPayload(body["access_token"] ?? "");
    expect(body["expires_on"]).toBe(String(claims["exp"]));
    expect(body["not_before"]).toBe(String(claims["nbf"]));
  });

  it("issues a token that verifies against the tenant's v1 discovery, with aud, roles and the app", async () => {
    const response = await send(emulator, "POST", path(client.endpoints.tokenUrlV1), { form: v1Form() });
    const token = (response.body as { access_token: string }).access_token;
    const claims = await verifyWithDiscovery(token, client.endpoints.discoveryUrlV1, api);
    expect(claims).toMatchObject({
      iss: `${emulator.publicUrl}/${client.tenant}/`,
      aud: api,
      tid: client.tenant,
      appid: client.clientId,
      oid: client.objectId,
      sub: client.objectId,
      ver: "1.0",
      roles: ["archivist_administrator", "guest"],
    });
    expect(Number(claims.exp) - Number(claims.iat)).toBe(3599);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: "RS256", kid: emulator.control.azure.kid() });
  });
});

describe("v2 client credentials", () => {
  it("answers with numbers and no resource, and a v2 token for the resource's app id", async () => {
    const response = await send(emulator, "POST", path(client.endpoints.tokenUrlV2), { form: v2Form() });
    expect(response.status).toBe(200);
    const body = response.body as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(["access_token", "expires_in", "ext_expires_in", "token_type"]);
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599 });
    const appId = client.resourceAppIds[api] ?? "";
    const claims = await verifyWithDiscovery(
      String(body["access_token"]),
      client.endpoints.discoveryUrlV2,
      appId,
    );
    expect(claims).toMatchObject({
      iss: `${emulator.publicUrl}/${client.tenant}/v2.0`,
      aud: appId,
      azp: client.clientId,
      ver: "2.0",
      roles: ["archivist_administrator", "guest"],
    });
    expect(claims["appid"]).toBeUndefined();
  });

  it("publishes v2 keys that name their issuer", async () => {
    const keys = (await (await fetch(client.endpoints.jwksUriV2)).json()) as {
      keys: Record<string, string>[];
    };
    expect(keys.keys).toEqual([
      expect.objectContaining({ kid: emulator.control.azure.kid(), issuer: client.endpoints.issuerV2 }),
    ]);
  });
});

describe("the operator's ClientCredentialsIssuer against it", () => {
  it.each([
    ["v1, resource, credentials in the body", "1.0", "Body"],
    ["v1, resource, HTTP Basic", "1.0", "Basic"],
    ["v2, scopes, credentials in the body", "2.0", "Body"],
    ["v2, scopes, HTTP Basic", "2.0", "Basic"],
  ] as const)("gets a verifiable token with roles: %s", async (_name, version, authStyle) => {
    const v1 = version === "1.0";
    const issuer = new ClientCredentialsIssuer({
      tokenUrl: v1 ? client.endpoints.tokenUrlV1 : client.endpoints.tokenUrlV2,
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      authStyle,
      ...(v1 ? { resource: api } : { scopes: [`${api}/.default`] }),
    });
    const issued = await issuer.issue();
    expect([issued.tokenType, issued.expiresInSeconds]).toEqual(["Bearer", 3599]);
    const claims = await verifyWithDiscovery(
      issued.accessToken,
      v1 ? client.endpoints.discoveryUrlV1 : client.endpoints.discoveryUrlV2,
      v1 ? api : (client.resourceAppIds[api] ?? ""),
    );
    expect(claims).toMatchObject({
      ver: version,
      tid: client.tenant,
      roles: ["archivist_administrator", "guest"],
    });
  });

  it.each([
    ["an injected 503", { status: 503 }, "Unavailable", undefined],
    ["an injected 429 with Retry-After", { status: 429, retryAfterSeconds: 7 }, "RateLimited", 7000],
    ["a wrong secret (401 invalid_client)", undefined, "Rejected", undefined],
  ])("fails with a TokenError for %s", async (_name, fault, code, retryAfterMs) => {
    if (fault) emulator.control.failNext({ route: "azure.token.v1", ...fault });
    const issuer = new ClientCredentialsIssuer({
      tokenUrl: client.endpoints.tokenUrlV1,
      clientId: client.clientId,
      clientSecret: fault ? client.clientSecret : "wrong",
      resource: api,
    });
    const err = await issuer.issue().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenError);
    expect([(err as TokenError).code, (err as TokenError).retryAfterMs]).toEqual([code, retryAfterMs]);
  });
});

describe("Azure's error bodies", () => {
  const v1 = (form: Record<string, string>) => ({ version: "v1" as const, form });
  const v2 = (form: Record<string, string>) => ({ version: "v2" as const, form });
  it.each<[string, () => { version: "v1" | "v2"; form: Record<string, string> }, number, string, number]>([
    ["no grant_type", () => v1(v1Form({ grant_type: "" })), 400, "invalid_request", 900144],
    [
      "another grant type",
      () => v1(v1Form({ grant_type: "password" })),
      400,
      "unsupported_grant_type",
      70003,
    ],
    ["no client_secret", () => v1(v1Form({ client_secret: "" })), 401, "invalid_client", 7000218],
    ["a wrong secret", () => v1(v1Form({ client_secret: "wrong" })), 401, "invalid_client", 7000215],
    ["an unknown client", () => v1(v1Form({ client_id: "nobody" })), 400, "unauthorized_client", 700016],
    ["no resource (v1)", () => v1(v1Form({ resource: "" })), 400, "invalid_request", 900144],
    [
      "an unknown resource",
      () => v1(v1Form({ resource: "https://nowhere" })),
      400,
      "invalid_resource",
      500011,
    ],
    ["a scope without /.default (v2)", () => v2(v2Form({ scope: api })), 400, "invalid_scope", 1002012],
    ["two scopes (v2)", () => v2(v2Form({ scope: `${api}/.default openid` })), 400, "invalid_scope", 1002012],
    ["resource on v2", () => v2({ ...v2Form(), resource: api }), 400, "invalid_request", 901002],
  ])("answers %s", async (_name, make, status, error, code) => {
    const { version, form } = make();
    const url = version === "v1" ? client.endpoints.tokenUrlV1 : client.endpoints.tokenUrlV2;
    const response = await send(emulator, "POST", path(url), { form });
    expect([response.status, response.body]).toEqual([
      status,
      expect.objectContaining({
        error,
        error_codes: [code],
        error_description: expect.stringMatching(
          new RegExp(`^AADSTS${code}: .*\\r\\nTrace ID: `, "s"),
        ) as unknown,
        trace_id: expect.any(String) as unknown,
        correlation_id: expect.any(String) as unknown,
        timestamp: expect.any(String) as unknown,
      }),
    ]);
    expect(response.text).not.toContain(client.clientSecret);
  });

  it("reads only form bodies: JSON lacks grant_type", async () => {
    const response = await send(emulator, "POST", path(client.endpoints.tokenUrlV1), { json: v1Form() });
    expect([response.status, (response.body as { error_codes: number[] }).error_codes]).toEqual([
      400,
      [900144],
    ]);
  });

  it("refuses two client authentication methods at once", async () => {
    const response = await fetch(client.endpoints.tokenUrlV1, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString("base64")}`,
      },
      body: new URLSearchParams(v1Form()),
    });
    expect([response.status, ((await response.json()) as { error: string }).error]).toEqual([
      400,
      "invalid_request",
    ]);
  });

  it.each([
    ["token", (t: string) => `/${t}/oauth2/token`, "POST"],
    ["discovery", (t: string) => `/${t}/v2.0/.well-known/openid-configuration`, "GET"],
    ["keys", (t: string) => `/${t}/discovery/keys`, "GET"],
  ])("answers an unknown tenant's %s with AADSTS90002", async (_name, at, method) => {
    const options = method === "POST" ? { form: v1Form() } : {};
    const response = await send(emulator, method, at("00000000-0000-0000-0000-00000000dead"), options);
    expect([response.status, (response.body as { error_codes: number[] }).error_codes]).toEqual([
      400,
      [90002],
    ]);
  });
});

describe("key rotation, TTL and faults", () => {
  it.each([
    ["keeps the old key published, so earlier tokens still verify", true],
    ["retires the old key, so earlier tokens no longer verify", false],
  ])("rotation %s", async (_name, keepPrevious) => {
    const issuer = new ClientCredentialsIssuer({ ...clientParams(), resource: api });
    const before = (await issuer.issue()).accessToken;
    const kid = emulator.control.azure.rotateKeys({ keepPrevious });
    const after = (await issuer.issue()).accessToken;
    expect(decodeProtectedHeader(after).kid).toBe(kid);
    expect(decodeProtectedHeader(before).kid).not.toBe(kid);
    await expect(verifyWithDiscovery(after, client.endpoints.discoveryUrlV1, api)).resolves.toBeDefined();
    const old = verifyWithDiscovery(before, client.endpoints.discoveryUrlV1, api);
    if (keepPrevious) await expect(old).resolves.toBeDefined();
    else await expect(old).rejects.toThrow(/no applicable key found/i);
  });

  it("issues the TTL set at runtime", async () => {
    emulator.control.azure.setTokenTtlSeconds(120);
    const issued = await new ClientCredentialsIssuer({ ...clientParams(), resource: api }).issue();
    expect(issued.expiresInSeconds).toBe(120);
  });

  it("counts its routes, drops connections on them, and leaves them out of the DataTrails rate limit", async () => {
    emulator.control.setRateLimit({ limit: 1, windowSeconds: 60 });
    const issuer = new ClientCredentialsIssuer({ ...clientParams(), resource: api });
    for (let i = 0; i < 3; i++) await issuer.issue();
    emulator.control.dropNext({ route: "azure.token.v1" });
    const err = await issuer.issue().catch((e: unknown) => e);
    expect((err as TokenError).code).toBe("ConnectionFailed");
    expect(emulator.control.count("azure.token.v1")).toBe(4);
    expect(emulator.control.count("azure.token.v2")).toBe(0);
  });

  it("delays a route by the latency set for it", async () => {
    emulator.control.setLatency(300, "azure.token.v1");
    const started = performance.now();
    await new ClientCredentialsIssuer({ ...clientParams(), resource: api }).issue();
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });
});

describe("admin API", () => {
  it("creates an app registration over HTTP whose credentials work, and lists it by hash only", async () => {
    const created = await send(emulator, "POST", "/_emulator/azure/clients", {
      json: { tenant: "contoso.onmicrosoft.com", roles: { [api]: ["guest"] } },
    });
    expect(created.status).toBe(200);
    const made = created.body as AzureClientCredentials;
    const issued = await new ClientCredentialsIssuer({
      tokenUrl: made.endpoints.tokenUrlV1,
      clientId: made.clientId,
      clientSecret: made.clientSecret,
      resource: api,
    }).issue();
    expect(jwtPayload(issued.accessToken)).toMatchObject({
      tid: "contoso.onmicrosoft.com",
      roles: ["guest"],
    });
    const listed = await send(emulator, "GET", "/_emulator/azure/clients");
    expect(listed.text).not.toContain(made.clientSecret);
    expect(listed.body).toMatchObject({
      clients: expect.arrayContaining([expect.objectContaining({ clientId: made.clientId })]) as unknown,
    });
  });

  it("rotates keys, changes the TTL and deletes clients over HTTP", async () => {
    const rotated = await send(emulator, "POST", "/_emulator/azure/keys/rotate", { json: {} });
    expect(rotated.body).toEqual({ tenant: client.tenant, kid: emulator.control.azure.kid() });
    expect(
      (await send(emulator, "PATCH", "/_emulator/azure/settings", { json: { tokenTtlSeconds: 60 } })).body,
    ).toEqual({
      tokenTtlSeconds: 60,
    });
    const removed = await send(
      emulator,
      "DELETE",
      `/_emulator/azure/tenants/${client.tenant}/clients/${client.clientId}`,
    );
    expect(removed.status).toBe(200);
    const refused = await send(emulator, "POST", path(client.endpoints.tokenUrlV1), { form: v1Form() });
    expect((refused.body as { error: string }).error).toBe("unauthorized_client");
    expect(
      (await send(emulator, "DELETE", `/_emulator/azure/tenants/${client.tenant}/clients/x`)).status,
    ).toBe(404);
  });

  it.each([
    ["a tenant that is not a GUID or domain", { tenant: "common" }],
    ["roles that are not lists", { roles: { [api]: "guest" } }],
  ])("refuses %s with a 400", async (_name, json) => {
    expect((await send(emulator, "POST", "/_emulator/azure/clients", { json })).status).toBe(400);
  });

  it("rotating an unknown tenant's keys is a 404", async () => {
    const response = await send(emulator, "POST", "/_emulator/azure/keys/rotate", {
      json: { tenant: "nowhere.example" },
    });
    expect(response.status).toBe(404);
  });
});

function clientParams() {
  return {
    tokenUrl: client.endpoints.tokenUrlV1,
    clientId: client.clientId,
    clientSecret: client.clientSecret,
  };
}

describe("client assertions over HTTP", () => {
  let cert: TestCertificate;
  let certClient: AzureClientCredentials;
  beforeAll(async () => {
    cert = await selfSignedRsaCertificate("azure-http");
  });
  beforeEach(() => {
    certClient = emulator.control.azure.addClient({
      certificates: [cert.certificatePem],
      roles: { [api]: ["guest"] },
    });
  });
  const assertionFor = (audience: string) =>
    certificateAssertions(cert, { clientId: certClient.clientId, audience, lifetimeSeconds: 300 }, () =>
      emulator.control.now(),
    )();
  const form = async (overrides: Record<string, string> = {}) => ({
    grant_type: "client_credentials",
    client_id: certClient.clientId,
    client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    client_assertion: await assertionFor(certClient.endpoints.tokenUrlV2),
    scope: `${api}/.default`,
    ...overrides,
  });
  const codes = (r: { body: unknown }) => (r.body as { error_codes?: number[] }).error_codes;

  it("issues a v2 token for a certificate assertion, once per jti", async () => {
    const body = await form();
    const first = await send(emulator, "POST", path(certClient.endpoints.tokenUrlV2), { form: body });
    expect(first.status).toBe(200);
    const replay = await send(emulator, "POST", path(certClient.endpoints.tokenUrlV2), { form: body });
    expect(replay.status).toBe(401);
    expect(codes(replay)).toEqual([50013]);
    expect((replay.body as { error_description: string }).error_description).toMatch(/already been used/);
  });

  it.each([
    {
      name: "an assertion and a secret together",
      overrides: { client_secret: "s" },
      status: 400,
      code: 90023,
    },
    {
      name: "another client_assertion_type",
      overrides: { client_assertion_type: "urn:other" },
      status: 400,
      code: 900144,
    },
    {
      name: "an assertion that is not a JWT",
      overrides: { client_assertion: "nope" },
      status: 401,
      code: 50027,
    },
  ])("refuses $name with AADSTS$code", async ({ overrides, status, code }) => {
    const response = await send(emulator, "POST", path(certClient.endpoints.tokenUrlV2), {
      form: await form(overrides),
    });
    expect(response.status).toBe(status);
    expect(codes(response)).toEqual([code]);
  });

  it("lets the tenant's protected resource take its access tokens and nothing else", async () => {
    const issued = await send(emulator, "POST", path(certClient.endpoints.tokenUrlV2), {
      form: await form(),
    });
    const token = (issued.body as { access_token: string }).access_token;
    const whoami = `/${certClient.tenant}/resource/whoami`;
    const ok = await send(emulator, "GET", whoami, { token });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ appid: certClient.clientId, ver: "2.0", roles: ["guest"] });
    expect((await send(emulator, "GET", whoami)).status).toBe(401);
    expect((await send(emulator, "GET", whoami, { token: `${token}x` })).status).toBe(401);
  });
});
