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
import { pageByDisplayName } from "../paging.ts";
import { parseBody } from "../validation.ts";

const base = "/archivist/iam/v1/access_policies";

const strings = z.array(z.string()).default([]);

function orGroups(check: (term: string) => string | undefined) {
  return z.array(
    z.strictObject({ or: z.array(z.string()) }).superRefine((group, ctx) => {
      for (const term of group.or) {
        const problem = check(term);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      }
    }),
  );
}

const permissionSchema = z.strictObject({
  subjects: strings,
  behaviours: strings,
  include_attributes: strings,
  asset_attributes_read: strings,
  asset_attributes_write: strings,
  event_arc_display_type_read: strings,
  event_arc_display_type_write: strings,
  user_attributes: orGroups(userAttributeProblem).default([]),
});

const fields = {
  display_name: z
    .string({ error: "display_name is required" })
    .refine((s) => s.trim() !== "", "display_name is required"),
  description: z.string(),
  filters: orGroups(filterTermProblem),
  access_permissions: z.array(permissionSchema),
};

const createSchema = z.strictObject({
  ...fields,
  description: fields.description.default(""),
  filters: fields.filters.default([]),
  access_permissions: fields.access_permissions.default([]),
});

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

  app.get(base, { config: { route: "accessPolicies.list" } }, async (request) => {
    await authenticateOwner(ctx, request);
    const { items, nextPageToken } = pageByDisplayName(
      request.query,
      state.listPolicies(),
      (p) => p.display_name,
    );
    return { access_policies: items, next_page_token: nextPageToken };
  });

  app.post(base, { config: { route: "accessPolicies.create" } }, async (request) => {
    await authenticateOwner(ctx, request);
    const body = parseBody(createSchema, request.body);
    if (settings.accessPolicyQuota !== null && state.policyCount() >= settings.accessPolicyQuota) {
      throw quotaExceeded("access policies");
    }
    return state.createPolicy(body);
  });

  app.get<{ Params: { uuid: string } }>(
    `${base}/:uuid`,
    { config: { route: "accessPolicies.get" } },
    async (request) => {
      await authenticateOwner(ctx, request);
      const policy = state.getPolicy(identityOf(request.params.uuid));
      if (!policy) throw notFound("access policy not found");
      return policy;
    },
  );

  app.patch<{ Params: { uuid: string } }>(
    `${base}/:uuid`,
    { config: { route: "accessPolicies.update" } },
    async (request) => {
      await authenticateOwner(ctx, request);
      if (!state.getPolicy(identityOf(request.params.uuid))) throw notFound("access policy not found");
      const body = parseBody(patchSchema, request.body);
      const updated = state.updatePolicy(identityOf(request.params.uuid), body);
      if (!updated) throw notFound("access policy not found");
      return updated;
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
