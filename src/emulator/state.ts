/**
 * The emulator's tenant: its applications, access policies and assets. Secrets are never stored,
 * only their SHA-256 hashes, which the token endpoint compares against and tests may inspect.
 * Inputs arrive validated by the routes; this module keeps the data consistent.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { plusOneYear, rfc3339Seconds } from "./clock.ts";

/** The role that makes an application an administrator of the tenant. */
export const ownerRole = "OWNER";

/** The roles an application may be given: the enum's zero value, and OWNER. */
export const applicationRoles = ["ROLE_UNSPECIFIED", ownerRole] as const;

/** The tiers a tenant may be on. */
export const tenantTiers = ["FREE", "PREMIUM", "READONLY"] as const;

/** The tier a tenant is on; it is the token's `jit_tier` claim. */
export type TenantTier = (typeof tenantTiers)[number];

/** An application as the emulator keeps it (no secret, only its hash). */
export interface StoredApplication {
  uuid: string;
  displayName: string;
  customClaims: Record<string, string>;
  roles: string[];
  /** Lowercase hex SHA-256 of the current secret. */
  secretSha256: string;
  validFromMs: number;
  validUntilMs: number;
}

/** An application in the DataTrails JSON shape. */
export interface WireApplication {
  identity: string;
  display_name: string;
  client_id: string;
  tenant_id: string;
  credentials: { secret: string; valid_from: string; valid_until: string }[];
  custom_claims: Record<string, string>;
  roles: string[];
}

/** An access policy in the DataTrails JSON shape. */
export interface AccessPolicy {
  identity: string;
  display_name: string;
  description: string;
  filters: { or: string[] }[];
  access_permissions: AccessPermission[];
  tenant: string;
}

/** One permission group of an access policy. */
export interface AccessPermission {
  subjects: string[];
  behaviours: string[];
  include_attributes: string[];
  asset_attributes_read: string[];
  asset_attributes_write: string[];
  event_arc_display_type_read: string[];
  event_arc_display_type_write: string[];
  user_attributes: { or: string[] }[];
}

/** An asset's `tracked` values (the list filter also takes TRACKED_STATUS_UNSPECIFIED and ANY). */
export const assetTrackedStatuses = ["TRACKED", "NOT_TRACKED"] as const;

/** An asset's `confirmation_status` values, as the assets swagger lists them. */
export const assetConfirmationStatuses = [
  "PENDING",
  "CONFIRMED",
  "FAILED",
  "STORED",
  "COMMITTED",
  "UNEQUIVOCAL",
] as const;

/** How an asset stands: tracked or not, and how far it is committed. */
export interface AssetStatus {
  tracked?: (typeof assetTrackedStatuses)[number];
  confirmationStatus?: (typeof assetConfirmationStatuses)[number];
}

/** An asset in the (trimmed) DataTrails v2 JSON shape. */
export interface Asset {
  identity: string;
  behaviours: string[];
  attributes: Record<string, unknown>;
  confirmation_status: string;
  tracked: string;
  owner: string;
  at_time: string;
  storage_integrity: string;
  public: boolean;
  tenant_identity: string;
}

/** An application as state inspection shows it: the secret's hash, never the secret. */
export interface ApplicationSnapshot {
  identity: string;
  clientId: string;
  displayName: string;
  customClaims: Record<string, string>;
  roles: string[];
  secretSha256: string;
  validFrom: string;
  validUntil: string;
}

/** Lowercase hex SHA-256 of a secret. */
export function sha256Hex(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("hex");
}

/** A new secret: 32 random bytes as 64 lowercase hex characters. */
export function newSecret(): string {
  return randomBytes(32).toString("hex");
}

/** The assets `--seed-assets` adds: two traffic lights and two others. */
export const seedAssetAttributes: readonly Record<string, string>[] = [
  { arc_display_name: "Traffic light 101", arc_display_type: "Traffic Light", serial_number: "TL1000000101" },
  { arc_display_name: "Traffic light 102", arc_display_type: "Traffic Light", serial_number: "TL1000000102" },
  { arc_display_name: "Shipping container 1", arc_display_type: "Shipping Container", length: "40'" },
  { arc_display_name: "Camera 7", arc_display_type: "Camera", location: "Junction 7" },
];

/** The tenant's data and the operations on it. */
export class EmulatorState {
  /** `tenant/<uuid>`. */
  readonly tenantId: string;
  tier: TenantTier;
  private readonly applications = new Map<string, StoredApplication>();
  private readonly policies = new Map<string, AccessPolicy>();
  private readonly assets: Asset[] = [];
  private readonly adminSeed: StoredApplication;
  private readonly seedAssets: boolean;
  private readonly now: () => number;

  constructor(options: {
    now: () => number;
    tier: TenantTier;
    seedAssets: boolean;
    admin: { clientId: string; clientSecret: string };
  }) {
    this.now = options.now;
    this.tier = options.tier;
    this.seedAssets = options.seedAssets;
    this.tenantId = `tenant/${randomUUID()}`;
    const from = Math.floor(this.now() / 1000) * 1000;
    this.adminSeed = {
      uuid: options.admin.clientId,
      displayName: "emulator-admin",
      customClaims: {},
      roles: [ownerRole],
      secretSha256: sha256Hex(options.admin.clientSecret),
      validFromMs: from,
      validUntilMs: plusOneYear(from),
    };
    this.reset();
  }

  /** Back to the state at start: only the seeded admin (with its first secret) and seeded assets. */
  reset(): void {
    this.applications.clear();
    this.policies.clear();
    this.assets.length = 0;
    this.applications.set(this.adminSeed.uuid, structuredClone(this.adminSeed));
    if (this.seedAssets) for (const attributes of seedAssetAttributes) this.addAsset(attributes);
  }

  /** Creates an application and returns it with its secret (the only time the secret exists). */
  createApplication(input: { displayName: string; customClaims: Record<string, string>; roles: string[] }): {
    app: StoredApplication;
    secret: string;
  } {
    const secret = newSecret();
    const from = Math.floor(this.now() / 1000) * 1000;
    const app: StoredApplication = {
      uuid: randomUUID(),
      displayName: input.displayName,
      customClaims: { ...input.customClaims },
      roles: [...input.roles],
      secretSha256: sha256Hex(secret),
      validFromMs: from,
      validUntilMs: plusOneYear(from),
    };
    this.applications.set(app.uuid, app);
    return { app, secret };
  }

  /** Every application, oldest first. */
  listApplications(): StoredApplication[] {
    return [...this.applications.values()];
  }

  /** How many applications the tenant has (the seeded admin included). */
  applicationCount(): number {
    return this.applications.size;
  }

  /** One application, or undefined. */
  getApplication(uuid: string): StoredApplication | undefined {
    return this.applications.get(uuid);
  }

  /** Applies a PATCH: fields left out are kept; a sent claims map replaces the old one whole. */
  updateApplication(
    uuid: string,
    patch: { displayName?: string | undefined; customClaims?: Record<string, string> | undefined },
  ): StoredApplication | undefined {
    const app = this.applications.get(uuid);
    if (!app) return undefined;
    if (patch.displayName !== undefined) app.displayName = patch.displayName;
    if (patch.customClaims !== undefined) app.customClaims = { ...patch.customClaims };
    return app;
  }

  /** Deletes an application; false when there was none. */
  deleteApplication(uuid: string): boolean {
    return this.applications.delete(uuid);
  }

  /** Replaces the secret (the old one stops working) and returns the new one, valid one year. */
  regenerateSecret(uuid: string): { app: StoredApplication; secret: string } | undefined {
    const app = this.applications.get(uuid);
    if (!app) return undefined;
    const secret = newSecret();
    const from = Math.floor(this.now() / 1000) * 1000;
    app.secretSha256 = sha256Hex(secret);
    app.validFromMs = from;
    app.validUntilMs = plusOneYear(from);
    return { app, secret };
  }

  /**
   * The application these client credentials belong to, when the secret is its current one and
   * is valid now; undefined otherwise (unknown client, wrong, rotated or expired secret alike).
   */
  authenticate(clientId: string, secret: string): StoredApplication | undefined {
    const app = this.applications.get(clientId);
    const presented = Buffer.from(sha256Hex(secret), "hex");
    const expected = Buffer.from(app?.secretSha256 ?? "0".repeat(64), "hex");
    const same = timingSafeEqual(presented, expected);
    if (!app || !same) return undefined;
    const now = this.now();
    return now >= app.validFromMs && now < app.validUntilMs ? app : undefined;
  }

  /** The DataTrails JSON of an application; the secret is "" unless given (create, regenerate). */
  toWire(app: StoredApplication, secret = ""): WireApplication {
    return {
      identity: `applications/${app.uuid}`,
      display_name: app.displayName,
      client_id: app.uuid,
      tenant_id: this.tenantId,
      credentials: [
        {
          secret,
          valid_from: rfc3339Seconds(app.validFromMs),
          valid_until: rfc3339Seconds(app.validUntilMs),
        },
      ],
      custom_claims: { ...app.customClaims },
      roles: [...app.roles],
    };
  }

  /** Every application for state inspection, with secret hashes. */
  applicationSnapshots(): ApplicationSnapshot[] {
    return this.listApplications().map((app) => ({
      identity: `applications/${app.uuid}`,
      clientId: app.uuid,
      displayName: app.displayName,
      customClaims: { ...app.customClaims },
      roles: [...app.roles],
      secretSha256: app.secretSha256,
      validFrom: rfc3339Seconds(app.validFromMs),
      validUntil: rfc3339Seconds(app.validUntilMs),
    }));
  }

  /** Creates an access policy. */
  createPolicy(input: Omit<AccessPolicy, "identity" | "tenant">): AccessPolicy {
    const policy: AccessPolicy = {
      identity: `access_policies/${randomUUID()}`,
      ...structuredClone(input),
      tenant: this.tenantId,
    };
    this.policies.set(policy.identity, policy);
    return structuredClone(policy);
  }

  /** Every access policy, oldest first. */
  listPolicies(): AccessPolicy[] {
    return [...this.policies.values()].map((p) => structuredClone(p));
  }

  /** How many access policies the tenant has. */
  policyCount(): number {
    return this.policies.size;
  }

  /** One access policy by `access_policies/<uuid>`, or undefined. */
  getPolicy(identity: string): AccessPolicy | undefined {
    const p = this.policies.get(identity);
    return p && structuredClone(p);
  }

  /** Applies a PATCH to an access policy: sent fields replace, others are kept. */
  updatePolicy(
    identity: string,
    patch: { [K in keyof Omit<AccessPolicy, "identity" | "tenant">]?: AccessPolicy[K] | undefined },
  ): AccessPolicy | undefined {
    const p = this.policies.get(identity);
    if (!p) return undefined;
    for (const [k, v] of Object.entries(patch)) {
      if (v !== undefined) (p as unknown as Record<string, unknown>)[k] = structuredClone(v);
    }
    return structuredClone(p);
  }

  /** Deletes an access policy; false when there was none. */
  deletePolicy(identity: string): boolean {
    return this.policies.delete(identity);
  }

  /** Adds an asset with these attributes (tracked and committed unless told otherwise). */
  addAsset(
    attributes: Record<string, unknown>,
    behaviours: string[] = ["RecordEvidence"],
    status: AssetStatus = {},
  ): Asset {
    const asset: Asset = {
      identity: `assets/${randomUUID()}`,
      behaviours: [...behaviours],
      attributes: structuredClone(attributes),
      confirmation_status: status.confirmationStatus ?? "COMMITTED",
      tracked: status.tracked ?? "TRACKED",
      owner: "",
      at_time: rfc3339Seconds(this.now()),
      storage_integrity: "TENANT_STORAGE",
      public: false,
      tenant_identity: this.tenantId,
    };
    this.assets.push(asset);
    return structuredClone(asset);
  }

  /** Every asset, oldest first. */
  listAssets(): Asset[] {
    return this.assets.map((a) => structuredClone(a));
  }
}
