import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { KeySet } from "./key-set.ts";

const claims = { iss: "https://issuer.test", aud: "api", iat: 1, exp: 4_000_000_000 };

async function verifies(keys: KeySet, token: string): Promise<boolean> {
  try {
    await jwtVerify(token, createLocalJWKSet(keys.jwks()), { algorithms: ["RS256"] });
    return true;
  } catch {
    return false;
  }
}

describe("rotating key set", () => {
  it("signs RS256 with the current kid and publishes that key without its private parts", async () => {
    const keys = new KeySet();
    const token = await keys.sign(claims, "at+jwt");
    expect(decodeProtectedHeader(token)).toEqual({ alg: "RS256", typ: "at+jwt", kid: keys.kid });
    const [jwk] = keys.jwks().keys;
    expect(jwk).toMatchObject({ kty: "RSA", use: "sig", kid: keys.kid });
    expect(Object.keys(jwk ?? {}).sort()).toEqual(["e", "kid", "kty", "n", "use"]);
    expect(await verifies(keys, token)).toBe(true);
  });

  it.each([
    ["keeps the previous key published by default", {}, true],
    ["retires the previous key when asked", { keepPrevious: false }, false],
  ])("%s", async (_name, options, oldStillVerifies) => {
    const keys = new KeySet();
    const before = keys.kid;
    const old = await keys.sign(claims);
    const kid = keys.rotate(options);
    expect(kid).not.toBe(before);
    expect(keys.kid).toBe(kid);
    expect(decodeProtectedHeader(await keys.sign(claims)).kid).toBe(kid);
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual(oldStillVerifies ? [kid, before] : [kid]);
    expect(await verifies(keys, old)).toBe(oldStillVerifies);
  });

  it("publishes only the one key before the current one", () => {
    const keys = new KeySet();
    keys.rotate();
    const second = keys.kid;
    const third = keys.rotate();
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([third, second]);
  });

  it("adds extra fields to every published key", () => {
    const keys = new KeySet();
    keys.rotate();
    expect(
      keys
        .jwks({ issuer: "https://x/v2.0" })
        .keys.every((k) => (k as Record<string, unknown>)["issuer"] === "https://x/v2.0"),
    ).toBe(true);
  });
});
