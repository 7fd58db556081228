/**
 * The DataTrails port: what the operator asks of DataTrails (applications, their secrets, access
 * policies, tokens), in its own types. Controllers depend on this interface; HttpDataTrailsApi
 * (http-api.ts) is the undici implementation. To add an endpoint, add a method here, its wire
 * schema in wire.ts and a few lines in http-api.ts: paging, auth, the rate limit, retries and
 * validation are shared.
 */

/** An admin connection to DataTrails as a controller resolved it: where, as whom, how fast. */
export interface ResolvedConnection {
  url: string;
  clientId: string;
  clientSecret: string;
  requestsPerSecond: number;
}

/** An OAuth2 client-credentials pair (an integration's client_id and secret). */
export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

/** When an application's secret is valid. */
export interface ApplicationCredential {
  /** RFC 3339. */
  validFrom: string;
  /** RFC 3339; one year after validFrom. */
  validUntil: string;
}

/** A DataTrails application (App Registration, "Custom Integration"), without its secret. */
export interface Application {
  /** `applications/<uuid>`. */
  identity: string;
  /** The OAuth2 client id; equals the identity's UUID. */
  clientId: string;
  displayName: string;
  /** `tenant/<uuid>`. */
  tenantId: string;
  /** Claims added to every token of the application. */
  customClaims: Record<string, string>;
  /** `["OWNER"]` for an administrator, else empty. */
  roles: string[];
  credentials: ApplicationCredential[];
}

/** An application as create and regenerate-secret return it: with the only copy of its secret. */
export interface IssuedApplication extends Application {
  /** The client secret (64 lowercase hex). Shown once: store it before doing anything else. */
  secret: string;
}

/** What to create. */
export interface NewApplication {
  displayName: string;
  customClaims?: Record<string, string>;
  /** `["OWNER"]` makes an administrator; default none. */
  roles?: string[];
}

/** A PATCH: fields left out are kept; a `customClaims` map that is sent replaces the old one whole. */
export interface ApplicationUpdate {
  displayName?: string;
  customClaims?: Record<string, string>;
}

/**
 * The page size the client asks for when the caller names none. A page size is always sent: an
 * unpaged DataTrails list may stop "at the internal limit" with no next_page_token.
 */
export const defaultListPageSize = 100;

/** A list query. */
export interface ApplicationQuery {
  /** Only applications with exactly this display name (filtered by the server). */
  displayName?: string;
  /** Entries per page (default defaultListPageSize; the server caps it). */
  pageSize?: number;
}

/** An access-policy list query. */
export interface AccessPolicyQuery {
  /** Only policies with exactly this display name (filtered by the server). */
  displayName?: string;
  /** Entries per page (default defaultListPageSize; the server caps it). */
  pageSize?: number;
}

/** One page of applications; `nextPageToken` is "" on the last page. */
export interface ApplicationPage {
  applications: Application[];
  nextPageToken: string;
}

/** An access token from the token endpoint. */
export interface AccessToken {
  /** The JWT. A credential: never log it. */
  accessToken: string;
  tokenType: "Bearer";
  /** `expires_in` as the server sent it. */
  expiresInSeconds: number;
  /** When the request for it was sent. */
  obtainedAt: Date;
  /** obtainedAt + expiresInSeconds: never later than the server's own expiry. */
  expiresAt: Date;
}

/** One permission group of an access policy: what its subjects may do on the assets it selects. */
export interface AccessPermission {
  subjects: string[];
  /** e.g. `RecordEvidence`, `Attachments`. */
  behaviours: string[];
  includeAttributes: string[];
  assetAttributesRead: string[];
  assetAttributesWrite: string[];
  /** Event types (`arc_display_type`) the subjects may read. */
  eventTypesRead: string[];
  eventTypesWrite: string[];
  /** Who is granted: outer list AND, inner list OR, over `subject=<client_id>`, `email=`, `jwt_<claim>=`. */
  userAttributes: string[][];
}

/** An access policy (ABAC): which assets (filters) and who may do what on them (permissions). */
export interface AccessPolicy {
  /** `access_policies/<uuid>`. */
  identity: string;
  displayName: string;
  description: string;
  /** Asset filters: outer list AND, inner list OR, over `attributes.<name>=<value>`. */
  filters: string[][];
  permissions: AccessPermission[];
}

/** What to create. */
export type NewAccessPolicy = Omit<AccessPolicy, "identity">;

/** A PATCH of an access policy: fields left out are kept, a sent list replaces the old one. */
export type AccessPolicyUpdate = Partial<NewAccessPolicy>;

/** Per-call options. */
export interface CallOptions {
  /** Aborts the call (and any wait for a retry or the rate limit) with an `Aborted` error. */
  signal?: AbortSignal;
}

/**
 * The DataTrails identity API. Every method throws DataTrailsError. `identity` arguments accept
 * `applications/<uuid>` or the bare UUID.
 */
export interface DataTrailsApi {
  /** Creates an application (never retried: a lost answer is recovered by listing by display name). */
  createApplication(app: NewApplication, options?: CallOptions): Promise<IssuedApplication>;
  /** One page of applications; pass the previous page's token alone to continue. */
  listApplicationsPage(
    query: ApplicationQuery & { pageToken?: string },
    options?: CallOptions,
  ): Promise<ApplicationPage>;
  /** Every application matching the query, walking all pages. */
  listApplications(query?: ApplicationQuery, options?: CallOptions): AsyncIterable<Application>;
  /** One application; NotFound when it does not exist. */
  getApplication(identity: string, options?: CallOptions): Promise<Application>;
  /** PATCHes an application (a sent customClaims map replaces the old one whole). */
  updateApplication(identity: string, update: ApplicationUpdate, options?: CallOptions): Promise<Application>;
  /** Deletes an application; NotFound when it does not exist. */
  deleteApplication(identity: string, options?: CallOptions): Promise<void>;
  /** Replaces the secret, invalidating the old one (never retried). */
  regenerateSecret(identity: string, options?: CallOptions): Promise<IssuedApplication>;
  /** Creates an access policy (never retried: a lost answer is recovered by listing by display name). */
  createAccessPolicy(policy: NewAccessPolicy, options?: CallOptions): Promise<AccessPolicy>;
  /** Every access policy matching the query (all of the tenant's without one), walking all pages. */
  listAccessPolicies(query?: AccessPolicyQuery, options?: CallOptions): AsyncIterable<AccessPolicy>;
  /** One access policy; NotFound when it does not exist. */
  getAccessPolicy(identity: string, options?: CallOptions): Promise<AccessPolicy>;
  /** PATCHes an access policy (sent lists replace the old ones). */
  updateAccessPolicy(
    identity: string,
    update: AccessPolicyUpdate,
    options?: CallOptions,
  ): Promise<AccessPolicy>;
  /** Deletes an access policy; NotFound when it does not exist. */
  deleteAccessPolicy(identity: string, options?: CallOptions): Promise<void>;
  /** Exchanges client credentials for an access token at the appidp token endpoint. */
  getToken(credentials: ClientCredentials, options?: CallOptions): Promise<AccessToken>;
}
