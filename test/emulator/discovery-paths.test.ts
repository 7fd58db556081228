/**
 * OIDC discovery as scripts reach it: `<iss>/.well-known/openid-configuration` appended to an
 * issuer that ends in `/` (Azure v1's, or a base URL written with one) has a doubled slash, and the
 * emulator serves the same document there, over real HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../src/emulator/index.ts";

let emulator: RunningEmulator;

beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
});

async function document(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("discovery with a doubled slash", () => {
  const cases = [
    {
      name: "appidp, from a base URL written with a trailing slash",
      issuer: () => `${emulator.url}/appidpv1/`,
      route: "discovery" as const,
    },
    {
      name: "Azure AD v1 (its issuer ends in /)",
      issuer: () => emulator.control.azure.endpoints().issuerV1,
      route: "azure.discovery.v1" as const,
    },
  ];

  it.each(cases)("$name: <issuer>/.well-known/... as a script appends it answers the document", async (c) => {
    const appended = `${c.issuer()}/.well-known/openid-configuration`;
    const stripped = `${c.issuer().replace(/\/$/, "")}/.well-known/openid-configuration`;
    const before = emulator.control.count(c.route);
    const [asAppended, asStripped] = await Promise.all([document(appended), document(stripped)]);
    expect(asAppended.status).toBe(200);
    expect(asAppended.body).toEqual(asStripped.body);
    expect(asAppended.body["jwks_uri"]).toEqual(expect.any(String));
    expect(emulator.control.count(c.route) - before).toBe(2);
  });

  it("keeps the Azure v1 issuer, trailing slash and all, in the document", async () => {
    const issuer = emulator.control.azure.endpoints().issuerV1;
    expect(issuer.endsWith("/")).toBe(true);
    expect((await document(`${issuer}/.well-known/openid-configuration`)).body["issuer"]).toBe(issuer);
  });

  it.each([
    { name: "a tripled slash", path: "/appidpv1///.well-known/openid-configuration" },
    { name: "a doubled slash elsewhere in the API", path: "/archivist//iam/v1/applications" },
  ])("answers 404 to $name", async ({ path }) => {
    expect((await fetch(`${emulator.url}${path}`)).status).toBe(404);
  });

  it("answers an unknown Azure tenant's doubled-slash discovery as Azure does, with 400", async () => {
    expect((await fetch(`${emulator.url}/not-a-tenant//.well-known/openid-configuration`)).status).toBe(400);
  });
});
