import { createHash, createPrivateKey, X509Certificate } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selfSignedRsaCertificate, type TestCertificate } from "../tokens/testing/certificate.ts";
import { assertionErrorCodes, verifyClientAssertion } from "./azure-assertions.ts";
import { AzureDirectory, azureEndpoints } from "./azure-directory.ts";
import { OidcKeys } from "./oidc-keys.ts";

const tenant = "11111111-2222-3333-4444-555555555555";
const baseUrl = "http://login.test";
const endpoints = azureEndpoints(baseUrl, tenant);
const nowMs = Date.UTC(2026, 11, 1, 12, 0, 0);
const now = nowMs / 1000;
const subject = "system:serviceaccount:team-a:token-exchanger";
const audience = "api://AzureADTokenExchange";

let registered: TestCertificate;
let unregistered: TestCertificate;
let issuerServer: Server;
let issuer: string;
let issuerKey: CryptoKey;
const oidc = new OidcKeys();

beforeAll(async () => {
  [registered, unregistered] = await Promise.all([
    selfSignedRsaCertificate("a"),
    selfSignedRsaCertificate("b"),
  ]);
  const pair = await generateKeyPair("RS256");
  issuerKey = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: "sa-1", alg: "RS256", use: "sig" };
  issuerServer = createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    if (req.url === "/.well-known/openid-configuration") {
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/openid/v1/jwks` }));
    } else if (req.url === "/openid/v1/jwks") res.end(JSON.stringify({ keys: [jwk] }));
    else res.writeHead(404).end("{}");
  });
  await new Promise<void>((r) => issuerServer.listen(0, "127.0.0.1", r));
  issuer = `http://127.0.0.1:${(issuerServer.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await oidc.close();
  await new Promise<void>((r) => issuerServer.close(() => r()));
});

function directory() {
  const azure = new AzureDirectory({ defaultTenantId: tenant });
  const { client } = azure.addClient({
    clientId: "app-1",
    certificates: [registered.certificatePem],
    federatedCredentials: [{ issuer, subject, audiences: [audience] }],
  });
  return { azure, client };
}

function thumbprints(pem: string) {
  const der = new X509Certificate(pem).raw;
  return {
    x5t: createHash("sha1").update(der).digest("base64url"),
    "x5t#S256": createHash("sha256").update(der).digest("base64url"),
  };
}

async function certificateAssertion(
  over: { claims?: JWTPayload; signWith?: TestCertificate; headerOf?: TestCertificate; s256?: boolean } = {},
) {
  const header = thumbprints((over.headerOf ?? registered).certificatePem);
  const claims = {
    iss: "app-1",
    sub: "app-1",
    aud: endpoints.tokenUrlV2,
    iat: now,
    nbf: now,
    exp: now + 300,
    jti: crypto.randomUUID(),
    ...over.claims,
  };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "RS256", typ: "JWT", ...(over.s256 === false ? { x5t: header.x5t } : header) })
    .sign(createPrivateKey((over.signWith ?? registered).privateKeyPem));
}

async function federatedAssertion(claims: JWTPayload = {}) {
  return new SignJWT({
    iss: issuer,
    sub: subject,
    aud: [audience],
    iat: now,
    nbf: now,
    exp: now + 600,
    ...claims,
  })
    .setProtectedHeader({ alg: "RS256", kid: "sa-1" })
    .sign(issuerKey);
}

const check = (client: ReturnType<typeof directory>["client"], assertion: string, at = nowMs) =>
  verifyClientAssertion({ client, assertion, endpoints, nowMs: at, oidc });

describe("Azure AD client assertions", () => {
  it.each([
    { name: "x5t#S256 and aud = the v2 token endpoint", over: {} },
    {
      name: "x5t only (v1 clients) and aud = the v1 token endpoint",
      over: { s256: false, claims: { aud: endpoints.tokenUrlV1 } },
    },
  ])("accepts a certificate assertion with $name", async ({ over }) => {
    const { client } = directory();
    expect(await check(client, await certificateAssertion(over))).toEqual({ ok: true, client });
  });

  it("accepts a federated ServiceAccount token that matches a federated identity credential", async () => {
    const { client } = directory();
    expect(await check(client, await federatedAssertion())).toEqual({ ok: true, client });
  });

  const refusals = [
    {
      name: "a JWT that does not parse",
      make: () => Promise.resolve("not-a-jwt"),
      code: assertionErrorCodes.malformed,
    },
    {
      name: "a certificate that is not registered",
      make: () => certificateAssertion({ signWith: unregistered, headerOf: unregistered }),
      code: 700027,
    },
    {
      name: "a signature by another key than the certificate's",
      make: () => certificateAssertion({ signWith: unregistered }),
      code: 700027,
    },
    {
      name: "an expired assertion",
      make: () => certificateAssertion({ claims: { iat: now - 600, nbf: now - 600, exp: now - 1 } }),
      code: 700024,
    },
    {
      name: "an assertion not valid yet",
      make: () => certificateAssertion({ claims: { nbf: now + 120, exp: now + 300 } }),
      code: 700024,
    },
    {
      name: "an aud that is not the token endpoint",
      make: () => certificateAssertion({ claims: { aud: "https://elsewhere/token" } }),
      code: 50013,
    },
    {
      name: "a sub that is not the client id",
      make: () => certificateAssertion({ claims: { sub: "app-2" } }),
      code: 700021,
    },
    {
      name: "a federated token of an unknown issuer",
      make: () => federatedAssertion({ iss: "https://other.example" }),
      code: 700211,
    },
    {
      name: "a federated token for another namespace's ServiceAccount",
      make: () => federatedAssertion({ sub: "system:serviceaccount:team-b:token-exchanger" }),
      code: 700213,
    },
    {
      name: "a federated token with a wrong audience",
      make: () => federatedAssertion({ aud: ["api://Other"] }),
      code: 700212,
    },
    {
      name: "an expired federated token",
      make: () => federatedAssertion({ iat: now - 1200, nbf: now - 1200, exp: now - 600 }),
      code: 700024,
    },
  ];
  it.each(refusals)("refuses $name with AADSTS$code", async ({ make, code }) => {
    const { client } = directory();
    const outcome = await check(client, await make());
    expect(outcome).toMatchObject({ ok: false, refusal: { status: 401, error: "invalid_client", code } });
  });

  it("refuses a federated token signed by a key the issuer does not publish", async () => {
    const { client } = directory();
    const stranger = await generateKeyPair("RS256");
    const forged = await new SignJWT({ iss: issuer, sub: subject, aud: [audience], iat: now, exp: now + 600 })
      .setProtectedHeader({ alg: "RS256", kid: "sa-1" })
      .sign(stranger.privateKey);
    expect(await check(client, forged)).toMatchObject({ ok: false, refusal: { code: 700027 } });
  });

  it("refuses a replayed jti until the assertion expires", async () => {
    const { client } = directory();
    const assertion = await certificateAssertion();
    expect((await check(client, assertion)).ok).toBe(true);
    const replay = await check(client, assertion);
    expect(replay).toMatchObject({ ok: false, refusal: { code: 50013 } });
    expect(!replay.ok && replay.refusal.description).toMatch(/has already been used/);
    // A fresh assertion of the same client still passes.
    expect((await check(client, await certificateAssertion())).ok).toBe(true);
  });

  it("shows certificate thumbprints and federated credentials in the registration, never a key", () => {
    const { azure } = directory();
    const [snapshot] = azure.clients();
    const sha1 = createHash("sha1").update(new X509Certificate(registered.certificatePem).raw).digest("hex");
    expect(snapshot?.certificateThumbprints).toEqual([sha1.toUpperCase()]);
    expect(snapshot?.federatedCredentials).toEqual([{ issuer, subject, audiences: [audience] }]);
  });

  it("refuses a certificate credential that is not a certificate", () => {
    expect(() =>
      new AzureDirectory({ defaultTenantId: tenant }).addClient({ certificates: ["nope"] }),
    ).toThrow(/not a PEM X.509 certificate/);
  });
});
