/**
 * The emulator's token endpoint and issuer: claims and header as DataTrails issues them, signature
 * verification with jose against the discovery document, rotation and expiry semantics.
 */
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../src/emulator/index.ts";
import { adminToken, createApp, jwtPayload, send, tokenFor, type WireApp } from "./support.ts";

let emulator: RunningEmulator;
let admin: string;

beforeAll(async () => {
  emulator = await startEmulator({ tier: "PREMIUM" });
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(async () => {
  emulator.control.reset();
  admin = await adminToken(emulator);
});

async function appWithToken(claims: Record<string, string> = {}): Promise<{ app: WireApp; token: string }> {
  const app = await createApp(emulator, admin, { display_name: "TrafficLight101", custom_claims: claims });
  const response = await tokenFor(emulator, app.client_id, app.credentials[0]?.secret ?? "");
  return { app, token: (response.body as { access_token: string }).access_token };
}

async function assetsStatus(token: string): Promise<number> {
  return (await send(emulator, "GET", "/archivist/v2/assets", { token })).status;
}

describe("issued tokens", () => {
  it("answers {access_token, token_type: Bearer, expires_in}", async () => {
    const app = await createApp(emulator, admin, { display_name: "a" });
    const response = await tokenFor(emulator, app.client_id, app.credentials[0]?.secret ?? "");
    expect(response.status).toBe(200);
    expect(Object.keys(response.body as object).sort()).toEqual(["access_token", "expires_in", "token_type"]);
    expect(response.body).toMatchObject({ token_type: "Bearer", expires_in: 3600 });
  });

  it("carries DataTrails' header and claims, custom claims top-level", async () => {
    const { app, token } = await appWithToken({ serial_number: "TL1000000101", has_cyclist_light: "true" });
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: "RS256", typ: "at+jwt" });
    const claims = jwtPayload(token);
    expect(claims).toMatchObject({
      iss: `${emulator.publicUrl}/appidpv1`,
      aud: `${emulator.publicUrl}/archivist`,
      sub: app.client_id,
      client_id: app.client_id,
      jit_tenant_id: emulator.tenantId,
      jit_tier: "PREMIUM",
      name: "TrafficLight101",
      serial_number: "TL1000000101",
      has_cyclist_light: "true",
    });
    expect(claims["jti"]).toEqual(expect.any(String));
    expect(Number(claims["exp"]) - Number(claims["iat"])).toBe(3600);
  });

  it("verifies with jose against the keys the discovery document names", async () => {
    const discovery = await send(emulator, "GET", "/appidpv1/.well-known/openid-configuration");
    const doc = discovery.body as Record<string, string | string[]>;
    expect(doc).toMatchObject({
      issuer: `${emulator.publicUrl}/appidpv1`,
      token_endpoint: `${emulator.publicUrl}/archivist/iam/v1/appidp/token`,
      id_token_signing_alg_values_supported: ["RS256"],
    });
    const { token } = await appWithToken();
    const jwks = createRemoteJWKSet(new URL(String(doc["jwks_uri"])));
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer: String(doc["issuer"]),
      audience: `${emulator.publicUrl}/archivist`,
      typ: "at+jwt",
      algorithms: ["RS256"],
    });
    expect(payload.iss).toBe(doc["issuer"]);
    const keys = (await send(emulator, "GET", "/appidpv1/.well-known/jwks.json")).body as {
      keys: { kid: string }[];
    };
    expect(keys.keys.map((k) => k.kid)).toEqual([protectedHeader.kid]);
  });

  it.each([
    { name: "the control handle", set: () => Promise.resolve(emulator.control.setTier("READONLY")) },
    {
      name: "the admin API",
      set: async () => {
        const response = await send(emulator, "PATCH", "/_emulator/settings", { json: { tier: "READONLY" } });
        expect(response.body).toMatchObject({ tier: "READONLY" });
      },
    },
  ])("issues jit_tier READONLY once set through $name", async ({ set }) => {
    await set();
    const { token } = await appWithToken();
    expect(jwtPayload(token)["jit_tier"]).toBe("READONLY");
  });

  it("issues the TTL set at runtime", async () => {
    emulator.control.setTokenTtlSeconds(5);
    const { token } = await appWithToken();
    const claims = jwtPayload(token);
    expect(Number(claims["exp"]) - Number(claims["iat"])).toBe(5);
  });
});

describe("refusals", () => {
  it.each([
    [
      "an unknown client",
      (app: WireApp) => ["00000000-0000-0000-0000-000000000000", app.credentials[0]?.secret ?? ""],
    ],
    ["a wrong secret", (app: WireApp) => [app.client_id, "0".repeat(64)]],
    ["an empty-looking secret", (app: WireApp) => [app.client_id, " "]],
  ])("401 for %s", async (_name, pick) => {
    const app = await createApp(emulator, admin, { display_name: "a" });
    const [clientId, secret] = pick(app);
    const response = await tokenFor(emulator, clientId ?? "", secret ?? "");
    expect([response.status, response.body]).toEqual([
      401,
      { code: 16, message: "invalid client credentials", details: [] },
    ]);
  });

  it.each([
    ["another grant type", { grant_type: "password", client_id: "a", client_secret: "b" }],
    ["no secret", { grant_type: "client_credentials", client_id: "a" }],
  ])("400 for %s", async (_name, form) => {
    const response = await send(emulator, "POST", "/archivist/iam/v1/appidp/token", { form });
    expect([response.status, (response.body as { code: number }).code]).toEqual([400, 3]);
  });
});

describe("rotation and expiry", () => {
  it("refuses the old secret after regenerate, while tokens issued before stay valid", async () => {
    const { app, token } = await appWithToken();
    const old = app.credentials[0]?.secret ?? "";
    const regenerated = await send(emulator, "POST", `/archivist/iam/v1/${app.identity}:regenerate-secret`, {
      token: admin,
    });
    expect((await tokenFor(emulator, app.client_id, old)).status).toBe(401);
    expect(await assetsStatus(token)).toBe(200);
    const fresh = (regenerated.body as WireApp).credentials[0]?.secret ?? "";
    expect((await tokenFor(emulator, app.client_id, fresh)).status).toBe(200);
  });

  it("refuses a secret past its valid_until (one year on the emulator's clock)", async () => {
    const app = await createApp(emulator, admin, { display_name: "a" });
    const secret = app.credentials[0]?.secret ?? "";
    const validUntil = Date.parse(app.credentials[0]?.valid_until ?? "");
    emulator.control.setClockOffsetMs(validUntil - Date.now() - 60_000);
    expect((await tokenFor(emulator, app.client_id, secret)).status).toBe(200);
    emulator.control.setClockOffsetMs(validUntil - Date.now() + 1_000);
    expect((await tokenFor(emulator, app.client_id, secret)).status).toBe(401);
  });

  it("stops accepting a token once its exp passes", async () => {
    emulator.control.setTokenTtlSeconds(60);
    const { token } = await appWithToken();
    expect(await assetsStatus(token)).toBe(200);
    emulator.control.advanceClock(61_000);
    expect(await assetsStatus(token)).toBe(401);
  });

  it("keeps a deleted application's token valid until it expires", async () => {
    const { app, token } = await appWithToken();
    await send(emulator, "DELETE", `/archivist/iam/v1/${app.identity}`, { token: admin });
    expect(await assetsStatus(token)).toBe(200);
  });
});
