/**
 * The emulator's identity provider: one RS256 key pair per emulator, access tokens shaped like
 * DataTrails' (`typ: at+jwt`, iss `<base>/appidpv1`, aud `<base>/archivist`, jit_ claims, custom
 * claims top-level), and the OIDC discovery document and JWKS that real DataTrails does not publish
 * but a verifier needs.
 */
import { randomBytes } from "node:crypto";
import {
  SignJWT,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from "jose";
import type { StoredApplication, TenantTier } from "./state.ts";

/** The path of the issuer under the base URL. */
export const issuerPath = "/appidpv1";
/** The path of the audience under the base URL. */
export const audiencePath = "/archivist";
/** The token endpoint path. */
export const tokenPath = "/archivist/iam/v1/appidp/token";
/** The discovery document path. */
export const discoveryPath = `${issuerPath}/.well-known/openid-configuration`;
/**
 * The discovery path as a script gets it by appending `/.well-known/...` to an issuer that ends in
 * `/` (Azure v1's do; a base URL written with one does too): the same document is served there.
 */
export function doubledSlashPath(path: string): string {
  return path.replace("/.well-known/", "//.well-known/");
}
/** The JWKS path. */
export const jwksPath = `${issuerPath}/.well-known/jwks.json`;

/** Signs and verifies the emulator's access tokens. */
export interface TokenAuthority {
  /** The key id in every token header and in the JWKS. */
  readonly kid: string;
  /** Issues an access token for the application. */
  issue(input: {
    baseUrl: string;
    app: StoredApplication;
    tenantId: string;
    tier: TenantTier;
    nowMs: number;
    ttlSeconds: number;
  }): Promise<string>;
  /** Verifies a token this emulator issued (signature, typ, iss, aud, exp) and returns its claims. */
  verify(token: string, input: { baseUrl: string; nowMs: number }): Promise<JWTPayload>;
  /** The public key set. */
  jwks(): { keys: JWK[] };
  /** The OpenID discovery document for the issuer under `baseUrl`. */
  discovery(baseUrl: string): Record<string, unknown>;
}

/** Generates a key pair and returns the authority built on it. */
export async function createTokenAuthority(): Promise<TokenAuthority> {
  const { privateKey, publicKey }: { privateKey: CryptoKey; publicKey: CryptoKey } = await generateKeyPair(
    "RS256",
    { extractable: true },
  );
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const jwk: JWK = { ...publicJwk, kid, alg: "RS256", use: "sig" };

  return {
    kid,
    async issue({ baseUrl, app, tenantId, tier, nowMs, ttlSeconds }) {
      const iat = Math.floor(nowMs / 1000);
      return new SignJWT({
        ...app.customClaims,
        jit_tenant_id: tenantId,
        jit_tier: tier,
        name: app.displayName,
        client_id: app.uuid,
      })
        .setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid })
        .setIssuer(`${baseUrl}${issuerPath}`)
        .setAudience(`${baseUrl}${audiencePath}`)
        .setSubject(app.uuid)
        .setJti(randomBytes(16).toString("base64url"))
        .setIssuedAt(iat)
        .setExpirationTime(iat + ttlSeconds)
        .sign(privateKey);
    },
    async verify(token, { baseUrl, nowMs }) {
      const { payload } = await jwtVerify(token, publicKey, {
        algorithms: ["RS256"],
        typ: "at+jwt",
        issuer: `${baseUrl}${issuerPath}`,
        audience: `${baseUrl}${audiencePath}`,
        currentDate: new Date(nowMs),
        clockTolerance: 0,
      });
      return payload;
    },
    jwks: () => ({ keys: [jwk] }),
    discovery: (baseUrl) => ({
      issuer: `${baseUrl}${issuerPath}`,
      jwks_uri: `${baseUrl}${jwksPath}`,
      token_endpoint: `${baseUrl}${tokenPath}`,
      grant_types_supported: ["client_credentials"],
      token_endpoint_auth_methods_supported: ["client_secret_post"],
      response_types_supported: ["token"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["RS256"],
      claims_supported: [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "jti",
        "client_id",
        "name",
        "jit_tenant_id",
        "jit_tier",
      ],
    }),
  };
}
