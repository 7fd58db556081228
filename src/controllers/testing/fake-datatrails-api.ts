/**
 * An in-memory DataTrails identity API for tests at the reconcile seam: applications with secrets,
 * access policies, the token endpoint, and faults queued per method. Every call is recorded by
 * method name, so a test can say "no DataTrails write" or "no token request".
 */
import { randomUUID } from "node:crypto";
import type {
  AccessPolicy,
  AccessPolicyUpdate,
  AccessToken,
  Application,
  ApplicationPage,
  ApplicationQuery,
  ApplicationUpdate,
  ClientCredentials,
  DataTrailsApi,
  IssuedApplication,
  NewAccessPolicy,
  NewApplication,
} from "../../datatrails/api.ts";
import { codeForStatus, DataTrailsError, type DataTrailsErrorCode } from "../../datatrails/errors.ts";

/** A method of the API, as the call log names it. */
export type DataTrailsMethod = keyof DataTrailsApi;

/** The methods that change something in DataTrails. */
const writeMethods: readonly DataTrailsMethod[] = [
  "createApplication",
  "updateApplication",
  "deleteApplication",
  "regenerateSecret",
  "createAccessPolicy",
  "updateAccessPolicy",
  "deleteAccessPolicy",
];

/** A DataTrailsError as the HTTP client would raise it for `status` (429 with a wait). */
export function httpError(status: number, operation = "call", retryAfterMs?: number): DataTrailsError {
  return dataTrailsError(codeForStatus(status), operation, status, retryAfterMs);
}

/** A DataTrailsError of a code. */
function dataTrailsError(
  code: DataTrailsErrorCode,
  operation = "call",
  status?: number,
  retryAfterMs?: number,
): DataTrailsError {
  return new DataTrailsError(code, `${operation}: HTTP ${status ?? "-"} (${code})`, {
    operation,
    status,
    retryAfterMs,
  });
}

function notFound(operation: string): DataTrailsError {
  return dataTrailsError("NotFound", operation, 404);
}

const bare = (identity: string) => identity.replace(/^[a-z_]+\//, "");

/** {@link DataTrailsApi} in memory. */
export class FakeDataTrailsApi implements DataTrailsApi {
  readonly applications = new Map<string, Application & { secret: string }>();
  readonly policies = new Map<string, AccessPolicy>();
  /** Every call, by method name, in order. */
  readonly calls: DataTrailsMethod[] = [];
  readonly #faults = new Map<DataTrailsMethod, DataTrailsError[]>();
  #now: () => Date;

  constructor(now: () => Date = () => new Date()) {
    this.#now = now;
  }

  /** Makes the next call of `method` fail with `error` (queued: call again for more). */
  failNext(method: DataTrailsMethod, error: DataTrailsError): this {
    this.#faults.set(method, [...(this.#faults.get(method) ?? []), error]);
    return this;
  }

  /** The calls that changed something in DataTrails. */
  writes(): DataTrailsMethod[] {
    return this.calls.filter((m) => writeMethods.includes(m));
  }

  /** Puts an application in place (as if created earlier); returns it with its secret. */
  seedApplication(app: NewApplication & { secret?: string; validFrom?: string }): IssuedApplication {
    const uuid = randomUUID();
    const validFrom = app.validFrom ?? this.#now().toISOString();
    const stored = {
      identity: `applications/${uuid}`,
      clientId: uuid,
      displayName: app.displayName,
      tenantId: "tenant/00000000-0000-4000-8000-000000000000",
      customClaims: { ...(app.customClaims ?? {}) },
      roles: [...(app.roles ?? [])],
      credentials: [{ validFrom, validUntil: oneYearAfter(validFrom) }],
      secret: app.secret ?? randomUUID().replaceAll("-", ""),
    };
    this.applications.set(uuid, stored);
    return structuredClone(stored);
  }

  #call(method: DataTrailsMethod): void {
    this.calls.push(method);
    const queued = this.#faults.get(method);
    const fault = queued?.shift();
    if (fault) throw fault;
  }

  #app(identity: string, operation: string): Application & { secret: string } {
    const app = this.applications.get(bare(identity));
    if (!app) throw notFound(operation);
    return app;
  }

  #view(app: Application & { secret: string }): Application {
    const { secret: _secret, ...view } = structuredClone(app);
    return view;
  }

  createApplication(app: NewApplication): Promise<IssuedApplication> {
    this.#call("createApplication");
    return Promise.resolve(this.seedApplication({ ...app, secret: randomUUID().replaceAll("-", "") }));
  }

  listApplicationsPage(query: ApplicationQuery & { pageToken?: string }): Promise<ApplicationPage> {
    this.#call("listApplicationsPage");
    const applications = [...this.applications.values()]
      .filter((a) => query.displayName === undefined || a.displayName === query.displayName)
      .map((a) => this.#view(a));
    return Promise.resolve({ applications, nextPageToken: "" });
  }

  async *listApplications(query: ApplicationQuery = {}): AsyncIterable<Application> {
    this.#call("listApplications");
    for (const app of this.applications.values())
      if (query.displayName === undefined || app.displayName === query.displayName) yield this.#view(app);
    await Promise.resolve();
  }

  getApplication(identity: string): Promise<Application> {
    this.#call("getApplication");
    return Promise.resolve(this.#view(this.#app(identity, "get application")));
  }

  updateApplication(identity: string, update: ApplicationUpdate): Promise<Application> {
    this.#call("updateApplication");
    const app = this.#app(identity, "update application");
    if (update.displayName !== undefined) app.displayName = update.displayName;
    if (update.customClaims !== undefined) app.customClaims = { ...update.customClaims };
    return Promise.resolve(this.#view(app));
  }

  deleteApplication(identity: string): Promise<void> {
    this.#call("deleteApplication");
    this.#app(identity, "delete application");
    this.applications.delete(bare(identity));
    return Promise.resolve();
  }

  regenerateSecret(identity: string): Promise<IssuedApplication> {
    this.#call("regenerateSecret");
    const app = this.#app(identity, "regenerate secret");
    app.secret = randomUUID().replaceAll("-", "");
    const validFrom = this.#now().toISOString();
    app.credentials = [{ validFrom, validUntil: oneYearAfter(validFrom) }];
    return Promise.resolve(structuredClone(app));
  }

  createAccessPolicy(policy: NewAccessPolicy): Promise<AccessPolicy> {
    this.#call("createAccessPolicy");
    const created = { ...structuredClone(policy), identity: `access_policies/${randomUUID()}` };
    this.policies.set(bare(created.identity), created);
    return Promise.resolve(structuredClone(created));
  }

  async *listAccessPolicies(): AsyncIterable<AccessPolicy> {
    this.#call("listAccessPolicies");
    for (const policy of this.policies.values()) yield structuredClone(policy);
    await Promise.resolve();
  }

  getAccessPolicy(identity: string): Promise<AccessPolicy> {
    this.#call("getAccessPolicy");
    const policy = this.policies.get(bare(identity));
    if (!policy) throw notFound("get access policy");
    return Promise.resolve(structuredClone(policy));
  }

  updateAccessPolicy(identity: string, update: AccessPolicyUpdate): Promise<AccessPolicy> {
    this.#call("updateAccessPolicy");
    const policy = this.policies.get(bare(identity));
    if (!policy) throw notFound("update access policy");
    Object.assign(policy, structuredClone(update));
    return Promise.resolve(structuredClone(policy));
  }

  deleteAccessPolicy(identity: string): Promise<void> {
    this.#call("deleteAccessPolicy");
    if (!this.policies.delete(bare(identity))) throw notFound("delete access policy");
    return Promise.resolve();
  }

  getToken(credentials: ClientCredentials): Promise<AccessToken> {
    this.#call("getToken");
    const app = this.applications.get(credentials.clientId);
    if (!app || app.secret !== credentials.clientSecret)
      throw dataTrailsError("Unauthenticated", "get token", 401);
    const obtainedAt = this.#now();
    return Promise.resolve({
      accessToken: `token-for-${app.clientId}`,
      tokenType: "Bearer",
      expiresInSeconds: 3600,
      obtainedAt,
      expiresAt: new Date(obtainedAt.getTime() + 3_600_000),
    });
  }
}

function oneYearAfter(rfc3339: string): string {
  const d = new Date(rfc3339);
  d.setUTCFullYear(d.getUTCFullYear() + 1);
  return d.toISOString();
}
