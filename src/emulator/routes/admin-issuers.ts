/**
 * The admin API of the other issuers, under /_emulator/azure and /_emulator/federated: app
 * registrations, resources, JWT-bearer clients, key rotation and settings, as JSON over the same
 * control handles tests use. Like the rest of /_emulator: no token, never counted or faulted.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { azureClientInputSchema, azureResourceInputSchema } from "../azure-directory.ts";
import type { EmulatorControl } from "../control.ts";
import { notFound } from "../errors.ts";
import { jwtBearerClientInputSchema } from "../federated-directory.ts";
import { parseBody } from "../validation.ts";
import { adminPrefix } from "./admin.ts";

const positiveInt = z.number().int().positive();
const azureTenantSchema = z.object({ tenant: azureClientInputSchema.shape.tenant.unwrap() });
const azureRotateSchema = z.object({
  tenant: azureClientInputSchema.shape.tenant,
  keepPrevious: z.boolean().optional(),
});
const azureSettingsSchema = z.object({ tokenTtlSeconds: positiveInt.optional() });
const federatedRotateSchema = z.object({ keepPrevious: z.boolean().optional() });
const federatedSettingsSchema = z.object({
  tokenTtlSeconds: positiveInt.optional(),
  audience: z.string().min(1).optional(),
  maxAssertionLifetimeSeconds: positiveInt.optional(),
});

type Params<K extends string> = FastifyRequest<{ Params: Record<K, string> }>;

/** Registers /_emulator/azure/* and /_emulator/federated/*. */
export function registerIssuerAdminRoutes(app: FastifyInstance, control: EmulatorControl): void {
  const azure = control.azure;
  const federated = control.federated;
  const a = `${adminPrefix}/azure`;
  const f = `${adminPrefix}/federated`;

  app.get(a, () => ({
    defaultTenantId: azure.defaultTenantId,
    endpoints: azure.endpoints(),
    settings: azure.settings(),
    clients: azure.clients(),
    resources: azure.resources(),
  }));
  app.post(`${a}/tenants`, (request) => {
    const tenant = azure.addTenant(parseBody(azureTenantSchema, request.body).tenant);
    return { tenant, kid: azure.kid(tenant), endpoints: azure.endpoints(tenant) };
  });
  app.post(`${a}/clients`, (request) => azure.addClient(parseBody(azureClientInputSchema, request.body)));
  app.get(`${a}/clients`, () => ({ clients: azure.clients() }));
  app.delete(`${a}/tenants/:tenant/clients/:clientId`, (request: Params<"tenant" | "clientId">) => {
    if (!azure.removeClient(request.params.clientId, request.params.tenant)) throw notFound("no such client");
    return {};
  });
  app.post(`${a}/resources`, (request) =>
    azure.addResource(parseBody(azureResourceInputSchema, request.body)),
  );
  app.post(`${a}/keys/rotate`, (request) => {
    const body = parseBody(azureRotateSchema, request.body);
    const tenant = (body.tenant ?? azure.defaultTenantId).toLowerCase();
    return { tenant, kid: azure.rotateKeys({ tenant, keepPrevious: body.keepPrevious }) };
  });
  app.patch(`${a}/settings`, (request) => {
    const body = parseBody(azureSettingsSchema, request.body);
    if (body.tokenTtlSeconds !== undefined) azure.setTokenTtlSeconds(body.tokenTtlSeconds);
    return azure.settings();
  });

  app.get(f, () => ({
    endpoints: federated.endpoints(),
    settings: federated.settings(),
    kid: federated.kid(),
    clients: federated.jwtBearerClients(),
  }));
  app.post(`${f}/clients`, (request) =>
    federated.registerJwtBearerClient(parseBody(jwtBearerClientInputSchema, request.body)),
  );
  app.get(`${f}/clients`, () => ({ clients: federated.jwtBearerClients() }));
  app.delete(`${f}/clients/:issuer`, (request: Params<"issuer">) => {
    if (!federated.removeJwtBearerClient(request.params.issuer)) throw notFound("no such client");
    return {};
  });
  app.post(`${f}/keys/rotate`, (request) => ({
    kid: federated.rotateKeys(parseBody(federatedRotateSchema, request.body)),
  }));
  app.patch(`${f}/settings`, (request) => {
    const body = parseBody(federatedSettingsSchema, request.body);
    return federated.updateSettings({
      ...(body.tokenTtlSeconds !== undefined ? { tokenTtlSeconds: body.tokenTtlSeconds } : {}),
      ...(body.audience !== undefined ? { audience: body.audience } : {}),
      ...(body.maxAssertionLifetimeSeconds !== undefined
        ? { maxAssertionLifetimeSeconds: body.maxAssertionLifetimeSeconds }
        : {}),
    });
  });
}
