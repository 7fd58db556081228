/**
 * HttpDataTrailsApi against the emulator over real HTTP: every route, paging with a display_name
 * filter (later pages send the token alone), the admin token cached, shared and refreshed early.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DataTrailsError, type HttpDataTrailsApi } from "../../src/datatrails/index.ts";
import { sha256Hex, startEmulator, type RunningEmulator } from "../../src/emulator/index.ts";
import { systemClock } from "../../src/k8s/clock.ts";
import { clientFor, recordingDispatcher, recordingSleep, rejectionOf } from "./support.ts";

let emulator: RunningEmulator;
let api: HttpDataTrailsApi;

beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(() => {
  emulator.control.reset();
  api = clientFor(emulator);
});
afterEach(async () => {
  await api.close();
});

describe("App Registrations through the client", () => {
  it("creates an application and hands out its secret once", async () => {
    const created = await api.createApplication({
      displayName: "TrafficLight101",
      customClaims: { serial_number: "TL1000000101", has_cyclist_light: "true" },
    });
    expect(created.secret).toMatch(/^[0-9a-f]{64}$/);
    expect(created).toMatchObject({
      identity: `applications/${created.clientId}`,
      displayName: "TrafficLight101",
      tenantId: emulator.tenantId,
      customClaims: { serial_number: "TL1000000101", has_cyclist_light: "true" },
      roles: [],
    });
    expect(emulator.control.applications().find((a) => a.clientId === created.clientId)?.secretSha256).toBe(
      sha256Hex(created.secret),
    );
    const fetched = await api.getApplication(created.identity);
    expect(fetched).not.toHaveProperty("secret");
    expect(await api.getApplication(created.clientId)).toEqual(fetched);
  });

  it("creates an OWNER when asked", async () => {
    expect((await api.createApplication({ displayName: "admin-2", roles: ["OWNER"] })).roles).toEqual([
      "OWNER",
    ]);
  });

  it("PATCHes: left-out fields kept, a sent claims map replaces the old one", async () => {
    const created = await api.createApplication({ displayName: "a", customClaims: { x: "1", y: "2" } });
    expect(await api.updateApplication(created.identity, { customClaims: { y: "3" } })).toMatchObject({
      displayName: "a",
      customClaims: { y: "3" },
    });
    expect(await api.updateApplication(created.identity, { displayName: "b" })).toMatchObject({
      displayName: "b",
      customClaims: { y: "3" },
    });
    expect((await api.updateApplication(created.identity, { customClaims: {} })).customClaims).toEqual({});
  });

  it("deletes, after which the application is NotFound", async () => {
    const created = await api.createApplication({ displayName: "a" });
    await api.deleteApplication(created.identity);
    const error = await rejectionOf(api.getApplication(created.identity));
    expect(error).toBeInstanceOf(DataTrailsError);
    expect((error as DataTrailsError).code).toBe("NotFound");
  });

  it("regenerates the secret: the new one works, the old one is Unauthenticated", async () => {
    const created = await api.createApplication({ displayName: "a" });
    const regenerated = await api.regenerateSecret(created.identity);
    expect(regenerated.secret).not.toBe(created.secret);
    const token = await api.getToken({ clientId: created.clientId, clientSecret: regenerated.secret });
    expect(token.tokenType).toBe("Bearer");
    const old = await rejectionOf(api.getToken({ clientId: created.clientId, clientSecret: created.secret }));
    expect((old as DataTrailsError).code).toBe("Unauthenticated");
  });

  it("gets a token timed by expires_in", async () => {
    emulator.control.setTokenTtlSeconds(90);
    const created = await api.createApplication({ displayName: "a" });
    const before = Date.now();
    const token = await api.getToken({ clientId: created.clientId, clientSecret: created.secret });
    expect(token.expiresInSeconds).toBe(90);
    expect(token.expiresAt.getTime() - token.obtainedAt.getTime()).toBe(90_000);
    expect(token.obtainedAt.getTime()).toBeGreaterThanOrEqual(before);
  });
});

describe("paging", () => {
  it("walks every page of a display_name filter, sending the token alone after the first", async () => {
    const { dispatcher, requests } = recordingDispatcher();
    const recorded = clientFor(emulator, { dispatcher });
    for (const name of ["pump", "valve", "pump", "pump", "valve", "pump", "pump"]) {
      await api.createApplication({ displayName: name });
    }
    const found = [];
    for await (const app of recorded.listApplications({ displayName: "pump", pageSize: 2 })) found.push(app);
    expect(found.map((a) => a.displayName)).toEqual(["pump", "pump", "pump", "pump", "pump"]);
    const lists = requests.filter((r) => r.startsWith("GET /archivist/iam/v1/applications"));
    expect(lists).toHaveLength(3);
    expect(lists[0]).toBe("GET /archivist/iam/v1/applications?page_size=2&display_name=pump");
    expect(lists.slice(1).every((r) => /\?page_token=[^&]+$/.test(r))).toBe(true);
    await recorded.close();
    await dispatcher.close();
  });

  it("reads one page at a time", async () => {
    for (const name of ["a", "b", "c"]) await api.createApplication({ displayName: name });
    const first = await api.listApplicationsPage({ pageSize: 2 });
    expect(first.applications.map((a) => a.displayName)).toEqual([
      emulator.control.applications()[0]?.displayName,
      "a",
    ]);
    const second = await api.listApplicationsPage({ pageToken: first.nextPageToken });
    expect([second.applications.map((a) => a.displayName), second.nextPageToken]).toEqual([["b", "c"], ""]);
  });
});

describe("the admin token", () => {
  it("is fetched once for many calls, and once for many concurrent calls", async () => {
    await Promise.all(Array.from({ length: 20 }, () => api.listApplicationsPage({})));
    await api.listApplicationsPage({});
    expect(emulator.control.count("token")).toBe(1);
    expect(emulator.control.count("applications.list")).toBe(21);
  });

  it("is refreshed before expires_in runs out", async () => {
    emulator.control.setTokenTtlSeconds(100);
    const clock = { offsetMs: 0 };
    const timed = clientFor(emulator, {
      clock: { ...systemClock, now: () => systemClock.now() + clock.offsetMs },
    });
    await timed.listApplicationsPage({});
    clock.offsetMs = 70_000;
    await timed.listApplicationsPage({});
    expect(emulator.control.count("token")).toBe(1);
    clock.offsetMs = 81_000;
    await timed.listApplicationsPage({});
    expect(emulator.control.count("token")).toBe(2);
    await timed.close();
  });

  it("is dropped after a 401 and the idempotent call sent once more", async () => {
    await api.listApplicationsPage({});
    emulator.control.failNext({ route: "applications.list", status: 401 });
    await api.listApplicationsPage({});
    expect(emulator.control.count("token")).toBe(2);
    expect(emulator.control.count("applications.list")).toBe(3);
  });
});

describe("the client-side rate limit", () => {
  it("lets a burst through and spaces the rest at the configured rate", async () => {
    const { sleep, waits } = recordingSleep();
    const limited = clientFor(emulator, {
      rateLimit: { requestsPerSecond: 2, burst: 2 },
      sleep,
      clock: { ...systemClock, now: () => 0 },
    });
    for (let i = 0; i < 3; i += 1) await limited.listApplicationsPage({});
    // Four requests (the admin token and three lists) at a fixed instant: two pass, two wait.
    expect(waits).toEqual([500, 1_000]);
    await limited.close();
  });
});

describe("access policies through the client", () => {
  const policy = (displayName: string) => ({
    displayName,
    description: "k8s-uid=u-1",
    filters: [["attributes.arc_display_type=Traffic Light"], ["attributes.site=A", "attributes.site=B"]],
    permissions: [
      {
        subjects: [],
        behaviours: ["RecordEvidence"],
        includeAttributes: ["arc_display_name"],
        assetAttributesRead: ["*"],
        assetAttributesWrite: [],
        eventTypesRead: ["*"],
        eventTypesWrite: [],
        userAttributes: [["subject=c-1"]],
      },
    ],
  });

  it("creates, gets, PATCHes (sent lists replace) and deletes, after which it is NotFound", async () => {
    const created = await api.createAccessPolicy(policy("k8s:ns/tl/lights"));
    expect(created.identity).toMatch(/^access_policies\/[0-9a-f-]{36}$/);
    expect(created).toEqual({ identity: created.identity, ...policy("k8s:ns/tl/lights") });
    // The wire shape DataTrails documents: filters and user_attributes as {or: [...]} groups.
    expect(emulator.control.accessPolicies()[0]).toMatchObject({
      filters: [
        { or: ["attributes.arc_display_type=Traffic Light"] },
        { or: ["attributes.site=A", "attributes.site=B"] },
      ],
      access_permissions: [
        { user_attributes: [{ or: ["subject=c-1"] }], event_arc_display_type_read: ["*"] },
      ],
    });
    expect(await api.getAccessPolicy(created.identity)).toEqual(created);

    const updated = await api.updateAccessPolicy(created.identity, {
      filters: [["attributes.arc_display_type=*"]],
    });
    expect(updated).toEqual({ ...created, filters: [["attributes.arc_display_type=*"]] });

    await api.deleteAccessPolicy(created.identity);
    const error = await rejectionOf(api.getAccessPolicy(created.identity));
    expect((error as DataTrailsError).code).toBe("NotFound");
    expect(((await rejectionOf(api.deleteAccessPolicy(created.identity))) as DataTrailsError).code).toBe(
      "NotFound",
    );
  });

  it("lists every policy across pages", async () => {
    for (let i = 0; i < 105; i++) await api.createAccessPolicy(policy(`p-${i}`));
    const names = [];
    for await (const p of api.listAccessPolicies()) names.push(p.displayName);
    expect(names).toHaveLength(105);
    expect(new Set(names).size).toBe(105);
    expect(emulator.control.count("accessPolicies.list")).toBe(2);
  });

  it("refuses a filter DataTrails does not accept with InvalidArgument, never sending an identity it cannot parse", async () => {
    const bad = { ...policy("bad"), filters: [["arc_display_type=Traffic Light"]] };
    expect(((await rejectionOf(api.createAccessPolicy(bad))) as DataTrailsError).code).toBe(
      "InvalidArgument",
    );
    expect(((await rejectionOf(api.getAccessPolicy("access_policies/../x"))) as DataTrailsError).code).toBe(
      "InvalidRequest",
    );
  });
});
