import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyToken, type VerifyOptions } from "./verify.ts";

let server: Server;
let base: string;
let signing: CryptoKey;
let stranger: CryptoKey;
let jwk: JWK;
let discoveryStatus = 200;

beforeAll(async () => {
  const pair = await generateKeyPair("RS256");
  signing = pair.privateKey;
  stranger = (await generateKeyPair("RS256")).privateKey;
  jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  server = createServer((req, res) => {
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.url === "/.well-known/openid-configuration") {
      return json(discoveryStatus, { issuer: `${base}/issuer`, jwks_uri: `${base}/keys` });
    }
    if (req.url === "/keys") return json(200, { keys: [jwk] });
    return json(404, {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const nowS = () => Math.floor(Date.now() / 1000);

async function token(
  over: { key?: CryptoKey; kid?: string; claims?: Record<string, unknown>; iss?: string; exp?: number } = {},
) {
  return new SignJWT({ roles: ["archivist_administrator"], ...over.claims })
    .setProtectedHeader({ alg: "RS256", kid: over.kid ?? "k1" })
    .setIssuer(over.iss ?? `${base}/issuer`)
    .setAudience("https://app.example")
    .setIssuedAt(nowS() - 10)
    .setExpirationTime(over.exp ?? nowS() + 3600)
    .sign(over.key ?? signing);
}

const options = (over: Partial<VerifyOptions> = {}): VerifyOptions => ({
  discoveryUrl: `${base}/.well-known/openid-configuration`,
  audiences: ["https://app.example"],
  requiredRoles: ["archivist_administrator"],
  clockSkewSeconds: 60,
  ...over,
});

describe("verifyToken", () => {
  it("accepts a token signed by the issuer's key with the right iss, aud and roles", async () => {
    const verified = await verifyToken(await token(), options());
    expect(verified.issuer).toBe(`${base}/issuer`);
    expect(verified.claims["roles"]).toEqual(["archivist_administrator"]);
  });

  it("works from a JWKS URL alone when an issuer has no discovery document", async () => {
    const verified = await verifyToken(
      await token(),
      options({ discoveryUrl: undefined, jwksUrl: `${base}/keys` }),
    );
    expect(verified.jwksUrl).toBe(`${base}/keys`);
  });

  it.each<[string, () => Promise<string>, Partial<VerifyOptions>, RegExp]>([
    [
      "a wrong audience",
      () => token(),
      { audiences: ["https://other.example"] },
      /aud \(https:\/\/app\.example\) includes none of https:\/\/other\.example/,
    ],
    [
      "a wrong key under the right kid",
      () => token({ key: stranger }),
      {},
      /signature does not verify against the keys at 127\.0\.0\.1/,
    ],
    [
      "a key the issuer does not publish",
      () => token({ key: stranger, kid: "k9" }),
      {},
      /no key with kid k9 at 127\.0\.0\.1/,
    ],
    ["an expired token", () => token({ exp: nowS() - 3600 }), {}, /the token expired at \d{4}-/],
    [
      "a missing role",
      () => token({ claims: { roles: ["guest"] } }),
      {},
      /roles claim lacks archivist_administrator \(it has guest\)/,
    ],
    [
      "a wrong issuer",
      () => token({ iss: "https://evil.example" }),
      {},
      /iss is https:\/\/evil\.example, expected http/,
    ],
  ])("refuses %s with a message of its own", async (_name, make, over, message) => {
    const jwt = await make();
    const err = await verifyToken(jwt, options(over)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "VerificationFailed", retryable: false });
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain(jwt);
  });

  it("tolerates an expiry within the clock skew", async () => {
    await expect(
      verifyToken(await token({ exp: nowS() - 30 }), options({ clockSkewSeconds: 60 })),
    ).resolves.toBeDefined();
  });

  it("refuses something that is not a JWT", async () => {
    await expect(verifyToken("opaque-token", options())).rejects.toMatchObject({
      code: "VerificationFailed",
      message: "the token is not a JWT",
    });
  });

  it("reports an unreachable discovery document as retryable, not as a bad token", async () => {
    discoveryStatus = 503;
    const err = await verifyToken(
      await token(),
      options({ discoveryUrl: `${base}/.well-known/openid-configuration?fresh` }),
    ).catch((e: unknown) => e);
    discoveryStatus = 200;
    expect(err).toMatchObject({ code: "Unavailable", retryable: true });
  });
});
