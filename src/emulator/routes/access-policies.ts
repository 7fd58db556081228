/**
 * The IAM access-policies API (ABAC): list, create, get, PATCH and DELETE. OWNER callers only.
 * Filters must read `attributes.<name>=<value>` or `attributes.<name>!=<value>` (`*` for any value);
 * user attributes `subject=`, `email=`, `jwt_<claim>=` or `group:<name>`; anything else is a 400.
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { filterTermProblem, userAttributeProblem } from "../abac.ts";
import { authenticateOwner } from "../auth.ts";
import type { EmulatorContext } from "../context.ts";
import { notFound, quotaExceeded } from "../errors.ts";
import { listPage } from "../paging.ts";
import { compareText, setTotalCount } from "./list-headers.ts";
import { normalisePolicy } from "../normalise.ts";
import type { AccessPolicy } from "../state.ts";
import { parseBody } from "../validation.ts";

const base = "/archivist/iam/v1/access_policies";

/** The longest display name and description DataTrails takes. */
export const maxDisplayNameLength = 128;
export const maxDescriptionLength = 4096;

const strings = z.array(z.string()).default([]);

/**
 * A required list. proto3 JSON cannot tell an empty list from an absent one, so "required" means
 * present and non-empty, and the message names the field either way.
 */
function requiredList<T extends z.ZodType>(name: string, item: T) {
  return z
    .array(item, {
      error: (issue) => (issue.input === undefined ? `${name} is required` : `${name} must be a list`),
    })
    .min(1, `${name} is required`);
}

function orGroup(check: (term: string) => string | undefined) {
  return z.strictObject({ or: z.array(z.string()) }).superRefine((group, ctx) => {
    for (const term of group.or) {
      const problem = check(term);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    }
  });
}

/** The lists of which a permission must set at least one, or it grants nothing. */
const grantingLists = [
  "asset_attributes_read",
  "asset_attributes_write",
  "event_arc_display_type_read",
  "event_arc_display_type_write",
  "include_attributes",
] as const;

const permissionSchema = z
  .strictObject({
    subjects: strings,
    behaviours: strings,
    include_attributes: strings,
    asset_attributes_read: strings,
    asset_attributes_write: strings,
    event_arc_display_type_read: strings,
    event_arc_display_type_write: strings,
    user_attributes: z.array(orGroup(userAttributeProblem)).default([]),
  })
  .refine(
    (p) => grantingLists.some((name) => p[name].length > 0),
    `a permission must set at least one of ${grantingLists.join(", ")}`,
  );

const fields = {
  display_name: z
    .string({ error: "display_name is required" })
    .refine((s) => s.trim() !== "", "display_name is required")
    .refine(
      (s) => [...s].length <= maxDisplayNameLength,
      `display_name must be at most ${maxDisplayNameLength} characters`,
    ),
  description: z
    .string({ error: "description must be a string" })
    .refine(
      (s) => [...s].length <= maxDescriptionLength,
      `description must be at most ${maxDescriptionLength} characters`,
    ),
  filters: requiredList("filters", orGroup(filterTermProblem)),
  access_permissions: requiredList("access_permissions", permissionSchema),
};

// Create needs display_name, filters and access_permissions; a PATCH sends what it changes, but a
// list it sends must still be a valid one (an empty one would leave a policy create refuses).
const createSchema = z.strictObject({ ...fields, description: fields.description.default("") });

const patchSchema = z.strictObject({
  display_name: fields.display_name.optional(),
  description: fields.description.optional(),
  filters: fields.filters.optional(),
  access_permissions: fields.access_permissions.optional(),
});

/** Registers the access-policies routes. */
export function registerAccessPolicyRoutes(app: FastifyInstance, ctx: EmulatorContext): void {
  const { state, settings } = ctx;
  const identityOf = (uuid: string) => `access_policies/${uuid}`;
  // What the routes answer: the policy as stored, or as a normalising server would store it.
  const present = (policy: AccessPolicy) => (settings.normalisePolicies ? normalisePolicy(policy) : policy);

  app.get(base, { config: { route: "accessPolicies.list" } }, async (request, reply) => {
    await authenticateOwner(ctx, request);
    const page = listPage(request.query, state.listPolicies(), {
      filters: {
        display_name: { holds: (p, name) => p.display_name === name },
        description: { holds: (p, text) => p.description === text },
      },
      orders: { DEFAULT: null, DISPLAY_NAME: (a, b) => compareText(a.display_name, b.display_name) },
      truncateUnpaged: settings.truncateUnpagedLists,
    });
    setTotalCount(request, reply, page);
    return { access_policies: page.items.map(present), next_page_token: page.nextPageToken };
  });

  app.post(base, { config: { route: "accessPolicies.create" } }, async (request) => {
    await authenticateOwner(ctx, request);
    const body = parseBody(createSchema, request.body);
    if (settings.accessPolicyQuota !== null && state.policyCount() >= settings.accessPolicyQuota) {
      throw quotaExceeded("access policies");
    }
    return present(state.createPolicy(body));
  });

  app.get<{ Params: { uuid: string } }>(
    `${base}/:uuid`,
    { config: { route: "accessPolicies.get" } },
    async (request) => {
      await authenticateOwner(ctx, request);
      const policy = state.getPolicy(identityOf(request.params.uuid));
      if (!policy) throw notFound("access policy not found");
      return present(policy);
    },
  );

  app.patch<{ Params: { uuid: string } }>(
    `${base}/:uuid`,
    { config: { route: "accessPolicies.update" } },
    async (request) => {
      await authenticateOwner(ctx, request);
      const stored = state.getPolicy(identityOf(request.params.uuid));
      if (!stored) throw notFound("access policy not found");
      const body = parseBody(patchSchema, request.body);
      // A server that never takes the correction: valid, answered 200, and dropped.
      if (settings.ignoreUpdates.accessPolicies) return present(stored);
      const updated = state.updatePolicy(identityOf(request.params.uuid), body);
      if (!updated) throw notFound("access policy not found");
      return present(updated);
    },
  );

  app.delete<{ Params: { uuid: string } }>(
    `${base}/:uuid`,
    { config: { route: "accessPolicies.delete" } },
    async (request) => {
      await authenticateOwner(ctx, request);
      if (!state.deletePolicy(identityOf(request.params.uuid))) throw notFound("access policy not found");
      return {};
    },
  );
}
