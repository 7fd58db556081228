/**
 * The operator's ClientCredentialsIssuer against an OpenID Provider the project did not write
 * (oidc-provider): both client authentication styles get a JWT access token, and jose verifies it
 * against the provider's own discovery document and JWKS (signature, iss, aud, exp). Refusals come
 * back as TokenError Rejected.
 */
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ClientCredentialsIssuer,
  type ClientCredentialsParams,
} from "../../src/tokens/client-credentials.ts";
import { TokenError } from "../../src/tokens/errors.ts";
import {
  startOidcProvider,
  type OidcProviderClient,
  type RunningOidcProvider,
} from "../support/oidc-provider.ts";

let op: RunningOidcProvider;

beforeAll(async () => {
  op = await startOidcProvider();
});
afterAll(async () => {
  await op.close();
});

function client(method: OidcProviderClient["authMethod"]): OidcProviderClient {
  const found = op.clients.find((c) => c.authMethod === method);
  if (!found) throw new Error(`no ${method} client`);
  return found;
}

function issuerFor(
  method: OidcProviderClient["authMethod"],
  extra: Partial<ClientCredentialsParams> = {},
): ClientCredentialsIssuer {
  const c = client(method);
  return new ClientCredentialsIssuer({
    tokenUrl: op.tokenUrl,
    clientId: c.clientId,
    clientSecret: c.clientSecret,
    authStyle: method === "client_secret_basic" ? "Basic" : "Body",
    ...extra,
  });
}

async function discovery(): Promise<{ issuer: string; jwks_uri: string; token_endpoint: string }> {
  const response = await fetch(op.discoveryUrl);
  expect(response.status).toBe(200);
  return (await response.json()) as { issuer: string; jwks_uri: string; token_endpoint: string };
}

describe("ClientCredentialsIssuer against oidc-provider", () => {
  it("finds the token endpoint the fixture reports in the provider's discovery document", async () => {
    const doc = await discovery();
    expect([doc.issuer, doc.token_endpoint]).toEqual([op.issuer, op.tokenUrl]);
  });

  // The resource is looked up when the cases run: the provider starts in beforeAll.
  it.each([
    ["client_secret_post, resource and one scope", "client_secret_post", true, ["read"], "read"],
    ["client_secret_post, no resource (the default one)", "client_secret_post", false, [], undefined],
    [
      "client_secret_basic, resource and two scopes",
      "client_secret_basic",
      true,
      ["read", "write"],
      "read write",
    ],
    ["client_secret_basic, no resource or scope", "client_secret_basic", false, [], undefined],
  ] as const)(
    "gets a JWT access token that verifies against the provider's JWKS: %s",
    async (_n, method, withResource, scopes, scope) => {
      const issuer = issuerFor(method, { ...(withResource ? { resource: op.resource } : {}), scopes });
      const before = Math.floor(Date.now() / 1000);
      const issued = await issuer.issue();
      expect([issued.tokenType, issued.expiresInSeconds]).toEqual(["Bearer", op.accessTokenTtlSeconds]);

      const doc = await discovery();
      const { payload, protectedHeader } = await jwtVerify(
        issued.accessToken,
        createRemoteJWKSet(new URL(doc.jwks_uri)),
        {
          issuer: doc.issuer,
          audience: op.resource,
          typ: "at+jwt",
          algorithms: ["RS256"],
        },
      );
      expect(protectedHeader.kid).toEqual(expect.any(String));
      expect(payload).toMatchObject({ iss: op.issuer, aud: op.resource, client_id: client(method).clientId });
      expect(payload["scope"]).toBe(scope);
      expect(Number(payload.exp)).toBeGreaterThanOrEqual(before + op.accessTokenTtlSeconds);
      expect(Number(payload.exp) - Number(payload.iat)).toBe(op.accessTokenTtlSeconds);
    },
  );

  it("gets a token whose kid is one the provider publishes", async () => {
    const issued = await issuerFor("client_secret_basic").issue();
    const keys = (await (await fetch((await discovery()).jwks_uri)).json()) as { keys: { kid: string }[] };
    expect(keys.keys.map((k) => k.kid)).toContain(decodeProtectedHeader(issued.accessToken).kid);
  });

  it.each([
    ["a wrong secret in the body", "client_secret_post", { clientSecret: "wrong" }, 401],
    ["a wrong secret in HTTP Basic", "client_secret_basic", { clientSecret: "wrong" }, 401],
    ["an unknown client in HTTP Basic", "client_secret_basic", { clientId: "nobody" }, 401],
    ["a scope the client is not registered for", "client_secret_post", { scopes: ["write"] }, 400],
    ["an unknown resource", "client_secret_post", { resource: "https://other.example.test/" }, 400],
  ] as const)("is Rejected for %s", async (_name, method, extra, status) => {
    const err = await issuerFor(method, extra)
      .issue()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenError);
    expect([(err as TokenError).code, (err as TokenError).status]).toEqual(["Rejected", status]);
  });
});
