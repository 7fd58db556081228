/**
 * The list routes as DataTrails answers them: an unpaged request cut short with no next page token
 * (the truncateUnpagedLists switch), X-Total-Count on request, the assets list's filters and its 206.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../src/emulator/index.ts";
import { adminToken, createApp, send } from "./support.ts";

const applications = "/archivist/iam/v1/applications";
const policies = "/archivist/iam/v1/access_policies";
const assets = "/archivist/v2/assets";
let emulator: RunningEmulator;
let token: string;

beforeAll(async () => {
  emulator = await startEmulator({ seedAssets: true });
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(async () => {
  emulator.control.reset();
  token = await adminToken(emulator);
});

function policy(displayName: string, description = "") {
  return {
    display_name: displayName,
    description,
    filters: [{ or: ["attributes.arc_display_type=*"] }],
    access_permissions: [{ asset_attributes_read: ["*"], user_attributes: [{ or: ["subject=x"] }] }],
  };
}

/** Makes five of a kind: applications (the seeded admin makes six), policies or assets (four seeded make nine). */
const kinds = {
  applications: {
    path: applications,
    field: "applications",
    total: 6,
    make: async () => {
      for (let i = 0; i < 5; i++) await createApp(emulator, token, { display_name: `app-${i}` });
    },
  },
  policies: {
    path: policies,
    field: "access_policies",
    total: 5,
    make: async () => {
      for (let i = 0; i < 5; i++) await send(emulator, "POST", policies, { token, json: policy(`p-${i}`) });
    },
  },
  assets: {
    path: assets,
    field: "assets",
    total: 9,
    make: () => {
      for (let i = 0; i < 5; i++)
        emulator.control.addAsset({ arc_display_name: `a-${i}`, arc_display_type: "Bollard" });
      return Promise.resolve();
    },
  },
} as const;

type Kind = keyof typeof kinds;
const names = Object.keys(kinds) as Kind[];

async function list(kind: Kind, query = "", headers: Record<string, string> = {}) {
  const response = await fetch(`${emulator.url}${kinds[kind].path}${query}`, {
    headers: { authorization: `Bearer ${token}`, ...headers },
  });
  const body = (await response.json()) as Record<string, unknown>;
  return {
    status: response.status,
    headers: response.headers,
    items: body[kinds[kind].field] as unknown[],
    next: body["next_page_token"] as string,
  };
}

describe("truncateUnpagedLists", () => {
  it.each(names.map((kind) => ({ kind })))(
    "cuts an unpaged $kind list to its first n with no next_page_token",
    async ({ kind }) => {
      await kinds[kind].make();
      emulator.control.setTruncateUnpagedLists(3);
      const cut = await list(kind);
      expect([cut.items.length, cut.next]).toEqual([3, ""]);
      expect(cut.status).toBe(kind === "assets" ? 206 : 200);
    },
  );

  it.each(names.map((kind) => ({ kind })))(
    "leaves a $kind list that sends page_size whole",
    async ({ kind }) => {
      await kinds[kind].make();
      emulator.control.setTruncateUnpagedLists(3);
      let page = await list(kind, "?page_size=4");
      const statuses = [page.status];
      let count = page.items.length;
      while (page.next !== "") {
        page = await list(kind, `?page_token=${encodeURIComponent(page.next)}`);
        statuses.push(page.status);
        count += page.items.length;
      }
      expect(count).toBe(kinds[kind].total);
      expect(statuses.every((s) => s === 200)).toBe(true);
    },
  );

  it("answers 206 on the assets list with Content-Range and X-Total-Count", async () => {
    await kinds.assets.make();
    emulator.control.setTruncateUnpagedLists(3);
    const cut = await list("assets");
    expect([cut.status, cut.headers.get("content-range"), cut.headers.get("x-total-count")]).toEqual([
      206,
      "items 0-3/9",
      "9",
    ]);
  });

  it("is switched on and off over the admin API", async () => {
    await kinds.applications.make();
    const on = await send(emulator, "PATCH", "/_emulator/settings", { json: { truncateUnpagedLists: 2 } });
    expect(on.body).toMatchObject({ truncateUnpagedLists: 2 });
    expect((await list("applications")).items).toHaveLength(2);
    await send(emulator, "PATCH", "/_emulator/settings", { json: { truncateUnpagedLists: null } });
    expect((await list("applications")).items).toHaveLength(6);
  });
});

describe("X-Request-Total-Count", () => {
  it.each(names.map((kind) => ({ kind })))(
    "answers X-Total-Count on the $kind list when asked",
    async ({ kind }) => {
      await kinds[kind].make();
      const counted = await list(kind, "?page_size=2", { "x-request-total-count": "true" });
      expect([counted.items.length, counted.headers.get("x-total-count")]).toEqual([
        2,
        String(kinds[kind].total),
      ]);
      expect((await list(kind, "?page_size=2")).headers.get("x-total-count")).toBeNull();
    },
  );

  it("counts what the filter matches, not the whole tenant", async () => {
    await kinds.applications.make();
    await createApp(emulator, token, { display_name: "app-1" });
    const counted = await list("applications", "?page_size=1&display_name=app-1", {
      "x-request-total-count": "true",
    });
    expect(counted.headers.get("x-total-count")).toBe("2");
  });
});

describe("access-policy list filters", () => {
  it.each([
    { name: "display_name", query: "?display_name=b", seen: ["b"] },
    { name: "description", query: "?description=lights", seen: ["c", "a"] },
    { name: "order_by=DISPLAY_NAME", query: "?order_by=DISPLAY_NAME", seen: ["a", "b", "c"] },
    { name: "order_by=DEFAULT", query: "?order_by=DEFAULT", seen: ["c", "b", "a"] },
  ])("filters or orders by $name", async ({ query, seen }) => {
    for (const [name, description] of [
      ["c", "lights"],
      ["b", ""],
      ["a", "lights"],
    ] as const) {
      await send(emulator, "POST", policies, { token, json: policy(name, description) });
    }
    const found = await list("policies", query);
    expect(found.items.map((p) => (p as { display_name: string }).display_name)).toEqual(seen);
  });

  it("refuses an order_by it does not know with 400", async () => {
    const response = await send(emulator, "GET", `${policies}?order_by=SIZE`, { token });
    expect([response.status, (response.body as { code: number }).code]).toEqual([400, 3]);
  });
});

describe("asset list filters", () => {
  const typesOf = (items: unknown[]) =>
    items.map((a) => (a as { attributes: Record<string, string> }).attributes["arc_display_type"]).sort();

  it.each([
    {
      name: "attributes.arc_display_type",
      query: "?attributes.arc_display_type=Traffic%20Light",
      seen: ["Traffic Light", "Traffic Light"],
    },
    {
      name: "two attributes ANDed",
      query: "?attributes.arc_display_type=Traffic%20Light&attributes.serial_number=TL1000000102",
      seen: ["Traffic Light"],
    },
    { name: "an attribute no asset has", query: "?attributes.colour=red", seen: [] },
    { name: "tracked=NOT_TRACKED", query: "?tracked=NOT_TRACKED", seen: ["Bollard"] },
    {
      name: "tracked=TRACKED",
      query: "?tracked=TRACKED",
      seen: ["Camera", "Shipping Container", "Traffic Light", "Traffic Light"],
    },
    {
      name: "tracked=ANY",
      query: "?tracked=ANY",
      seen: ["Bollard", "Camera", "Shipping Container", "Traffic Light", "Traffic Light"],
    },
    { name: "confirmation_status=PENDING", query: "?confirmation_status=PENDING", seen: ["Bollard"] },
    {
      name: "order_by=SIMPLEHASHV1",
      query: "?order_by=SIMPLEHASHV1&attributes.arc_display_type=Camera",
      seen: ["Camera"],
    },
  ])("filters by $name", async ({ query, seen }) => {
    emulator.control.addAsset({ arc_display_type: "Bollard" }, undefined, {
      tracked: "NOT_TRACKED",
      confirmationStatus: "PENDING",
    });
    expect(typesOf((await list("assets", query)).items)).toEqual(seen);
  });

  it("keeps the filters in the page token", async () => {
    const first = await list("assets", "?page_size=1&attributes.arc_display_type=Traffic%20Light");
    const second = await list("assets", `?page_token=${encodeURIComponent(first.next)}`);
    expect([typesOf([...first.items, ...second.items]), second.next]).toEqual([
      ["Traffic Light", "Traffic Light"],
      "",
    ]);
  });

  it.each([
    { name: "tracked", query: "?tracked=SOMETIMES" },
    { name: "confirmation_status", query: "?confirmation_status=MAYBE" },
    { name: "order_by", query: "?order_by=NEWEST" },
  ])("refuses an unknown $name with 400", async ({ query }) => {
    const response = await send(emulator, "GET", `${assets}${query}`, { token });
    expect([response.status, (response.body as { code: number }).code]).toEqual([400, 3]);
  });

  it("filters an integration's view by the attributes it may read, not the hidden ones", async () => {
    const app = await createApp(emulator, token, { display_name: "reader" });
    await send(emulator, "POST", policies, {
      token,
      json: {
        display_name: "lights, names only",
        filters: [{ or: ["attributes.arc_display_type=Traffic Light"] }],
        access_permissions: [
          {
            include_attributes: ["arc_display_name"],
            user_attributes: [{ or: [`subject=${app.client_id}`] }],
          },
        ],
      },
    });
    const issued = await send(emulator, "POST", "/archivist/iam/v1/appidp/token", {
      form: {
        grant_type: "client_credentials",
        client_id: app.client_id,
        client_secret: app.credentials[0]?.secret ?? "",
      },
    });
    const appToken = (issued.body as { access_token: string }).access_token;
    const byName = await send(
      emulator,
      "GET",
      `${assets}?attributes.arc_display_name=Traffic%20light%20101`,
      { token: appToken },
    );
    const byHidden = await send(emulator, "GET", `${assets}?attributes.serial_number=TL1000000101`, {
      token: appToken,
    });
    expect([
      (byName.body as { assets: unknown[] }).assets.length,
      (byHidden.body as { assets: unknown[] }).assets.length,
    ]).toEqual([1, 0]);
  });
});
