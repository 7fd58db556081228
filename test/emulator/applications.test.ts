/**
 * The App Registrations API of the emulator over real HTTP, checked against the wire contract in
 * docs (status codes, shapes, paging tokens, PATCH semantics, OWNER-only access, error bodies).
 */
import { describe, expect, it } from "vitest";
import { sha256Hex, type RunningEmulator } from "../../src/emulator/index.ts";
import { createApp, send, tokenFor, type WireApp, useEmulator } from "./support.ts";

const base = "/archivist/iam/v1/applications";
let emulator: RunningEmulator;
let token: string;

useEmulator((e, t) => {
  emulator = e;
  token = t;
});

describe("creating applications", () => {
  it("answers 200 with the only copy of a 64-hex secret valid one year", async () => {
    const response = await send(emulator, "POST", base, {
      token,
      json: { display_name: "TrafficLight101", custom_claims: { serial_number: "TL1000000101" } },
    });
    expect(response.status).toBe(200);
    const app = response.body as WireApp;
    const uuid = app.identity.replace(/^applications\//, "");
    expect(app).toMatchObject({ display_name: "TrafficLight101", client_id: uuid, roles: [] });
    expect(app.tenant_id).toBe(emulator.tenantId);
    const [credential] = app.credentials;
    expect(credential?.secret).toMatch(/^[0-9a-f]{64}$/);
    const from = new Date(credential?.valid_from ?? "");
    from.setUTCFullYear(from.getUTCFullYear() + 1);
    expect(credential?.valid_until).toBe(from.toISOString().replace(".000Z", "Z"));
    const snapshot = emulator.control.applications().find((a) => a.clientId === uuid);
    expect(snapshot?.secretSha256).toBe(sha256Hex(credential?.secret ?? ""));
  });

  it.each([
    ["no display_name", { custom_claims: {} }, "display_name is required"],
    ["an empty display_name", { display_name: " " }, "display_name is required"],
    [
      "a jit_ claim",
      { display_name: "a", custom_claims: { jit_x: "1" } },
      "must not start with jit_ or arc_",
    ],
    [
      "an arc_ claim",
      { display_name: "a", custom_claims: { arc_x: "1" } },
      "must not start with jit_ or arc_",
    ],
    ["a registered claim", { display_name: "a", custom_claims: { sub: "1" } }, "registered JWT claim"],
    [
      "client_id as a claim",
      { display_name: "a", custom_claims: { client_id: "1" } },
      "registered JWT claim",
    ],
    ["a non-string claim", { display_name: "a", custom_claims: { n: 1 } }, "must be strings"],
    ["an unknown role", { display_name: "a", roles: ["ADMIN"] }, "roles are ROLE_UNSPECIFIED or OWNER"],
  ])("refuses %s with 400 INVALID_ARGUMENT", async (_name, body, message) => {
    const response = await send(emulator, "POST", base, { token, json: body });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 3, details: [] });
    expect((response.body as { message: string }).message).toContain(message);
  });

  it.each([
    { name: "OWNER", roles: ["OWNER"] },
    { name: "ROLE_UNSPECIFIED", roles: ["ROLE_UNSPECIFIED"] },
    { name: "no role", roles: [] },
  ])("takes roles $name and keeps them", async ({ roles }) => {
    const created = await send(emulator, "POST", base, { token, json: { display_name: "r", roles } });
    expect([created.status, (created.body as WireApp).roles]).toEqual([200, roles]);
    const path = `/archivist/iam/v1/${(created.body as WireApp).identity}`;
    expect(((await send(emulator, "GET", path, { token })).body as WireApp).roles).toEqual(roles);
  });

  it("makes a ROLE_UNSPECIFIED application no administrator", async () => {
    const app = await createApp(emulator, token, { display_name: "r", roles: ["ROLE_UNSPECIFIED"] });
    const appToken = (await tokenFor(emulator, app.client_id, app.credentials[0]?.secret ?? "")).body as {
      access_token: string;
    };
    expect((await send(emulator, "GET", base, { token: appToken.access_token })).status).toBe(403);
  });

  it("answers 402 with gRPC code 12 and Payment Required once the quota is used up", async () => {
    emulator.control.setApplicationQuota(2);
    expect((await send(emulator, "POST", base, { token, json: { display_name: "one" } })).status).toBe(200);
    const response = await send(emulator, "POST", base, { token, json: { display_name: "two" } });
    expect(response.status).toBe(402);
    expect(response.body).toMatchObject({ code: 12, details: [] });
    expect((response.body as { message: string }).message).toMatch(/Payment Required$/);
  });
});

describe("reading, updating and deleting", () => {
  it("redacts the secret on get and list", async () => {
    const app = await createApp(emulator, token, { display_name: "a" });
    const got = await send(emulator, "GET", `/archivist/iam/v1/${app.identity}`, { token });
    expect(got.status).toBe(200);
    expect((got.body as WireApp).credentials[0]?.secret).toBe("");
    const list = await send(emulator, "GET", base, { token });
    const apps = (list.body as { applications: WireApp[] }).applications;
    expect(apps.map((a) => a.credentials[0]?.secret)).toEqual(apps.map(() => ""));
  });

  it("keeps what a PATCH leaves out and replaces a sent claims map whole", async () => {
    const app = await createApp(emulator, token, {
      display_name: "TrafficLight101",
      custom_claims: { serial_number: "TL1000000101", has_cyclist_light: "true" },
    });
    const path = `/archivist/iam/v1/${app.identity}`;
    const patched = await send(emulator, "PATCH", path, {
      token,
      json: { custom_claims: { has_cyclist_light: "false" } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      display_name: "TrafficLight101",
      custom_claims: { has_cyclist_light: "false" },
    });
    expect((patched.body as WireApp).credentials[0]?.secret).toBe("");
    const renamed = await send(emulator, "PATCH", path, { token, json: { display_name: "TL-101" } });
    expect(renamed.body).toMatchObject({
      display_name: "TL-101",
      custom_claims: { has_cyclist_light: "false" },
    });
    const bad = await send(emulator, "PATCH", path, { token, json: { custom_claims: { iat: "1" } } });
    expect(bad.status).toBe(400);
  });

  it("deletes with {} and then answers 404 everywhere", async () => {
    const app = await createApp(emulator, token, { display_name: "a" });
    const path = `/archivist/iam/v1/${app.identity}`;
    const deleted = await send(emulator, "DELETE", path, { token });
    expect([deleted.status, deleted.body]).toEqual([200, {}]);
    for (const [method, suffix] of [
      ["GET", ""],
      ["PATCH", ""],
      ["DELETE", ""],
      ["POST", ":regenerate-secret"],
    ] as const) {
      const response = await send(emulator, method, `${path}${suffix}`, {
        token,
        ...(method === "PATCH" ? { json: {} } : {}),
      });
      expect([method, response.status, response.body]).toEqual([
        method,
        404,
        { code: 5, message: "application not found", details: [] },
      ]);
    }
  });

  it("regenerates the secret: new secret shown once, old one refused, new one works", async () => {
    const app = await createApp(emulator, token, { display_name: "a" });
    const old = app.credentials[0]?.secret ?? "";
    const response = await send(emulator, "POST", `/archivist/iam/v1/${app.identity}:regenerate-secret`, {
      token,
    });
    expect(response.status).toBe(200);
    const fresh = (response.body as WireApp).credentials[0]?.secret ?? "";
    expect(fresh).toMatch(/^[0-9a-f]{64}$/);
    expect(fresh).not.toBe(old);
    expect((await tokenFor(emulator, app.client_id, old)).status).toBe(401);
    expect((await tokenFor(emulator, app.client_id, fresh)).status).toBe(200);
  });
});

describe("paging", () => {
  it("walks pages with a token that encodes the original query, sent alone", async () => {
    for (const name of ["x", "y", "x", "x", "y", "x", "x"])
      await createApp(emulator, token, { display_name: name });
    const seen: string[] = [];
    let response = await send(emulator, "GET", `${base}?page_size=2&display_name=x`, { token });
    for (;;) {
      const page = response.body as { applications: WireApp[]; next_page_token: string };
      expect(page.applications.length).toBeLessThanOrEqual(2);
      seen.push(...page.applications.map((a) => a.display_name));
      if (page.next_page_token === "") break;
      const decoded: unknown = JSON.parse(Buffer.from(page.next_page_token, "base64").toString());
      expect(decoded).toMatchObject({ orig_req: { page_size: 2, display_name: "x" } });
      response = await send(
        emulator,
        "GET",
        `${base}?page_token=${encodeURIComponent(page.next_page_token)}`,
        { token },
      );
    }
    expect(seen).toEqual(["x", "x", "x", "x", "x"]);
  });

  it("answers 400 to a page token it did not write", async () => {
    const response = await send(emulator, "GET", `${base}?page_token=nonsense`, { token });
    expect([response.status, (response.body as { code: number }).code]).toEqual([400, 3]);
  });
});

describe("who may call", () => {
  it.each([
    ["POST", base],
    ["GET", base],
    ["GET", `${base}/00000000-0000-0000-0000-000000000000`],
    ["PATCH", `${base}/00000000-0000-0000-0000-000000000000`],
    ["DELETE", `${base}/00000000-0000-0000-0000-000000000000`],
    ["POST", `${base}/00000000-0000-0000-0000-000000000000:regenerate-secret`],
  ])(
    "%s %s: 401 without a token, 401 with a forged one, 403 for a plain integration",
    async (method, path) => {
      const plain = await createApp(emulator, token, { display_name: "plain" });
      const plainToken = (await tokenFor(emulator, plain.client_id, plain.credentials[0]?.secret ?? ""))
        .body as {
        access_token: string;
      };
      const json =
        method === "POST" && path === base ? { display_name: "z" } : method === "PATCH" ? {} : undefined;
      const none = await send(emulator, method, path, json === undefined ? {} : { json });
      expect([none.status, none.body]).toEqual([
        401,
        { code: 16, message: "missing bearer token", details: [] },
      ]);
      const forged = await send(emulator, method, path, {
        token: `${token.slice(0, -4)}AAAA`,
        ...(json ? { json } : {}),
      });
      expect(forged.status).toBe(401);
      const denied = await send(emulator, method, path, {
        token: plainToken.access_token,
        ...(json ? { json } : {}),
      });
      expect([denied.status, (denied.body as { code: number }).code]).toEqual([403, 7]);
    },
  );
});

describe("error shapes", () => {
  it.each([
    ["an unknown route", "GET", "/archivist/v1/nothing", undefined, 404, 5],
    ["malformed JSON", "POST", base, "{not json", 400, 3],
  ])("answers %s in the grpc-gateway shape", async (_name, method, path, rawBody, status, code) => {
    const response = await send(emulator, method, path, {
      token,
      ...(rawBody === undefined ? {} : { rawBody }),
    });
    expect(response.status).toBe(status);
    expect(response.body).toMatchObject({ code, details: [] });
    expect(response.text).not.toContain("not json");
  });

  it("answers 429 with both reset headers past the rate limit", async () => {
    emulator.control.setRateLimit({ limit: 1, windowSeconds: 30 });
    expect((await send(emulator, "GET", base, { token })).status).toBe(200);
    const limited = await send(emulator, "GET", base, { token });
    expect([limited.status, limited.body]).toEqual([
      429,
      { code: 8, message: "rate limit exceeded", details: [] },
    ]);
    expect(Number(limited.headers.get("archivist-rate-limit-reset"))).toBeGreaterThanOrEqual(29);
    expect(limited.headers.get("retry-after")).toBe(limited.headers.get("archivist-rate-limit-reset"));
    emulator.control.advanceClock(30_000);
    expect((await send(emulator, "GET", base, { token })).status).toBe(200);
  });
});
