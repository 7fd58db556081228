import { describe, expect, it } from "vitest";
import { EmulatorState, sha256Hex } from "./state.ts";

const year = 366 * 24 * 3600 * 1000;

function build(now = { ms: Date.parse("2024-03-01T10:00:00.500Z") }) {
  const state = new EmulatorState({
    now: () => now.ms,
    tier: "FREE",
    seedAssets: true,
    admin: { clientId: "admin-id", clientSecret: "admin-secret" },
  });
  return { state, now };
}

describe("emulator state", () => {
  it("creates an application with a 64-hex secret valid one calendar year, keeping only its hash", () => {
    const { state } = build();
    const { app, secret } = state.createApplication({
      displayName: "a",
      customClaims: { k: "v" },
      roles: [],
    });
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    expect(app.secretSha256).toBe(sha256Hex(secret));
    expect(JSON.stringify(state.applicationSnapshots())).not.toContain(secret);
    const wire = state.toWire(app, secret);
    expect(wire.credentials).toEqual([
      { secret, valid_from: "2024-03-01T10:00:00Z", valid_until: "2025-03-01T10:00:00Z" },
    ]);
    expect(state.toWire(app).credentials[0]?.secret).toBe("");
    expect(wire.client_id).toBe(wire.identity.slice("applications/".length));
    expect(wire.tenant_id).toMatch(/^tenant\//);
  });

  it.each([
    ["the current secret", (s: string) => s, 0, true],
    ["a wrong secret", () => "0".repeat(64), 0, false],
    ["an unknown client", undefined, 0, false],
    ["a secret past valid_until", (s: string) => s, year, false],
  ])("authenticates %s: %s", (_name, pick, advanceMs, ok) => {
    const { state, now } = build();
    const { app, secret } = state.createApplication({ displayName: "a", customClaims: {}, roles: [] });
    now.ms += advanceMs;
    const clientId = pick ? app.uuid : "nobody";
    expect(state.authenticate(clientId, pick ? pick(secret) : secret) !== undefined).toBe(ok);
  });

  it("refuses the old secret after regenerate and accepts the new one", () => {
    const { state } = build();
    const { app, secret } = state.createApplication({ displayName: "a", customClaims: {}, roles: [] });
    const regenerated = state.regenerateSecret(app.uuid);
    expect(state.authenticate(app.uuid, secret)).toBeUndefined();
    expect(state.authenticate(app.uuid, regenerated?.secret ?? "")).toBeDefined();
  });

  it("keeps fields a PATCH leaves out and replaces a sent claims map whole", () => {
    const { state } = build();
    const { app } = state.createApplication({
      displayName: "a",
      customClaims: { x: "1", y: "2" },
      roles: [],
    });
    state.updateApplication(app.uuid, { customClaims: { y: "3" } });
    expect(state.getApplication(app.uuid)).toMatchObject({ displayName: "a", customClaims: { y: "3" } });
    state.updateApplication(app.uuid, { displayName: "b" });
    expect(state.getApplication(app.uuid)).toMatchObject({ displayName: "b", customClaims: { y: "3" } });
  });

  it("resets to the seeded admin (with its first secret) and the seeded assets", () => {
    const { state } = build();
    state.createApplication({ displayName: "a", customClaims: {}, roles: [] });
    state.regenerateSecret("admin-id");
    state.addAsset({ arc_display_name: "extra" });
    state.reset();
    expect(state.listApplications().map((a) => a.uuid)).toEqual(["admin-id"]);
    expect(state.authenticate("admin-id", "admin-secret")?.roles).toEqual(["OWNER"]);
    expect(state.listAssets()).toHaveLength(4);
  });
});
