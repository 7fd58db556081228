/**
 * The emulator's Azure AD: tenants, each with its signing keys, resources (APIs, by application ID
 * URI and app id) and app registrations (client id, a secret kept only as its SHA-256, and the app
 * roles assigned to the client on each resource), and the v1/v2 access tokens it issues for the
 * client-credentials grant. Routes in routes/azure.ts speak the wire protocol over this.
 */
import {
  createHash,
  randomBytes,
  randomUUID,
  timingSafeEqual,
  X509Certificate,
  type KeyObject,
} from "node:crypto";
import { z } from "zod";
import { KeySet } from "./key-set.ts";
import { sha256Hex } from "./state.ts";

const tenantIdSchema = z
  .string()
  .regex(
    /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[a-z0-9-]+(\.[a-z0-9-]+)+)$/i,
    "tenant must be a GUID or a domain name",
  );

/** A federated identity credential: which external tokens the app trusts, as Azure AD keeps it. */
export const federatedCredentialSchema = z.object({
  /** The external issuer (`iss`), e.g. a cluster's ServiceAccount issuer URL. */
  issuer: z.url(),
  /** The external subject (`sub`), e.g. `system:serviceaccount:<namespace>:<name>`. */
  subject: z.string().min(1),
  /** Audiences the external token must name one of (Azure's default: api://AzureADTokenExchange). */
  audiences: z.array(z.string().min(1)).min(1).max(1).default(["api://AzureADTokenExchange"]),
});

/** A federated identity credential (defaults applied). */
export type FederatedCredential = z.output<typeof federatedCredentialSchema>;

/** A certificate credential: the public certificate, its thumbprints and key. */
export interface CertificateCredentialRecord {
  /** SHA-1 thumbprint, hex upper-case, as the portal shows it. */
  thumbprint: string;
  /** SHA-1 and SHA-256 of the DER, base64url: what `x5t` and `x5t#S256` carry. */
  x5t: string;
  x5tS256: string;
  publicKey: KeyObject;
}

/** A public certificate as a certificate credential; throws on a certificate that does not parse. */
export function certificateCredential(pem: string): CertificateCredentialRecord {
  const cert = new X509Certificate(pem);
  const sha1 = createHash("sha1").update(cert.raw).digest();
  return {
    thumbprint: sha1.toString("hex").toUpperCase(),
    x5t: sha1.toString("base64url"),
    x5tS256: createHash("sha256").update(cert.raw).digest("base64url"),
    publicKey: cert.publicKey,
  };
}

function parsesAsCertificate(pem: string): boolean {
  try {
    new X509Certificate(pem);
    return true;
  } catch {
    return false;
  }
}

/** What an app registration is made of; every field has a default. */
export const azureClientInputSchema = z.object({
  /** The tenant (a GUID or a domain name); the default tenant when left out. Created when new. */
  tenant: tenantIdSchema.optional(),
  /** The application (client) id; a random GUID when left out. */
  clientId: z
    .string()
    .regex(/^[\w.-]+$/, "clientId must be letters, digits, '.', '_' or '-'")
    .optional(),
  /** The client secret; a random Azure-like one when left out. */
  clientSecret: z.string().min(1).optional(),
  displayName: z.string().min(1).optional(),
  /** App roles assigned to the client, by resource (application ID URI or app id). */
  roles: z.record(z.string().min(1), z.array(z.string().min(1))).optional(),
  /** Certificate credentials: public certificates (PEM) whose keys may sign client assertions. */
  certificates: z
    .array(z.string().refine(parsesAsCertificate, "certificates: an entry is not a PEM X.509 certificate"))
    .max(20)
    .optional(),
  /** Federated identity credentials: tokens of these issuers and subjects may stand in for a secret. */
  federatedCredentials: z.array(federatedCredentialSchema).max(20).optional(),
});

/** Input of {@link AzureDirectory.addClient}. */
export type AzureClientInput = z.input<typeof azureClientInputSchema>;

/** What a resource (an API the tokens are for) is made of. */
export const azureResourceInputSchema = z.object({
  tenant: tenantIdSchema.optional(),
  /** The application ID URI, e.g. `https://app.datatrails.ai`; v1 tokens carry it as `aud`. */
  uri: z.string().min(1),
  /** The resource's app id (GUID), v2 tokens' `aud`; random when left out. */
  appId: z.string().min(1).optional(),
});

/** Input of {@link AzureDirectory.addResource}. */
export type AzureResourceInput = z.input<typeof azureResourceInputSchema>;

/** A resource (API) in a tenant. */
export interface AzureResource {
  uri: string;
  appId: string;
}

/** An app registration as the emulator keeps it. */
export interface AzureClient {
  tenant: string;
  clientId: string;
  /** The service principal's object id: the tokens' `oid` and `sub`. */
  objectId: string;
  displayName: string;
  secretSha256: string;
  /** App roles by resource URI. */
  roles: Map<string, string[]>;
  certificates: CertificateCredentialRecord[];
  federatedCredentials: FederatedCredential[];
  /** The `jti` of each client assertion accepted, until its `exp` (seconds): a second use is a replay. */
  usedAssertionIds: Map<string, number>;
}

/** An app registration as state inspection shows it: the secret's hash, never the secret. */
export interface AzureClientSnapshot {
  tenant: string;
  clientId: string;
  objectId: string;
  displayName: string;
  secretSha256: string;
  roles: Record<string, string[]>;
  /** SHA-1 thumbprints of the certificate credentials. */
  certificateThumbprints: string[];
  federatedCredentials: FederatedCredential[];
}

/** Settings of the Azure issuer that may change while the emulator runs. */
export interface AzureSettings {
  /** `expires_in` of issued tokens (Azure's usual 3599 by default). */
  tokenTtlSeconds: number;
}

interface Tenant {
  id: string;
  keys: KeySet;
  resources: Map<string, AzureResource>;
  clients: Map<string, AzureClient>;
}

/** The outcome of checking client credentials, for the route to pick Azure's error. */
export type AzureAuthentication =
  { ok: true; client: AzureClient } | { ok: false; reason: "unknownClient" | "wrongSecret" };

/** An Azure-looking client secret: 40 characters with the `8Q~` marker, some needing no escaping. */
export function newAzureSecret(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-~.";
  const pick = (n: number) => [...randomBytes(n)].map((b) => alphabet[b % alphabet.length]).join("");
  return `${pick(3)}8Q~${pick(34)}`;
}

/** Where a tenant's endpoints are, under the emulator's base URL. */
export interface AzureEndpoints {
  tokenUrlV1: string;
  tokenUrlV2: string;
  issuerV1: string;
  issuerV2: string;
  discoveryUrlV1: string;
  discoveryUrlV2: string;
  jwksUriV1: string;
  jwksUriV2: string;
}

/** A tenant's endpoints under `baseUrl`. */
export function azureEndpoints(baseUrl: string, tenant: string): AzureEndpoints {
  const t = `${baseUrl}/${tenant}`;
  return {
    tokenUrlV1: `${t}/oauth2/token`,
    tokenUrlV2: `${t}/oauth2/v2.0/token`,
    issuerV1: `${t}/`,
    issuerV2: `${t}/v2.0`,
    discoveryUrlV1: `${t}/.well-known/openid-configuration`,
    discoveryUrlV2: `${t}/v2.0/.well-known/openid-configuration`,
    jwksUriV1: `${t}/discovery/keys`,
    jwksUriV2: `${t}/discovery/v2.0/keys`,
  };
}

const sameUri = (a: string, b: string) => a.replace(/\/+$/, "") === b.replace(/\/+$/, "");

/** The tenants and everything in them. */
export class AzureDirectory {
  /** The tenant used when a call names none. */
  readonly defaultTenantId: string;
  readonly settings: AzureSettings;
  readonly #initialSettings: Readonly<AzureSettings>;
  readonly #tenants = new Map<string, Tenant>();

  constructor(options: { defaultTenantId?: string | undefined; tokenTtlSeconds?: number | undefined } = {}) {
    this.defaultTenantId = tenantIdSchema.parse(options.defaultTenantId ?? randomUUID()).toLowerCase();
    this.#initialSettings = { tokenTtlSeconds: options.tokenTtlSeconds ?? 3599 };
    this.settings = { ...this.#initialSettings };
    this.addTenant(this.defaultTenantId);
  }

  /** Creates a tenant (with a fresh key set) unless it exists; returns its id. */
  addTenant(id: string): string {
    const key = tenantIdSchema.parse(id).toLowerCase();
    if (!this.#tenants.has(key)) {
      this.#tenants.set(key, { id: key, keys: new KeySet(), resources: new Map(), clients: new Map() });
    }
    return key;
  }

  /** Ids of every tenant. */
  tenantIds(): string[] {
    return [...this.#tenants.keys()];
  }

  /** A tenant's key set, or undefined when there is no such tenant. */
  keys(tenant: string): KeySet | undefined {
    return this.#tenant(tenant)?.keys;
  }

  /** The resource a v1 `resource` or a v2 scope names, by application ID URI or app id. */
  findResource(tenant: string, value: string): AzureResource | undefined {
    const resources = this.#tenant(tenant)?.resources.values() ?? [];
    for (const r of resources) {
      if (sameUri(r.uri, value) || r.appId.toLowerCase() === value.toLowerCase()) return r;
    }
    return undefined;
  }

  /** Registers a resource (or returns the one already under that URI or app id). */
  addResource(input: AzureResourceInput): AzureResource {
    const parsed = azureResourceInputSchema.parse(input);
    const tenant = this.#tenants.get(this.addTenant(parsed.tenant ?? this.defaultTenantId)) as Tenant;
    const existing = this.findResource(tenant.id, parsed.uri);
    if (existing) return { ...existing };
    const resource = { uri: parsed.uri, appId: parsed.appId ?? randomUUID() };
    tenant.resources.set(resource.uri, resource);
    return { ...resource };
  }

  /** Every resource of a tenant. */
  resources(tenant: string): AzureResource[] {
    return [...(this.#tenant(tenant)?.resources.values() ?? [])].map((r) => ({ ...r }));
  }

  /**
   * Creates (or replaces) an app registration, registering its tenant and the resources its roles
   * name when new, and returns it with its secret (the only time the secret leaves).
   */
  addClient(input: AzureClientInput = {}): { client: AzureClient; secret: string } {
    const parsed = azureClientInputSchema.parse(input);
    const tenant = this.#tenants.get(this.addTenant(parsed.tenant ?? this.defaultTenantId)) as Tenant;
    const secret = parsed.clientSecret ?? newAzureSecret();
    const clientId = parsed.clientId ?? randomUUID();
    const roles = new Map<string, string[]>();
    for (const [resource, names] of Object.entries(parsed.roles ?? {})) {
      const r = this.addResource({ tenant: tenant.id, uri: resource });
      roles.set(r.uri, [...new Set([...(roles.get(r.uri) ?? []), ...names])]);
    }
    const client: AzureClient = {
      tenant: tenant.id,
      clientId,
      objectId: randomUUID(),
      displayName: parsed.displayName ?? `emulated-app-${clientId.slice(0, 8)}`,
      secretSha256: sha256Hex(secret),
      roles,
      certificates: (parsed.certificates ?? []).map(certificateCredential),
      federatedCredentials: parsed.federatedCredentials ?? [],
      usedAssertionIds: new Map(),
    };
    tenant.clients.set(clientId.toLowerCase(), client);
    return { client, secret };
  }

  /** Deletes an app registration; false when there was none. */
  removeClient(tenant: string, clientId: string): boolean {
    return this.#tenant(tenant)?.clients.delete(clientId.toLowerCase()) ?? false;
  }

  /** An app registration, by client id (any case). */
  client(tenant: string, clientId: string): AzureClient | undefined {
    return this.#tenant(tenant)?.clients.get(clientId.toLowerCase());
  }

  /** Checks client credentials in a tenant (the secret compared in constant time). */
  authenticate(tenant: string, clientId: string, secret: string): AzureAuthentication {
    const client = this.#tenant(tenant)?.clients.get(clientId.toLowerCase());
    if (!client) return { ok: false, reason: "unknownClient" };
    const same = timingSafeEqual(
      Buffer.from(sha256Hex(secret), "hex"),
      Buffer.from(client.secretSha256, "hex"),
    );
    return same ? { ok: true, client } : { ok: false, reason: "wrongSecret" };
  }

  /** Every app registration, with secret hashes. */
  clients(): AzureClientSnapshot[] {
    return [...this.#tenants.values()].flatMap((t) =>
      [...t.clients.values()].map((c) => ({
        tenant: c.tenant,
        clientId: c.clientId,
        objectId: c.objectId,
        displayName: c.displayName,
        secretSha256: c.secretSha256,
        roles: Object.fromEntries([...c.roles].map(([r, names]) => [r, [...names]])),
        certificateThumbprints: c.certificates.map((cert) => cert.thumbprint),
        federatedCredentials: c.federatedCredentials.map((f) => ({ ...f, audiences: [...f.audiences] })),
      })),
    );
  }

  /**
   * Signs an access token for `client` on `resource`. v1 carries `appid` and `aud` = the resource as
   * requested; v2 carries `azp` and `aud` = the resource's app id. `roles` only when some are assigned.
   */
  issue(input: {
    client: AzureClient;
    resource: AzureResource;
    version: "1.0" | "2.0";
    audience: string;
    issuer: string;
    nowMs: number;
  }): Promise<{ token: string; iat: number; exp: number }> {
    const { client, resource, version, audience, issuer, nowMs } = input;
    const keys = this.keys(client.tenant) as KeySet;
    const iat = Math.floor(nowMs / 1000);
    const exp = iat + this.settings.tokenTtlSeconds;
    const roles = client.roles.get(resource.uri) ?? [];
    const app =
      version === "1.0"
        ? { appid: client.clientId, appidacr: "1", idp: issuer }
        : { azp: client.clientId, azpacr: "1" };
    const claims = {
      aud: audience,
      iss: issuer,
      iat,
      nbf: iat,
      exp,
      ...app,
      oid: client.objectId,
      sub: client.objectId,
      tid: client.tenant,
      uti: randomBytes(16).toString("base64url"),
      ver: version,
      ...(roles.length > 0 ? { roles: [...roles] } : {}),
    };
    return keys.sign(claims).then((token) => ({ token, iat, exp }));
  }

  /** Back to the start: no clients or resources, settings as started; tenants and keys stay. */
  reset(): void {
    for (const t of this.#tenants.values()) {
      t.clients.clear();
      t.resources.clear();
    }
    Object.assign(this.settings, this.#initialSettings);
  }

  #tenant(id: string): Tenant | undefined {
    return this.#tenants.get(id.toLowerCase());
  }
}
