import { generateKeyPairSync } from "node:crypto";
import { SignJWT, createLocalJWKSet, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { FederatedDirectory } from "./federated-directory.ts";
import { OAuthError } from "./oauth-errors.ts";

const base = "http://emulator.test";
const nowMs = 1_700_000_000_000;
const now = nowMs / 1000;
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const rsaPem = rsa.publicKey.export({ type: "spki", format: "pem" }).toString();

function assertion(
  claims: Record<string, unknown> = {},
  key = rsa.privateKey,
  alg = "RS256",
): Promise<string> {
  return new SignJWT({
    iss: "directory-key-1",
    aud: "key",
    scope: ["directoryKey"],
    iat: now,
    exp: now + 300,
    jti: crypto.randomUUID(),
    ...claims,
  })
    .setProtectedHeader({ alg, typ: "JWT" })
    .sign(key);
}

function directory(): FederatedDirectory {
  const d = new FederatedDirectory();
  d.registerClient({
    issuer: "directory-key-1",
    publicKeyPem: rsaPem,
    allowedScopes: ["directoryKey", "admin"],
  });
  return d;
}

async function refusal(d: FederatedDirectory, jwt: string): Promise<[number, string, string]> {
  try {
    await d.exchange(jwt, nowMs, base);
  } catch (err) {
    if (err instanceof OAuthError) return [err.status, err.error, err.message];
    throw err;
  }
  return [200, "", ""];
}

describe("JWT-bearer issuer", () => {
  it("exchanges a good assertion for an 8 h token it can verify", async () => {
    const d = directory();
    const issued = await d.exchange(await assertion(), nowMs, base);
    expect([issued.expiresIn, issued.scopes]).toEqual([28_800, ["directoryKey"]]);
    const { payload, protectedHeader } = await jwtVerify(
      issued.accessToken,
      createLocalJWKSet(d.keys.jwks()),
      {
        issuer: `${base}/federated`,
        audience: `${base}/federated/api`,
        currentDate: new Date(nowMs),
      },
    );
    expect(protectedHeader).toMatchObject({ alg: "RS256", typ: "at+jwt", kid: d.keys.kid });
    expect(payload).toMatchObject({
      sub: "directory-key-1",
      client_id: "directory-key-1",
      scope: "directoryKey",
    });
    expect(Number(payload.exp) - Number(payload.iat)).toBe(28_800);
  });

  it.each([
    ["an ES256 key as a JWK", { jwk: ec.publicKey.export({ format: "jwk" }) }, ec.privateKey, "ES256"],
    ["an RSA key as PEM", { publicKeyPem: rsaPem }, rsa.privateKey, "RS256"],
  ] as const)("accepts %s", async (_name, key, privateKey, alg) => {
    const d = new FederatedDirectory();
    expect(d.registerClient({ issuer: "k", ...key }).algorithm).toBe(alg);
    await expect(
      d.exchange(await assertion({ iss: "k", scope: [] }, privateKey, alg), nowMs, base),
    ).resolves.toMatchObject({
      scopes: [],
    });
  });

  it.each([
    ["no scope: all allowed scopes", undefined, ["directoryKey", "admin"]],
    ["a space-separated string", "admin directoryKey", ["admin", "directoryKey"]],
  ])("grants scopes for %s", async (_name, scope, granted) => {
    const jwt = await assertion({ scope });
    expect((await directory().exchange(jwt, nowMs, base)).scopes).toEqual(granted);
  });

  it.each<[string, () => Promise<string>, number, string, RegExp]>([
    ["not a JWT", () => Promise.resolve("not-a-jwt"), 400, "invalid_grant", /not a JWT/],
    [
      "an unknown issuer",
      () => assertion({ iss: "stranger" }),
      401,
      "invalid_grant",
      /issuer is not registered/,
    ],
    [
      "another key's signature",
      () => assertion({}, generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey),
      401,
      "invalid_grant",
      /signature/,
    ],
    [
      "the wrong algorithm",
      () => assertion({}, ec.privateKey, "ES256"),
      401,
      "invalid_grant",
      /another algorithm/,
    ],
    [
      "the wrong audience",
      () => assertion({ aud: "https://elsewhere" }),
      401,
      "invalid_grant",
      /aud must be "key"/,
    ],
    [
      "an expired assertion",
      () => assertion({ iat: now - 600, exp: now - 60 }),
      401,
      "invalid_grant",
      /expired/,
    ],
    [
      "a lifetime over an hour",
      () => assertion({ exp: now + 3601 }),
      401,
      "invalid_grant",
      /longer than 3600/,
    ],
    [
      "iat in the future",
      () => assertion({ iat: now + 120, exp: now + 600 }),
      401,
      "invalid_grant",
      /iat is in the future/,
    ],
    ["no jti", () => assertion({ jti: undefined }), 401, "invalid_grant", /jti/],
    ["a scope not allowed", () => assertion({ scope: ["root"] }), 400, "invalid_scope", /root/],
    ["a scope that is not strings", () => assertion({ scope: [1] }), 400, "invalid_scope", /strings/],
  ])("refuses %s", async (_name, make, status, error, message) => {
    const [s, e, m] = await refusal(directory(), await make());
    expect([s, e]).toEqual([status, error]);
    expect(m).toMatch(message);
  });

  it("refuses a replayed jti until the assertion expires, then forgets it", async () => {
    const d = directory();
    const jwt = await assertion({ jti: "once", exp: now + 60 });
    await d.exchange(jwt, nowMs, base);
    expect(await refusal(d, jwt)).toEqual([401, "invalid_grant", "the assertion's jti was used before"]);
    const later = await assertion({ jti: "once", iat: now + 600, exp: now + 660 });
    await expect(d.exchange(later, nowMs + 600_000, base)).resolves.toBeDefined();
  });

  it("follows its settings: audience, longest assertion, token TTL", async () => {
    const d = new FederatedDirectory({
      audience: "https://fd.test/token",
      maxAssertionLifetimeSeconds: 60,
      tokenTtlSeconds: 120,
    });
    d.registerClient({ issuer: "directory-key-1", publicKeyPem: rsaPem, allowedScopes: ["directoryKey"] });
    expect((await refusal(d, await assertion({ aud: "https://fd.test/token" })))[2]).toMatch(
      /longer than 60/,
    );
    const ok = await d.exchange(
      await assertion({ aud: "https://fd.test/token", exp: now + 60 }),
      nowMs,
      base,
    );
    expect(ok.expiresIn).toBe(120);
  });

  it.each([
    ["no key", { issuer: "k" }, /exactly one of/],
    ["both keys", { issuer: "k", publicKeyPem: rsaPem, jwk: { kty: "RSA" } }, /exactly one of/],
    [
      "a key that is not one",
      { issuer: "k", publicKeyPem: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----" },
      /not a PEM or JWK/,
    ],
    [
      "an Ed25519 key",
      {
        issuer: "k",
        publicKeyPem: generateKeyPairSync("ed25519")
          .publicKey.export({ type: "spki", format: "pem" })
          .toString(),
      },
      /RSA \(RS256\) or EC P-256/,
    ],
  ])("refuses to register %s", (_name, input, message) => {
    expect(() => new FederatedDirectory().registerClient(input)).toThrow(message);
  });

  it("forgets clients, jti and settings on reset", async () => {
    const d = directory();
    const jwt = await assertion();
    await d.exchange(jwt, nowMs, base);
    d.settings.tokenTtlSeconds = 5;
    d.reset();
    expect([d.clients(), d.settings.tokenTtlSeconds]).toEqual([[], 28_800]);
    d.registerClient({ issuer: "directory-key-1", publicKeyPem: rsaPem, allowedScopes: ["directoryKey"] });
    await expect(d.exchange(jwt, nowMs, base)).resolves.toBeDefined();
  });
});
