/**
 * The emulator's own admin API under /_emulator: fault switches, settings, clock, state inspection
 * and reset, as JSON. It is not part of the DataTrails surface: it needs no token, is never
 * counted, faulted or rate limited. Bind the emulator to localhost (the default) to keep it private.
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { EmulatorControl } from "../control.ts";
import { routeNames } from "../route-names.ts";
import { assetConfirmationStatuses, assetTrackedStatuses, tenantTiers } from "../state.ts";
import { parseBody } from "../validation.ts";

/** The prefix of every admin route. */
export const adminPrefix = "/_emulator";

const route = z.enum(routeNames).optional();
const count = z.number().int().positive().optional();
const nonNegativeInt = z.number().int().nonnegative();

const latencySchema = z.strictObject({ ms: nonNegativeInt, route });
const failSchema = z.strictObject({
  route,
  status: z.number().int().min(400).max(599),
  count,
  message: z.string().optional(),
  retryAfterSeconds: z.number().int().positive().optional(),
});
const countSchema = z.strictObject({ route, count });
const dropSchema = z.strictObject({ route, count, afterHandling: z.boolean().optional() });
const settingsSchema = z.strictObject({
  tokenTtlSeconds: z.number().int().positive().optional(),
  applicationQuota: nonNegativeInt.nullable().optional(),
  accessPolicyQuota: nonNegativeInt.nullable().optional(),
  rateLimit: z
    .object({ limit: z.number().int().positive(), windowSeconds: z.number().positive() })
    .nullable()
    .optional(),
  tier: z.enum(tenantTiers).optional(),
  truncateUnpagedLists: z.number().int().positive().nullable().optional(),
  normalisePolicies: z.boolean().optional(),
  ignoreUpdates: z
    .strictObject({ accessPolicies: z.boolean().optional(), applications: z.boolean().optional() })
    .optional(),
});
const clockSchema = z.strictObject({ offsetMs: z.number().int() });
const advanceSchema = z.strictObject({ ms: z.number().int() });
const assetSchema = z.strictObject({
  attributes: z.record(z.string(), z.unknown()),
  behaviours: z.array(z.string()).optional(),
  tracked: z.enum(assetTrackedStatuses).optional(),
  confirmation_status: z.enum(assetConfirmationStatuses).optional(),
});

/** Registers the admin routes over the control handle. */
export function registerAdminRoutes(app: FastifyInstance, control: EmulatorControl): void {
  const p = adminPrefix;
  app.get(`${p}/state`, () => ({
    ...control.describe(),
    applications: control.applications(),
    accessPolicies: control.accessPolicies(),
    assets: control.assets(),
  }));
  app.get(`${p}/applications`, () => ({ applications: control.applications() }));
  app.get(`${p}/counters`, () => control.counters());
  app.delete(`${p}/counters`, () => {
    control.resetCounters();
    return {};
  });
  app.post(`${p}/reset`, () => {
    control.reset();
    return {};
  });
  app.put(`${p}/latency`, (request) => {
    const body = parseBody(latencySchema, request.body);
    control.setLatency(body.ms, body.route);
    return {};
  });
  app.post(`${p}/faults/fail`, (request) => {
    control.failNext(parseBody(failSchema, request.body));
    return {};
  });
  app.post(`${p}/faults/drop`, (request) => {
    control.dropNext(parseBody(dropSchema, request.body));
    return {};
  });
  app.post(`${p}/faults/malformed`, (request) => {
    control.malformNext(parseBody(countSchema, request.body));
    return {};
  });
  app.delete(`${p}/faults`, () => {
    control.clearFaults();
    return {};
  });
  app.get(`${p}/settings`, () => control.settings());
  app.patch(`${p}/settings`, (request) => {
    const body = parseBody(settingsSchema, request.body);
    if (body.tokenTtlSeconds !== undefined) control.setTokenTtlSeconds(body.tokenTtlSeconds);
    if (body.applicationQuota !== undefined) control.setApplicationQuota(body.applicationQuota);
    if (body.accessPolicyQuota !== undefined) control.setAccessPolicyQuota(body.accessPolicyQuota);
    if (body.rateLimit !== undefined) control.setRateLimit(body.rateLimit);
    if (body.tier !== undefined) control.setTier(body.tier);
    if (body.truncateUnpagedLists !== undefined) control.setTruncateUnpagedLists(body.truncateUnpagedLists);
    if (body.normalisePolicies !== undefined) control.setNormalisePolicies(body.normalisePolicies);
    if (body.ignoreUpdates !== undefined) {
      const { accessPolicies, applications } = body.ignoreUpdates;
      control.setIgnoreUpdates({
        ...(accessPolicies === undefined ? {} : { accessPolicies }),
        ...(applications === undefined ? {} : { applications }),
      });
    }
    return control.settings();
  });
  app.put(`${p}/clock`, (request) => {
    control.setClockOffsetMs(parseBody(clockSchema, request.body).offsetMs);
    return { now: new Date(control.now()).toISOString() };
  });
  app.post(`${p}/clock/advance`, (request) => {
    control.advanceClock(parseBody(advanceSchema, request.body).ms);
    return { now: new Date(control.now()).toISOString() };
  });
  app.post(`${p}/assets`, (request) => {
    const body = parseBody(assetSchema, request.body);
    return control.addAsset(body.attributes, body.behaviours, {
      ...(body.tracked ? { tracked: body.tracked } : {}),
      ...(body.confirmation_status ? { confirmationStatus: body.confirmation_status } : {}),
    });
  });
}
