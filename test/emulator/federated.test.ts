/**
 * The emulated JWT-bearer (Federated Directory) endpoint over real HTTP: JSON and form requests,
 * the assertion checks (signature, aud, exp, lifetime, jti replay), OAuth2 error bodies, discovery
 * and JWKS, fault switches and the admin API — and the operator's own JwtBearerIssuer getting
 * tokens from it in both encodings, checked with jose against the issuer's discovery document.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../src/emulator/index.ts";
import { TokenError } from "../../src/tokens/errors.ts";
import { JwtBearerIssuer, jwtBearerGrantType, type JwtBearerParams } from "../../src/tokens/jwt-bearer.ts";
import { send } from "./support.ts";

const tokenPath = "/federated/api/token";
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const pem = (key: KeyObject, type: "spki" | "pkcs8") => key.export({ type, format: "pem" }).toString();

let emulator: RunningEmulator;

beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(() => {
  emulator.control.reset();
  emulator.control.federated.registerJwtBearerClient({
    issuer: "directory-key-1",
    publicKeyPem: pem(rsa.publicKey, "spki"),
    allowedScopes: ["directoryKey", "admin"],
  });
});

function issuer(overrides: Partial<JwtBearerParams> = {}): JwtBearerIssuer {
  return new JwtBearerIssuer({
    tokenUrl: emulator.control.federated.endpoints().tokenUrl,
    privateKeyPem: pem(rsa.privateKey, "pkcs8"),
    algorithm: "RS256",
    issuer: "directory-key-1",
    audience: "key",
    scopes: ["directoryKey"],
    assertionLifetimeSeconds: 300,
    requestEncoding: "JSON",
    ...overrides,
  });
}

async function verifyWithDiscovery(token: string): Promise<JWTPayload> {
  const discovery = await send(emulator, "GET", "/federated/.well-known/openid-configuration");
  const doc = discovery.body as { issuer: string; jwks_uri: string; token_endpoint: string };
  expect(doc.token_endpoint).toBe(`${emulator.publicUrl}${tokenPath}`);
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(doc.jwks_uri)), {
    issuer: doc.issuer,
    audience: `${emulator.publicUrl}/federated/api`,
    typ: "at+jwt",
    algorithms: ["RS256"],
  });
  return payload;
}

async function refusal(assertion: string): Promise<[number, unknown]> {
  const response = await send(emulator, "POST", tokenPath, {
    json: { grant_type: jwtBearerGrantType, assertion },
  });
  return [response.status, response.body];
}

describe("the operator's JwtBearerIssuer against it", () => {
  it.each(["JSON", "Form"] as const)(
    "gets an 8 h token with a %s request that verifies via discovery",
    async (enc) => {
      const issued = await issuer({ requestEncoding: enc }).issue();
      expect([issued.tokenType, issued.expiresInSeconds]).toEqual(["Bearer", 28_800]);
      const claims = await verifyWithDiscovery(issued.accessToken);
      expect(claims).toMatchObject({
        iss: `${emulator.publicUrl}/federated`,
        sub: "directory-key-1",
        client_id: "directory-key-1",
        scope: "directoryKey",
      });
      expect(decodeProtectedHeader(issued.accessToken).kid).toBe(emulator.control.federated.kid());
      expect(emulator.control.count("federated.token")).toBe(1);
    },
  );

  it("works with an ES256 key registered as a JWK", async () => {
    emulator.control.federated.registerJwtBearerClient({
      issuer: "ec-key",
      jwk: ec.publicKey.export({ format: "jwk" }),
      allowedScopes: ["admin"],
    });
    const issued = await issuer({
      issuer: "ec-key",
      algorithm: "ES256",
      privateKeyPem: pem(ec.privateKey, "pkcs8"),
      scopes: ["admin"],
    }).issue();
    expect((await verifyWithDiscovery(issued.accessToken))["scope"]).toBe("admin");
  });

  it.each([
    ["an unregistered issuer", { issuer: "stranger" }, 401],
    ["the wrong audience", { audience: "https://elsewhere" }, 401],
    ["an assertion living over an hour", { assertionLifetimeSeconds: 7200 }, 401],
    ["a scope not allowed", { scopes: ["root"] }, 400],
  ])("is Rejected for %s", async (_name, overrides, status) => {
    const err = await issuer(overrides)
      .issue()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenError);
    expect([(err as TokenError).code, (err as TokenError).status]).toEqual(["Rejected", status]);
  });

  it.each([
    [
      "an injected 503",
      () => emulator.control.failNext({ route: "federated.token", status: 503 }),
      "Unavailable",
    ],
    [
      "an injected 429",
      () => emulator.control.failNext({ route: "federated.token", status: 429, retryAfterSeconds: 3 }),
      "RateLimited",
    ],
    [
      "a dropped connection",
      () => emulator.control.dropNext({ route: "federated.token" }),
      "ConnectionFailed",
    ],
    [
      "a malformed answer",
      () => emulator.control.malformNext({ route: "federated.token" }),
      "MalformedResponse",
    ],
  ])("fails with %s", async (_name, arm, code) => {
    arm();
    const err = await issuer()
      .issue()
      .catch((e: unknown) => e);
    expect((err as TokenError).code).toBe(code);
  });
});

describe("assertion checks over HTTP", () => {
  it("refuses a replayed assertion (same jti) with 401 invalid_grant", async () => {
    const assertion = await issuer().assertion();
    const first = await send(emulator, "POST", tokenPath, {
      form: { grant_type: jwtBearerGrantType, assertion },
    });
    expect(first.status).toBe(200);
    expect(await refusal(assertion)).toEqual([
      401,
      { error: "invalid_grant", error_description: "the assertion's jti was used before" },
    ]);
  });

  it("refuses an assertion that expired on the emulator's clock", async () => {
    const assertion = await issuer({ assertionLifetimeSeconds: 60 }).assertion();
    emulator.control.advanceClock(120_000);
    expect(await refusal(assertion)).toEqual([
      401,
      { error: "invalid_grant", error_description: "the assertion has expired" },
    ]);
  });

  it("refuses a signature made with another key", async () => {
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const assertion = await issuer({ privateKeyPem: pem(other.privateKey, "pkcs8") }).assertion();
    expect((await refusal(assertion))[0]).toBe(401);
  });

  it.each([
    ["no grant_type", { assertion: "x" }, 400, "invalid_request"],
    [
      "another grant type",
      { grant_type: "client_credentials", assertion: "x" },
      400,
      "unsupported_grant_type",
    ],
    ["no assertion", { grant_type: jwtBearerGrantType }, 400, "invalid_request"],
    [
      "an assertion that is not a JWT",
      { grant_type: jwtBearerGrantType, assertion: "x" },
      400,
      "invalid_grant",
    ],
  ])("answers %s with an OAuth2 error body", async (_name, json, status, error) => {
    const response = await send(emulator, "POST", tokenPath, { json });
    expect([response.status, response.body]).toEqual([
      status,
      { error, error_description: expect.any(String) as unknown },
    ]);
  });

  it("answers malformed JSON with an OAuth2 body, not a grpc one", async () => {
    const response = await send(emulator, "POST", tokenPath, { rawBody: "{nope" });
    expect([response.status, response.body]).toEqual([
      400,
      { error: "invalid_request", error_description: "malformed JSON body" },
    ]);
  });
});

describe("settings, keys and the admin API", () => {
  it("registers a client over HTTP and follows the audience and TTL set over HTTP", async () => {
    const registered = await send(emulator, "POST", "/_emulator/federated/clients", {
      json: { issuer: "http-key", publicKeyPem: pem(rsa.publicKey, "spki"), allowedScopes: ["directoryKey"] },
    });
    expect(registered.body).toEqual({
      issuer: "http-key",
      algorithm: "RS256",
      allowedScopes: ["directoryKey"],
    });
    const settings = await send(emulator, "PATCH", "/_emulator/federated/settings", {
      json: { audience: "https://fd.test/token", tokenTtlSeconds: 600 },
    });
    expect(settings.body).toEqual({
      audience: "https://fd.test/token",
      tokenTtlSeconds: 600,
      maxAssertionLifetimeSeconds: 3600,
    });
    const issued = await issuer({ issuer: "http-key", audience: "https://fd.test/token" }).issue();
    expect(issued.expiresInSeconds).toBe(600);
    expect((await send(emulator, "GET", "/_emulator/federated/clients")).body).toEqual({
      clients: expect.arrayContaining([expect.objectContaining({ issuer: "http-key" })]) as unknown,
    });
    expect((await send(emulator, "DELETE", "/_emulator/federated/clients/http-key")).status).toBe(200);
    expect((await send(emulator, "DELETE", "/_emulator/federated/clients/http-key")).status).toBe(404);
  });

  it("rotates its signing key over HTTP; tokens from before verify until the key is retired", async () => {
    const before = (await issuer().issue()).accessToken;
    const rotated = (await send(emulator, "POST", "/_emulator/federated/keys/rotate", { json: {} })).body as {
      kid: string;
    };
    const after = (await issuer().issue()).accessToken;
    expect(decodeProtectedHeader(after).kid).toBe(rotated.kid);
    await expect(verifyWithDiscovery(before)).resolves.toBeDefined();
    emulator.control.federated.rotateKeys({ keepPrevious: false });
    await expect(verifyWithDiscovery(before)).rejects.toThrow(/no applicable key found/i);
  });

  it.each([
    ["no key", { issuer: "k" }],
    ["a key that is not one", { issuer: "k", publicKeyPem: "nope" }],
  ])("refuses to register %s with a 400", async (_name, json) => {
    expect((await send(emulator, "POST", "/_emulator/federated/clients", { json })).status).toBe(400);
  });
});
