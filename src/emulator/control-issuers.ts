/**
 * The control handles of the other issuers the emulator plays: `control.azure` (tenants, app
 * registrations with their app roles, resources, key rotation, token TTL) and `control.federated`
 * (JWT-bearer clients, key rotation, settings). The admin routes under /_emulator/azure and
 * /_emulator/federated call the same handles.
 */
import {
  azureEndpoints,
  type AzureClientInput,
  type AzureClientSnapshot,
  type AzureEndpoints,
  type AzureResource,
  type AzureResourceInput,
  type AzureSettings,
} from "./azure-directory.ts";
import type { EmulatorContext } from "./context.ts";
import { notFound } from "./errors.ts";
import {
  federatedApiPath,
  federatedDiscoveryPath,
  federatedIssuerPath,
  federatedJwksPath,
  federatedTokenPath,
  type FederatedSettings,
  type JwtBearerClientInput,
  type JwtBearerClientSnapshot,
} from "./federated-directory.ts";

/** A new app registration's credentials (the only copy of the secret) and where to use them. */
export interface AzureClientCredentials {
  tenant: string;
  clientId: string;
  clientSecret: string;
  /** The service principal's object id: the tokens' `oid` and `sub`. */
  objectId: string;
  /** The app id of each resource the roles name, by resource URI (v2 tokens' `aud`). */
  resourceAppIds: Record<string, string>;
  endpoints: AzureEndpoints;
}

/** Drives the emulated Azure AD. */
export interface AzureControl {
  /** The tenant used when a call names none. */
  readonly defaultTenantId: string;
  /**
   * Creates (or replaces) an app registration, e.g.
   * `addClient({ roles: { "https://app.datatrails.ai": ["archivist_administrator"] } })`; the tenant
   * and the resources named are created when new.
   */
  addClient(input?: AzureClientInput): AzureClientCredentials;
  /** Deletes an app registration (in the default tenant unless named); false when there was none. */
  removeClient(clientId: string, tenant?: string): boolean;
  /** Registers a resource (API) with a fixed app id, or returns the existing one. */
  addResource(input: AzureResourceInput): AzureResource;
  /** Creates a tenant (with its own keys) unless it exists; returns its id. */
  addTenant(tenant: string): string;
  /** Every app registration, with secret hashes. */
  clients(): AzureClientSnapshot[];
  /** Every resource of a tenant (the default one unless named). */
  resources(tenant?: string): AzureResource[];
  /** A tenant's endpoints (the default one unless named). */
  endpoints(tenant?: string): AzureEndpoints;
  /** The kid signing a tenant's tokens now. */
  kid(tenant?: string): string;
  /**
   * Rolls a tenant's signing key and returns the new kid; the old key stays in the JWKS unless
   * `keepPrevious` is false (then tokens it signed no longer verify).
   */
  rotateKeys(options?: { tenant?: string | undefined; keepPrevious?: boolean | undefined }): string;
  /** Sets `expires_in` of tokens issued from now on. */
  setTokenTtlSeconds(seconds: number): void;
  /** The current settings. */
  settings(): AzureSettings;
}

/** Where the JWT-bearer issuer's endpoints are. */
export interface FederatedEndpoints {
  tokenUrl: string;
  issuer: string;
  /** The `aud` of the access tokens it issues. */
  audience: string;
  discoveryUrl: string;
  jwksUri: string;
}

/** Drives the emulated JWT-bearer (Federated Directory) issuer. */
export interface FederatedControl {
  /** Registers (or replaces) the client whose assertions carry `issuer`, with its public key. */
  registerJwtBearerClient(input: JwtBearerClientInput): JwtBearerClientSnapshot;
  /** Removes a client; false when there was none. */
  removeJwtBearerClient(issuer: string): boolean;
  /** Every registered client. */
  jwtBearerClients(): JwtBearerClientSnapshot[];
  /** Rolls the signing key (see AzureControl.rotateKeys) and returns the new kid. */
  rotateKeys(options?: { keepPrevious?: boolean | undefined }): string;
  /** The kid signing tokens now. */
  kid(): string;
  /** Changes settings (token TTL, the assertion audience, the longest assertion lifetime). */
  updateSettings(patch: Partial<FederatedSettings>): FederatedSettings;
  /** The current settings. */
  settings(): FederatedSettings;
  /** The issuer's endpoints. */
  endpoints(): FederatedEndpoints;
}

/** Builds `control.azure`. */
export function createAzureControl(ctx: EmulatorContext): AzureControl {
  const azure = ctx.azure;
  const tenantOf = (tenant: string | undefined) => (tenant ?? azure.defaultTenantId).toLowerCase();
  const keysOf = (tenant: string | undefined) => {
    const keys = azure.keys(tenantOf(tenant));
    // Only tenants that exist have keys; making one here would hide a typo.
    if (!keys) throw notFound(`no Azure tenant ${tenantOf(tenant)}`);
    return keys;
  };
  return {
    defaultTenantId: azure.defaultTenantId,
    addClient: (input = {}) => {
      const { client, secret } = azure.addClient(input);
      const resourceAppIds = Object.fromEntries(
        [...client.roles.keys()].map((uri) => [uri, azure.findResource(client.tenant, uri)?.appId ?? ""]),
      );
      return {
        tenant: client.tenant,
        clientId: client.clientId,
        clientSecret: secret,
        objectId: client.objectId,
        resourceAppIds,
        endpoints: azureEndpoints(ctx.baseUrl, client.tenant),
      };
    },
    removeClient: (clientId, tenant) => azure.removeClient(tenantOf(tenant), clientId),
    addResource: (input) => azure.addResource(input),
    addTenant: (tenant) => azure.addTenant(tenant),
    clients: () => azure.clients(),
    resources: (tenant) => azure.resources(tenantOf(tenant)),
    endpoints: (tenant) => azureEndpoints(ctx.baseUrl, tenantOf(tenant)),
    kid: (tenant) => keysOf(tenant).kid,
    rotateKeys: (options = {}) => keysOf(options.tenant).rotate({ keepPrevious: options.keepPrevious }),
    setTokenTtlSeconds: (seconds) => {
      azure.settings.tokenTtlSeconds = seconds;
    },
    settings: () => ({ ...azure.settings }),
  };
}

/** Builds `control.federated`. */
export function createFederatedControl(ctx: EmulatorContext): FederatedControl {
  const federated = ctx.federated;
  return {
    registerJwtBearerClient: (input) => federated.registerClient(input),
    removeJwtBearerClient: (issuer) => federated.removeClient(issuer),
    jwtBearerClients: () => federated.clients(),
    rotateKeys: (options = {}) => federated.keys.rotate(options),
    kid: () => federated.keys.kid,
    updateSettings: (patch) => {
      if (patch.tokenTtlSeconds !== undefined) federated.settings.tokenTtlSeconds = patch.tokenTtlSeconds;
      if (patch.audience !== undefined) federated.settings.audience = patch.audience;
      if (patch.maxAssertionLifetimeSeconds !== undefined) {
        federated.settings.maxAssertionLifetimeSeconds = patch.maxAssertionLifetimeSeconds;
      }
      return { ...federated.settings };
    },
    settings: () => ({ ...federated.settings }),
    endpoints: () => ({
      tokenUrl: `${ctx.baseUrl}${federatedTokenPath}`,
      issuer: `${ctx.baseUrl}${federatedIssuerPath}`,
      audience: `${ctx.baseUrl}${federatedApiPath}`,
      discoveryUrl: `${ctx.baseUrl}${federatedDiscoveryPath}`,
      jwksUri: `${ctx.baseUrl}${federatedJwksPath}`,
    }),
  };
}
