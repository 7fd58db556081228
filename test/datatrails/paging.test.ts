/**
 * The client pages as DataTrails asks: every list request sends page_size, so a server that cuts
 * unpaged lists short (the emulator's truncateUnpagedLists switch) never hides an item from it, and
 * the display_name filter is left to the server.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  defaultListPageSize,
  type HttpDataTrailsApi,
  type NewAccessPolicy,
} from "../../src/datatrails/index.ts";
import { startEmulator, type RunningEmulator } from "../../src/emulator/index.ts";
import { clientFor, recordingDispatcher } from "./support.ts";

let emulator: RunningEmulator;

beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(() => {
  emulator.control.reset();
});

/** A client whose requests are recorded, closed after the case. */
async function withRecordedClient(run: (api: HttpDataTrailsApi, requests: string[]) => Promise<void>) {
  const { dispatcher, requests } = recordingDispatcher();
  const api = clientFor(emulator, { dispatcher });
  try {
    await run(api, requests);
  } finally {
    await api.close();
    await dispatcher.close();
  }
}

const policy = (displayName: string): NewAccessPolicy => ({
  displayName,
  description: "",
  filters: [["attributes.arc_display_type=Traffic Light"]],
  permissions: [
    {
      subjects: [],
      behaviours: [],
      includeAttributes: [],
      assetAttributesRead: ["*"],
      assetAttributesWrite: [],
      eventTypesRead: [],
      eventTypesWrite: [],
      userAttributes: [["subject=c-1"]],
    },
  ],
});

const n = 3;

const cases = [
  {
    name: "applications",
    make: async (api: HttpDataTrailsApi, name: string) => {
      await api.createApplication({ displayName: name });
    },
    names: async (api: HttpDataTrailsApi, query: { displayName?: string; pageSize?: number } = {}) => {
      const found: string[] = [];
      for await (const app of api.listApplications(query)) found.push(app.displayName);
      return found;
    },
    path: "/archivist/iam/v1/applications",
  },
  {
    name: "access policies",
    make: async (api: HttpDataTrailsApi, name: string) => {
      await api.createAccessPolicy(policy(name));
    },
    names: async (api: HttpDataTrailsApi, query: { displayName?: string; pageSize?: number } = {}) => {
      const found: string[] = [];
      for await (const p of api.listAccessPolicies(query)) found.push(p.displayName);
      return found;
    },
    path: "/archivist/iam/v1/access_policies",
  },
];

describe("every list sends page_size", () => {
  it.each(cases)("finds item n+1 of the $name while the server cuts unpaged lists at n", async (c) => {
    await withRecordedClient(async (api) => {
      for (let i = 0; i <= n; i++) await c.make(api, `item-${i}`);
      emulator.control.setTruncateUnpagedLists(n);
      expect(await c.names(api)).toContain(`item-${n}`);
    });
  });

  it.each(cases)(
    "sends page_size on the first request for the $name and the token alone after",
    async (c) => {
      await withRecordedClient(async (api, requests) => {
        for (let i = 0; i < 3; i++) await c.make(api, `item-${i}`);
        requests.length = 0;
        await c.names(api, { pageSize: 2 });
        const lists = requests.filter((r) => r.startsWith(`GET ${c.path}`));
        expect(lists[0]).toBe(`GET ${c.path}?page_size=2`);
        expect(lists.slice(1).every((r) => /\?page_token=[^&]+$/.test(r))).toBe(true);
        expect(lists.length).toBeGreaterThan(1);
      });
    },
  );

  it.each(cases)("asks for defaultListPageSize when the caller names no page size ($name)", async (c) => {
    await withRecordedClient(async (api, requests) => {
      await c.names(api);
      expect(requests.filter((r) => r.startsWith(`GET ${c.path}`))).toEqual([
        `GET ${c.path}?page_size=${defaultListPageSize}`,
      ]);
    });
  });

  it.each(cases)("filters the $name by display_name on the server", async (c) => {
    await withRecordedClient(async (api, requests) => {
      for (const name of ["pump", "valve", "pump"]) await c.make(api, name);
      requests.length = 0;
      expect(await c.names(api, { displayName: "pump" })).toEqual(["pump", "pump"]);
      expect(requests.filter((r) => r.startsWith(`GET ${c.path}`))).toEqual([
        `GET ${c.path}?page_size=${defaultListPageSize}&display_name=pump`,
      ]);
    });
  });

  it("reads one page of applications with page_size even when none is given", async () => {
    await withRecordedClient(async (api, requests) => {
      for (let i = 0; i <= n; i++) await api.createApplication({ displayName: `item-${i}` });
      emulator.control.setTruncateUnpagedLists(n);
      const page = await api.listApplicationsPage({});
      expect(page.applications.map((a) => a.displayName)).toContain(`item-${n}`);
      expect(requests.at(-1)).toBe(`GET /archivist/iam/v1/applications?page_size=${defaultListPageSize}`);
    });
  });
});
