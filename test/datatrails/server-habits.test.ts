/**
 * The client against a server that normalises what it stores and one that never takes a
 * correction: it reads normalised policies (absent lists as empty) without a MalformedResponse, and
 * hands back what the server answered, so the caller can see the write did not stick.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { HttpDataTrailsApi, NewAccessPolicy } from "../../src/datatrails/index.ts";
import { normalisedBehaviours, startEmulator, type RunningEmulator } from "../../src/emulator/index.ts";
import { clientFor } from "./support.ts";

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

const wanted: NewAccessPolicy = {
  displayName: "k8s:ns/tl/lights",
  description: "k8s-uid=u-1",
  filters: [["attributes.site=B", "attributes.site=A"], ["attributes.arc_display_type=Traffic Light"]],
  permissions: [
    {
      subjects: [],
      behaviours: ["Attachments"],
      includeAttributes: [],
      assetAttributesRead: ["serial_number", "arc_display_name"],
      assetAttributesWrite: [],
      eventTypesRead: [],
      eventTypesWrite: [],
      userAttributes: [["subject=c-1"]],
    },
  ],
};

const asNormalised = {
  displayName: wanted.displayName,
  description: wanted.description,
  filters: [["attributes.arc_display_type=Traffic Light"], ["attributes.site=A", "attributes.site=B"]],
  permissions: [
    {
      subjects: [],
      behaviours: [...normalisedBehaviours],
      includeAttributes: [],
      assetAttributesRead: ["arc_display_name", "serial_number"],
      assetAttributesWrite: [],
      eventTypesRead: [],
      eventTypesWrite: [],
      userAttributes: [["subject=c-1"]],
    },
  ],
};

describe("a normalising server", () => {
  it.each([
    { name: "create", read: () => api.createAccessPolicy(wanted) },
    { name: "get", read: async () => api.getAccessPolicy((await api.createAccessPolicy(wanted)).identity) },
    {
      name: "list",
      read: async () => {
        await api.createAccessPolicy(wanted);
        for await (const p of api.listAccessPolicies({ displayName: wanted.displayName })) return p;
        throw new Error("not listed");
      },
    },
    {
      name: "update",
      read: async () => api.updateAccessPolicy((await api.createAccessPolicy(wanted)).identity, wanted),
    },
  ])("reads what $name answers, its left-out lists as empty", async ({ read }) => {
    emulator.control.setNormalisePolicies(true);
    const { identity, ...rest } = await read();
    expect(identity).toMatch(/^access_policies\//);
    expect(rest).toEqual(asNormalised);
  });
});

describe("a server that never takes a correction", () => {
  it("hands back the unchanged policy a PATCH answered", async () => {
    const created = await api.createAccessPolicy(wanted);
    emulator.control.setIgnoreUpdates({ accessPolicies: true });
    const answered = await api.updateAccessPolicy(created.identity, { filters: [["attributes.x=*"]] });
    expect(answered).toEqual(created);
  });

  it("hands back the unchanged application a PATCH answered", async () => {
    const created = await api.createApplication({ displayName: "a", customClaims: { serial_number: "1" } });
    emulator.control.setIgnoreUpdates({ applications: true });
    const answered = await api.updateApplication(created.identity, {
      displayName: "b",
      customClaims: { serial_number: "2" },
    });
    expect([answered.displayName, answered.customClaims]).toEqual(["a", { serial_number: "1" }]);
  });
});
