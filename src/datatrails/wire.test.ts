import { describe, expect, it } from "vitest";
import {
  applicationListWire,
  applicationWire,
  issuedApplicationWire,
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
