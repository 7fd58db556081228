/**
 * The App Registrations API: create (200, secret shown once), list with paging and a display_name
 * filter, get, PATCH (sent fields replace, a sent custom_claims map replaces the old one whole),
 * DELETE (→ `{}`) and `:regenerate-secret`. Only OWNER callers may use it.
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { authenticateOwner } from "../auth.ts";
import type { EmulatorContext } from "../context.ts";
import { notFound, quotaExceeded } from "../errors.ts";
import { listPage } from "../paging.ts";
import { setTotalCount } from "./list-headers.ts";
import { applicationRoles } from "../state.ts";
import { customClaimsSchema, emptyBodySchema, parseBody } from "../validation.ts";

const base = "/archivist/iam/v1/applications";
const regenerateSuffix = ":regenerate-secret";

const createSchema = z.strictObject({
  display_name: z
    .string({ error: "display_name is required" })
    .refine((s) => s.trim() !== "", "display_name is required"),
  custom_claims: customClaimsSchema.optional(),
  roles: z
    .array(z.enum(applicationRoles, { error: `roles are ${applicationRoles.join(" or ")}` }), {
      error: "roles must be a list",
    })
    .optional(),
});

const patchSchema = z.strictObject({
  display_name: z
    .string({ error: "display_name must be a string" })
    .refine((s) => s.trim() !== "", "display_name must not be empty")
    .optional(),
  custom_claims: customClaimsSchema.optional(),
});

/** Registers the App Registrations routes. */
export function registerApplicationRoutes(app: FastifyInstance, ctx: EmulatorContext): void {
  const { state, settings } = ctx;

  const find = (uuid: string) => {
    const found = state.getApplication(uuid);
    if (!found) throw notFound("application not found");
    return found;
  };

  app.post(base, { config: { route: "applications.create" } }, async (request) => {
    await authenticateOwner(ctx, request);
    const body = parseBody(createSchema, request.body);
    if (settings.applicationQuota !== null && state.applicationCount() >= settings.applicationQuota) {
      throw quotaExceeded("app registrations");
    }
    const { app: created, secret } = state.createApplication({
      displayName: body.display_name,
      customClaims: body.custom_claims ?? {},
      roles: body.roles ?? [],
    });
    return state.toWire(created, secret);
  });

  app.get(base, { config: { route: "applications.list" } }, async (request, reply) => {
    await authenticateOwner(ctx, request);
    const page = listPage(request.query, state.listApplications(), {
      filters: { display_name: { holds: (a, name) => a.displayName === name } },
      truncateUnpaged: settings.truncateUnpagedLists,
    });
    setTotalCount(request, reply, page);
    return { applications: page.items.map((a) => state.toWire(a)), next_page_token: page.nextPageToken };
  });

  app.get<{ Params: { uuid: string } }>(
    `${base}/:uuid`,
    { config: { route: "applications.get" } },
    async (request) => {
      await authenticateOwner(ctx, request);
      return state.toWire(find(request.params.uuid));
    },
  );

  app.patch<{ Params: { uuid: string } }>(
    `${base}/:uuid`,
    { config: { route: "applications.update" } },
    async (request) => {
      await authenticateOwner(ctx, request);
      const stored = find(request.params.uuid);
      const body = parseBody(patchSchema, request.body);
      // A server that never takes the correction: valid, answered 200, and dropped.
      if (settings.ignoreUpdates.applications) return state.toWire(stored);
      const updated = state.updateApplication(request.params.uuid, {
        displayName: body.display_name,
        customClaims: body.custom_claims,
      });
      return state.toWire(updated ?? find(request.params.uuid));
    },
  );

  app.delete<{ Params: { uuid: string } }>(
    `${base}/:uuid`,
    { config: { route: "applications.delete" } },
    async (request) => {
      await authenticateOwner(ctx, request);
      if (!state.deleteApplication(request.params.uuid)) throw notFound("application not found");
      return {};
    },
  );

  // `{uuid}:regenerate-secret` is one path segment; the router hands it over whole.
  app.post<{ Params: { uuid: string } }>(
    `${base}/:uuid`,
    { config: { route: "applications.regenerateSecret" } },
    async (request) => {
      const segment = request.params.uuid;
      if (!segment.endsWith(regenerateSuffix)) throw notFound("Not Found");
      await authenticateOwner(ctx, request);
      parseBody(emptyBodySchema, request.body);
      const regenerated = state.regenerateSecret(segment.slice(0, -regenerateSuffix.length));
      if (!regenerated) throw notFound("application not found");
      return state.toWire(regenerated.app, regenerated.secret);
    },
  );
}
