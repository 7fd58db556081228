import { describe, expect, it } from "vitest";
import {
  accessPolicyBody,
  accessPolicyListWire,
  accessPolicyWire,
  applicationListWire,
  applicationWire,
  issuedApplicationWire,
  toAccessPolicy,
  toAccessToken,
  toIssuedApplication,
  tokenResponseWire,
} from "./wire.ts";

const docsExample = {
  identity: "applications/d1fb6c87-faa9-4d56-b2fd-a5b70a9af065",
  display_name: "TrafficLight101",
  client_id: "d1fb6c87-faa9-4d56-b2fd-a5b70a9af065",
  tenant_id: "tenant/53e6bed7-6f4c-4a37-8c4f-cf889f2b1aa6",
  credentials: [
    {
      secret: "a0c09972b6ac912a4d67815fef88093c81a99b49977d35ecf6d162631aa29173",
      valid_from: "2021-09-21T16:43:19Z",
      valid_until: "2022-09-21T16:43:19Z",
    },
  ],
  custom_claims: { serial_number: "TL1000000101", has_cyclist_light: "true" },
};

describe("wire schemas", () => {
  it("reads the docs' example application, with its secret apart", () => {
    const app = toIssuedApplication(issuedApplicationWire.parse(docsExample));
    expect(app).toEqual({
      identity: docsExample.identity,
      clientId: docsExample.client_id,
      displayName: "TrafficLight101",
      tenantId: docsExample.tenant_id,
      customClaims: docsExample.custom_claims,
      roles: [],
      credentials: [{ validFrom: "2021-09-21T16:43:19Z", validUntil: "2022-09-21T16:43:19Z" }],
      secret: docsExample.credentials[0]?.secret,
    });
  });

  it("accepts proto3 JSON that leaves out empty fields", () => {
    expect(applicationWire.parse({ identity: "applications/x", client_id: "x" })).toMatchObject({
      credentials: [],
      custom_claims: {},
      roles: [],
    });
    expect(applicationListWire.parse({})).toEqual({ applications: [], next_page_token: "" });
  });

  it.each([
    [
      "a create answer without a secret",
      issuedApplicationWire,
      { ...docsExample, credentials: [{ ...docsExample.credentials[0], secret: "" }] },
    ],
    ["an identity of another kind", applicationWire, { ...docsExample, identity: "assets/x" }],
    ["a claim value that is not a string", applicationWire, { ...docsExample, custom_claims: { a: 1 } }],
    [
      "a bad timestamp",
      applicationWire,
      { ...docsExample, credentials: [{ valid_from: "x", valid_until: "y" }] },
    ],
    ["a token without expires_in", tokenResponseWire, { access_token: "t", token_type: "Bearer" }],
    ["a token of another type", tokenResponseWire, { access_token: "t", token_type: "MAC", expires_in: 1 }],
    ["a negative lifetime", tokenResponseWire, { access_token: "t", token_type: "Bearer", expires_in: -1 }],
  ])("refuses %s", (_name, schema, value) => {
    expect(schema.safeParse(value).success).toBe(false);
  });

  it.each([
    ["a number", 3600],
    ["an int64 string", "3600"],
  ])("reads expires_in as %s and times the token from the request", (_name, expiresIn) => {
    const token = toAccessToken(
      tokenResponseWire.parse({ access_token: "t", token_type: "bearer", expires_in: expiresIn }),
      1_000,
    );
    expect(token).toEqual({
      accessToken: "t",
      tokenType: "Bearer",
      expiresInSeconds: 3600,
      obtainedAt: new Date(1_000),
      expiresAt: new Date(3_601_000),
    });
  });
});

describe("access-policy wire schemas", () => {
  const emptyPermission = {
    subjects: [],
    behaviours: [],
    includeAttributes: [],
    assetAttributesRead: [],
    assetAttributesWrite: [],
    eventTypesRead: [],
    eventTypesWrite: [],
    userAttributes: [],
  };

  it.each([
    {
      name: "a permission with its empty lists left out",
      wire: { identity: "access_policies/p", access_permissions: [{ asset_attributes_read: ["*"] }] },
      permissions: [{ ...emptyPermission, assetAttributesRead: ["*"] }],
      filters: [],
    },
    {
      name: "a permission with nothing at all",
      wire: {
        identity: "access_policies/p",
        filters: [{ or: ["attributes.a=b"] }],
        access_permissions: [{}],
      },
      permissions: [emptyPermission],
      filters: [["attributes.a=b"]],
    },
    {
      name: "a rewritten behaviours list and a user-attribute group without terms",
      wire: {
        identity: "access_policies/p",
        access_permissions: [{ behaviours: ["RecordEvidence"], user_attributes: [{}] }],
      },
      permissions: [{ ...emptyPermission, behaviours: ["RecordEvidence"], userAttributes: [[]] }],
      filters: [],
    },
    {
      name: "no permissions and no filters",
      wire: { identity: "access_policies/p" },
      permissions: [],
      filters: [],
    },
  ])("reads $name, absent lists as empty", ({ wire, permissions, filters }) => {
    expect(toAccessPolicy(accessPolicyWire.parse(wire))).toEqual({
      identity: "access_policies/p",
      displayName: "",
      description: "",
      filters,
      permissions,
    });
  });

  it("reads a list page that leaves out its empty fields", () => {
    expect(accessPolicyListWire.parse({})).toEqual({ access_policies: [], next_page_token: "" });
  });

  it("sends only the fields an access-policy request has, so a strict server takes them", () => {
    const body = accessPolicyBody({
      displayName: "p",
      description: "d",
      filters: [["attributes.a=b"]],
      permissions: [{ ...emptyPermission, assetAttributesRead: ["*"], userAttributes: [["subject=c"]] }],
    });
    expect(Object.keys(body).sort()).toEqual([
      "access_permissions",
      "description",
      "display_name",
      "filters",
    ]);
    const [permission] = body["access_permissions"] as Record<string, unknown>[];
    expect(Object.keys(permission ?? {}).sort()).toEqual([
      "asset_attributes_read",
      "asset_attributes_write",
      "behaviours",
      "event_arc_display_type_read",
      "event_arc_display_type_write",
      "include_attributes",
      "subjects",
      "user_attributes",
    ]);
    expect(body["filters"]).toEqual([{ or: ["attributes.a=b"] }]);
  });
});
