/**
 * zod schemas of what DataTrails sends, and the mapping from its snake_case JSON to the client's
 * types. proto3 JSON may leave out empty fields, so lists and maps default to empty; int64 values
 * may arrive as strings, so `expires_in` accepts both.
 */
import { z } from "zod";
import { tokenEndpointAnswer } from "../http/token-endpoint.ts";
import type {
  AccessPermission,
  AccessPolicy,
  AccessToken,
  Application,
  ApplicationPage,
  IssuedApplication,
  NewAccessPolicy,
} from "./api.ts";

const timestamp = z.string().refine((s) => !Number.isNaN(Date.parse(s)), "not a timestamp");

/** One credential of an application; `secret` is "" except in create and regenerate answers. */
export const credentialWire = z.object({
  secret: z.string().default(""),
  valid_from: timestamp,
  valid_until: timestamp,
});

/** An application. */
export const applicationWire = z.object({
  identity: z.string().regex(/^applications\/[A-Za-z0-9-]+$/, "not an application identity"),
  display_name: z.string().default(""),
  client_id: z.string().min(1),
  tenant_id: z.string().default(""),
  credentials: z.array(credentialWire).default([]),
  custom_claims: z.record(z.string(), z.string()).default({}),
  roles: z.array(z.string()).default([]),
});

/** An application in a create or regenerate answer: it must carry the new secret. */
export const issuedApplicationWire = applicationWire.refine(
  (app) => app.credentials.some((c) => c.secret !== ""),
  "the answer carries no secret",
);

/** A page of the application list. */
export const applicationListWire = z.object({
  applications: z.array(applicationWire).default([]),
  next_page_token: z.string().default(""),
});

const strings = z.array(z.string()).default([]);
const orGroups = z.array(z.object({ or: strings })).default([]);

/** One permission group of an access policy. */
export const accessPermissionWire = z.object({
  subjects: strings,
  behaviours: strings,
  include_attributes: strings,
  asset_attributes_read: strings,
  asset_attributes_write: strings,
  event_arc_display_type_read: strings,
  event_arc_display_type_write: strings,
  user_attributes: orGroups,
});

/** An access policy. */
export const accessPolicyWire = z.object({
  identity: z.string().regex(/^access_policies\/[A-Za-z0-9-]+$/, "not an access policy identity"),
  display_name: z.string().default(""),
  description: z.string().default(""),
  filters: orGroups,
  access_permissions: z.array(accessPermissionWire).default([]),
});

/** A page of the access-policy list. */
export const accessPolicyListWire = z.object({
  access_policies: z.array(accessPolicyWire).default([]),
  next_page_token: z.string().default(""),
});

/** The token endpoint's answer: the one schema every token endpoint client reads it with. */
export const tokenResponseWire = tokenEndpointAnswer;

/** An empty object (DELETE answers `{}`); extra fields are ignored. */
export const emptyWire = z.object({});

/** The grpc-gateway error body. */
export const errorBodyWire = z.object({
  code: z.number().int(),
  message: z.string().default(""),
  details: z.array(z.unknown()).optional(),
});

/** An application as the client hands it out (no secret). */
export function toApplication(wire: z.output<typeof applicationWire>): Application {
  return {
    identity: wire.identity,
    clientId: wire.client_id,
    displayName: wire.display_name,
    tenantId: wire.tenant_id,
    customClaims: { ...wire.custom_claims },
    roles: [...wire.roles],
    credentials: wire.credentials.map((c) => ({ validFrom: c.valid_from, validUntil: c.valid_until })),
  };
}

/** An application with the secret a create or regenerate answer carried. */
export function toIssuedApplication(wire: z.output<typeof applicationWire>): IssuedApplication {
  const secret = wire.credentials.find((c) => c.secret !== "")?.secret ?? "";
  return { ...toApplication(wire), secret };
}

/** A page of applications. */
export function toApplicationPage(wire: z.output<typeof applicationListWire>): ApplicationPage {
  return { applications: wire.applications.map(toApplication), nextPageToken: wire.next_page_token };
}

/** A token, timed from when its request was sent (so expiry is never later than the server's). */
export function toAccessToken(wire: z.output<typeof tokenResponseWire>, requestedAtMs: number): AccessToken {
  return {
    accessToken: wire.access_token,
    tokenType: "Bearer",
    expiresInSeconds: wire.expires_in,
    obtainedAt: new Date(requestedAtMs),
    expiresAt: new Date(requestedAtMs + wire.expires_in * 1000),
  };
}

function toAccessPermission(wire: z.output<typeof accessPermissionWire>): AccessPermission {
  return {
    subjects: [...wire.subjects],
    behaviours: [...wire.behaviours],
    includeAttributes: [...wire.include_attributes],
    assetAttributesRead: [...wire.asset_attributes_read],
    assetAttributesWrite: [...wire.asset_attributes_write],
    eventTypesRead: [...wire.event_arc_display_type_read],
    eventTypesWrite: [...wire.event_arc_display_type_write],
    userAttributes: wire.user_attributes.map((g) => [...g.or]),
  };
}

/** An access policy as the client hands it out. */
export function toAccessPolicy(wire: z.output<typeof accessPolicyWire>): AccessPolicy {
  return {
    identity: wire.identity,
    displayName: wire.display_name,
    description: wire.description,
    filters: wire.filters.map((g) => [...g.or]),
    permissions: wire.access_permissions.map(toAccessPermission),
  };
}

/** The JSON body of an access-policy create or PATCH (only the fields given). */
export function accessPolicyBody(policy: Partial<NewAccessPolicy>): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  if (policy.displayName !== undefined) json["display_name"] = policy.displayName;
  if (policy.description !== undefined) json["description"] = policy.description;
  if (policy.filters !== undefined) json["filters"] = policy.filters.map((or) => ({ or }));
  if (policy.permissions !== undefined)
    json["access_permissions"] = policy.permissions.map((p) => ({
      subjects: p.subjects,
      behaviours: p.behaviours,
      include_attributes: p.includeAttributes,
      asset_attributes_read: p.assetAttributesRead,
      asset_attributes_write: p.assetAttributesWrite,
      event_arc_display_type_read: p.eventTypesRead,
      event_arc_display_type_write: p.eventTypesWrite,
      user_attributes: p.userAttributes.map((or) => ({ or })),
    }));
  return json;
}
