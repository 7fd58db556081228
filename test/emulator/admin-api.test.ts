/**
 * The emulator's own admin API under /_emulator, over HTTP: fault switches, settings, clock, state
 * inspection (secret hashes, never secrets), counters and reset.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { sha256Hex, startEmulator, type RunningEmulator } from "../../src/emulator/index.ts";
import { adminToken, createApp, send, tokenFor } from "./support.ts";

const list = "/archivist/iam/v1/applications";
let emulator: RunningEmulator;
let admin: string;

beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(async () => {
  await send(emulator, "POST", "/_emulator/reset");
  admin = await adminToken(emulator);
});

describe("state inspection", () => {
  it("lists applications with the SHA-256 of their current secret, never the secret", async () => {
    const app = await createApp(emulator, admin, { display_name: "a", custom_claims: { k: "v" } });
    const secret = app.credentials[0]?.secret ?? "";
    const response = await send(emulator, "GET", "/_emulator/state");
    expect(response.text).not.toContain(secret);
    expect(response.text).not.toContain(emulator.admin.clientSecret);
    const state = response.body as {
      applications: { clientId: string; secretSha256: string; roles: string[] }[];
    };
    expect(state.applications).toEqual([
      expect.objectContaining({
        clientId: emulator.admin.clientId,
        roles: ["OWNER"],
        secretSha256: sha256Hex(emulator.admin.clientSecret),
      }),
      expect.objectContaining({
        clientId: app.client_id,
        secretSha256: sha256Hex(secret),
        customClaims: { k: "v" },
      }),
    ]);
    expect((await send(emulator, "GET", "/_emulator/applications")).body).toEqual({
      applications: state.applications,
    });
  });

  it("counts requests per route, not its own, and resets the counts", async () => {
    await send(emulator, "GET", list, { token: admin });
    await send(emulator, "GET", list);
    const counters = (await send(emulator, "GET", "/_emulator/counters")).body as Record<string, number>;
    expect(counters).toMatchObject({ token: 1, "applications.list": 2, "applications.create": 0 });
    await send(emulator, "DELETE", "/_emulator/counters");
    expect((await send(emulator, "GET", "/_emulator/counters")).body).toMatchObject({ token: 0 });
  });

  it("resets to the seeded admin, clearing faults and settings", async () => {
    await createApp(emulator, admin, { display_name: "a" });
    await send(emulator, "PATCH", "/_emulator/settings", { json: { tokenTtlSeconds: 5 } });
    await send(emulator, "POST", "/_emulator/faults/fail", { json: { status: 500, count: 3 } });
    await send(emulator, "POST", "/_emulator/reset");
    expect(emulator.control.applications().map((a) => a.clientId)).toEqual([emulator.admin.clientId]);
    expect(emulator.control.settings().tokenTtlSeconds).toBe(3600);
    expect((await send(emulator, "GET", list, { token: admin })).status).toBe(200);
  });
});

describe("fault switches over HTTP", () => {
  it("fails the next N calls of a route with a status, in the grpc-gateway shape", async () => {
    await send(emulator, "POST", "/_emulator/faults/fail", {
      json: { route: "applications.list", status: 503, count: 2, message: "maintenance" },
    });
    const statuses = [];
    for (let i = 0; i < 3; i += 1)
      statuses.push((await send(emulator, "GET", list, { token: admin })).status);
    expect(statuses).toEqual([503, 503, 200]);
  });

  it("sends reset headers with an injected 429", async () => {
    await send(emulator, "POST", "/_emulator/faults/fail", { json: { status: 429, retryAfterSeconds: 7 } });
    const response = await send(emulator, "GET", list, { token: admin });
    expect([
      response.status,
      response.headers.get("archivist-rate-limit-reset"),
      response.headers.get("retry-after"),
    ]).toEqual([429, "7", "7"]);
  });

  it("answers an injected 402 as a quota answer: gRPC code 12, Payment Required", async () => {
    await send(emulator, "POST", "/_emulator/faults/fail", {
      json: { route: "applications.create", status: 402 },
    });
    const response = await send(emulator, "POST", "/archivist/iam/v1/applications", {
      token: admin,
      json: { display_name: "x" },
    });
    expect([response.status, (response.body as { code: number }).code]).toEqual([402, 12]);
    expect((response.body as { message: string }).message).toMatch(/Payment Required$/);
  });

  it("drops the connection without a response", async () => {
    await send(emulator, "POST", "/_emulator/faults/drop", { json: { route: "applications.list" } });
    await expect(fetch(`${emulator.url}${list}`)).rejects.toThrow();
    expect((await send(emulator, "GET", list, { token: admin })).status).toBe(200);
  });

  it("drops the connection after handling: the create happened, its answer is lost", async () => {
    await send(emulator, "POST", "/_emulator/faults/drop", {
      json: { route: "applications.create", afterHandling: true },
    });
    await expect(
      fetch(`${emulator.url}${list}`, {
        method: "POST",
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
        body: JSON.stringify({ display_name: "answer lost" }),
      }),
    ).rejects.toThrow();
    expect(emulator.control.applications().map((a) => a.displayName)).toContain("answer lost");
  });

  it("drops before handling: nothing happens", async () => {
    await send(emulator, "POST", "/_emulator/faults/drop", { json: { route: "applications.create" } });
    await expect(
      fetch(`${emulator.url}${list}`, {
        method: "POST",
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
        body: JSON.stringify({ display_name: "never made" }),
      }),
    ).rejects.toThrow();
    expect(emulator.control.applications().map((a) => a.displayName)).not.toContain("never made");
  });

  it("malforms the next response body", async () => {
    await send(emulator, "POST", "/_emulator/faults/malformed", { json: { route: "applications.list" } });
    const broken = await send(emulator, "GET", list, { token: admin });
    expect([broken.status, broken.body]).toEqual([200, undefined]);
    expect(broken.text.startsWith('{"applications":')).toBe(true);
  });

  it("arms latency and shows it in the state, and clears it", async () => {
    await send(emulator, "PUT", "/_emulator/latency", { json: { ms: 250, route: "token" } });
    expect((await send(emulator, "GET", "/_emulator/state")).body).toMatchObject({
      faults: { latencyMs: { global: 0, token: 250 } },
    });
    await send(emulator, "DELETE", "/_emulator/faults");
    expect((await send(emulator, "GET", "/_emulator/state")).body).toMatchObject({
      faults: { latencyMs: { global: 0 } },
    });
  });

  it.each([
    ["an unknown route", "/_emulator/faults/fail", { route: "nope", status: 500 }],
    ["a status that is not an error", "/_emulator/faults/fail", { status: 200 }],
    ["a negative latency", "/_emulator/latency", { ms: -1 }],
  ])("refuses %s with 400", async (_name, path, json) => {
    const method = path.endsWith("latency") ? "PUT" : "POST";
    const response = await send(emulator, method, path, { json });
    expect([response.status, (response.body as { code: number }).code]).toEqual([400, 3]);
  });
});

describe("settings and clock over HTTP", () => {
  it("changes the token TTL, quota and rate limit", async () => {
    const settings = await send(emulator, "PATCH", "/_emulator/settings", {
      json: { tokenTtlSeconds: 30, applicationQuota: 1, rateLimit: { limit: 100, windowSeconds: 60 } },
    });
    expect(settings.body).toMatchObject({ tokenTtlSeconds: 30, applicationQuota: 1 });
    const token = await tokenFor(emulator, emulator.admin.clientId, emulator.admin.clientSecret);
    expect(token.body).toMatchObject({ expires_in: 30 });
    const create = await send(emulator, "POST", list, { token: admin, json: { display_name: "a" } });
    expect(create.status).toBe(402);
  });

  it("moves the clock so secrets expire", async () => {
    const app = await createApp(emulator, admin, { display_name: "a" });
    await send(emulator, "PUT", "/_emulator/clock", { json: { offsetMs: 0 } });
    const moved = await send(emulator, "POST", "/_emulator/clock/advance", {
      json: { ms: 367 * 24 * 3600 * 1000 },
    });
    expect(Date.parse((moved.body as { now: string }).now)).toBeGreaterThan(
      Date.parse(app.credentials[0]?.valid_until ?? ""),
    );
    expect((await tokenFor(emulator, app.client_id, app.credentials[0]?.secret ?? "")).status).toBe(401);
  });

  it("adds assets an OWNER then sees", async () => {
    const added = await send(emulator, "POST", "/_emulator/assets", {
      json: { attributes: { arc_display_name: "TL 9", arc_display_type: "Traffic Light" } },
    });
    expect(added.body).toMatchObject({ identity: expect.stringMatching(/^assets\//) as unknown });
    const seen = await send(emulator, "GET", "/archivist/v2/assets", { token: admin });
    expect((seen.body as { assets: unknown[] }).assets).toEqual([added.body]);
  });
});
