/**
 * HttpDataTrailsApi: the DataTrails port over undici. Each method maps one DataTrails endpoint onto
 * the request pipeline (request-pipeline.ts), which does auth, the client-side rate limit, zod
 * validation and retries for idempotent calls only: create and regenerate-secret are sent once.
 * Every list pages through one helper (page_size/page_token in, next_page_token out).
 */
import type { Logger } from "pino";
import type { Dispatcher } from "undici";
import type { z } from "zod";
import { sleep, systemClock, type Clock } from "../k8s/clock.ts";
import {
  defaultListPageSize,
  type AccessPolicy,
  type AccessPolicyQuery,
  type AccessPolicyUpdate,
  type AccessToken,
  type Application,
  type ApplicationPage,
  type ApplicationQuery,
  type ApplicationUpdate,
  type CallOptions,
  type ClientCredentials,
  type DataTrailsApi,
  type IssuedApplication,
  type NewAccessPolicy,
  type NewApplication,
} from "./api.ts";
import { DataTrailsError } from "./errors.ts";
import { TokenBucket, type RateLimit } from "./rate-limiter.ts";
import { RequestPipeline, tokenEndpointPath, type CallObserver } from "./request-pipeline.ts";
import { defaultRequestRetryPolicy, type RequestRetryPolicy } from "./request-retry.ts";
import { defaultTimeouts, HttpTransport, type Timeouts } from "./transport.ts";
import {
  accessPolicyBody,
  accessPolicyListWire,
  accessPolicyWire,
  applicationListWire,
  applicationWire,
  emptyWire,
  issuedApplicationWire,
  toApplication,
  toAccessPolicy,
  toApplicationPage,
  toIssuedApplication,
} from "./wire.ts";

const applicationsPath = "/archivist/iam/v1/applications";
const accessPoliciesPath = "/archivist/iam/v1/access_policies";

/** How to build an HttpDataTrailsApi. Only baseUrl and credentials are required. */
export interface HttpDataTrailsApiOptions {
  /** Where DataTrails is, e.g. https://app.datatrails.ai (a path prefix is kept). */
  baseUrl: string;
  /** The admin (OWNER) integration that calls the App Registrations API. */
  credentials: ClientCredentials;
  /** Timeouts; each defaults as in defaultTimeouts. */
  timeouts?: Partial<Timeouts>;
  /** Retry bounds; each defaults as in defaultRequestRetryPolicy. */
  retry?: Partial<RequestRetryPolicy>;
  /** Client-side rate limit (default 20 requests/s, burst 40); null turns it off. */
  rateLimit?: RateLimit | null;
  /** Refresh the admin token this long before it expires at most (default 300 s; a fifth of its life if less). */
  tokenRefreshMarginMs?: number;
  /** Keep-alive connections in the pool (default 10). */
  connections?: number;
  /** Larger answers are a MalformedResponse (default 8 MiB). */
  maxResponseBytes?: number;
  /** The clock that times tokens and rate limits and runs the waits (default the system clock). */
  clock?: Clock;
  /** How to wait (default: a timer on `clock`); must reject when the signal aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Jitter source in [0, 1) (default Math.random). */
  random?: () => number;
  /** Debug logs of each attempt; nothing secret is logged. */
  logger?: Logger;
  /** An undici dispatcher to use instead of the client's own Pool (not closed by close()). */
  dispatcher?: Dispatcher;
  /** Told of every attempt (operation, HTTP status or error code, duration), for metrics. */
  observer?: CallObserver;
}

/** The query every list takes. */
type ListQuery = ApplicationQuery | AccessPolicyQuery;

/** A list answer's schema: it carries next_page_token ("" on the last page). */
type PagedListWire = z.ZodType<{ next_page_token: string }>;

/** A list endpoint: what it is called, where it is, and how its pages read. */
interface ListSpec<S extends PagedListWire> {
  operation: string;
  path: string;
  schema: S;
}

const applicationListSpec = {
  operation: "list applications",
  path: applicationsPath,
  schema: applicationListWire,
} satisfies ListSpec<typeof applicationListWire>;

const accessPolicyListSpec = {
  operation: "list access policies",
  path: accessPoliciesPath,
  schema: accessPolicyListWire,
} satisfies ListSpec<typeof accessPolicyListWire>;

function applicationPath(identity: string, operation: string, suffix = ""): string {
  const uuid = identity.startsWith("applications/") ? identity.slice("applications/".length) : identity;
  if (!/^[A-Za-z0-9-]+$/.test(uuid)) {
    throw new DataTrailsError("InvalidRequest", "not an application identity or UUID", { operation });
  }
  return `${applicationsPath}/${uuid}${suffix}`;
}

function accessPolicyPath(identity: string, operation: string): string {
  const uuid = identity.startsWith("access_policies/") ? identity.slice("access_policies/".length) : identity;
  if (!/^[A-Za-z0-9-]+$/.test(uuid)) {
    throw new DataTrailsError("InvalidRequest", "not an access policy identity or UUID", { operation });
  }
  return `${accessPoliciesPath}/${uuid}`;
}

/** The DataTrails identity API over HTTP. Call close() when done to release its connections. */
export class HttpDataTrailsApi implements DataTrailsApi {
  /** The base URL, without a trailing slash. */
  readonly baseUrl: string;
  /** The token endpoint URL. */
  readonly tokenUrl: string;
  private readonly transport: HttpTransport;
  private readonly pipeline: RequestPipeline;

  constructor(options: HttpDataTrailsApiOptions) {
    const url = new URL(options.baseUrl);
    const prefix = url.pathname.replace(/\/+$/, "");
    this.baseUrl = `${url.origin}${prefix}`;
    this.tokenUrl = `${this.baseUrl}${tokenEndpointPath}`;
    const clock = options.clock ?? systemClock;
    const now = () => clock.now();
    const rateLimit =
      options.rateLimit === undefined ? { requestsPerSecond: 20, burst: 40 } : options.rateLimit;
    this.transport = new HttpTransport(url.origin, {
      timeouts: { ...defaultTimeouts, ...options.timeouts },
      connections: options.connections ?? 10,
      maxResponseBytes: options.maxResponseBytes ?? 8 * 1024 * 1024,
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    });
    this.pipeline = new RequestPipeline({
      prefix,
      transport: this.transport,
      adminCredentials: { ...options.credentials },
      tokenRefreshMarginMs: options.tokenRefreshMarginMs ?? 300_000,
      retry: { ...defaultRequestRetryPolicy, ...options.retry },
      bucket: rateLimit ? new TokenBucket(rateLimit, now) : undefined,
      now,
      sleep: options.sleep ?? ((ms, signal) => sleep(clock, ms, signal)),
      random: options.random ?? Math.random,
      logger: options.logger,
      observer: options.observer,
    });
  }

  /** Creates an application. Sent exactly once: never retried, not even after a 401. */
  async createApplication(app: NewApplication, options: CallOptions = {}): Promise<IssuedApplication> {
    const json: Record<string, unknown> = { display_name: app.displayName };
    if (app.customClaims !== undefined) json["custom_claims"] = app.customClaims;
    if (app.roles !== undefined) json["roles"] = app.roles;
    const wire = await this.pipeline.run(
      {
        operation: "create application",
        method: "POST",
        path: applicationsPath,
        json,
        schema: issuedApplicationWire,
        idempotent: false,
        admin: true,
      },
      options.signal,
    );
    return toIssuedApplication(wire.value);
  }

  /** One page of applications; with a pageToken, the token alone is sent (it carries the query). */
  async listApplicationsPage(
    query: ApplicationQuery & { pageToken?: string },
    options: CallOptions = {},
  ): Promise<ApplicationPage> {
    const wire = await this.listPage(applicationListSpec, query, query.pageToken ?? "", options.signal);
    return toApplicationPage(wire);
  }

  /** Every application matching the query, page after page. */
  async *listApplications(
    query: ApplicationQuery = {},
    options: CallOptions = {},
  ): AsyncIterable<Application> {
    for await (const page of this.pages(applicationListSpec, query, options.signal)) {
      yield* page.applications.map(toApplication);
    }
  }

  /** One application. */
  async getApplication(identity: string, options: CallOptions = {}): Promise<Application> {
    const operation = "get application";
    const wire = await this.pipeline.run(
      {
        operation,
        method: "GET",
        path: applicationPath(identity, operation),
        schema: applicationWire,
        idempotent: true,
        admin: true,
      },
      options.signal,
    );
    return toApplication(wire.value);
  }

  /** PATCHes an application; retried, since it sets absolute values. */
  async updateApplication(
    identity: string,
    update: ApplicationUpdate,
    options: CallOptions = {},
  ): Promise<Application> {
    const operation = "update application";
    const json: Record<string, unknown> = {};
    if (update.displayName !== undefined) json["display_name"] = update.displayName;
    if (update.customClaims !== undefined) json["custom_claims"] = update.customClaims;
    const wire = await this.pipeline.run(
      {
        operation,
        method: "PATCH",
        path: applicationPath(identity, operation),
        json,
        schema: applicationWire,
        idempotent: true,
        admin: true,
      },
      options.signal,
    );
    return toApplication(wire.value);
  }

  /** Deletes an application. A retried DELETE may answer NotFound when the first one did the work. */
  async deleteApplication(identity: string, options: CallOptions = {}): Promise<void> {
    const operation = "delete application";
    await this.pipeline.run(
      {
        operation,
        method: "DELETE",
        path: applicationPath(identity, operation),
        schema: emptyWire,
        idempotent: true,
        admin: true,
      },
      options.signal,
    );
  }

  /** Replaces the secret. Sent exactly once: a second send would invalidate the first new secret. */
  async regenerateSecret(identity: string, options: CallOptions = {}): Promise<IssuedApplication> {
    const operation = "regenerate secret";
    const wire = await this.pipeline.run(
      {
        operation,
        method: "POST",
        path: applicationPath(identity, operation, ":regenerate-secret"),
        schema: issuedApplicationWire,
        idempotent: false,
        admin: true,
      },
      options.signal,
    );
    return toIssuedApplication(wire.value);
  }

  /** Creates an access policy. Sent exactly once: a lost answer is found again by display name. */
  async createAccessPolicy(policy: NewAccessPolicy, options: CallOptions = {}): Promise<AccessPolicy> {
    const wire = await this.pipeline.run(
      {
        operation: "create access policy",
        method: "POST",
        path: accessPoliciesPath,
        json: accessPolicyBody(policy),
        schema: accessPolicyWire,
        idempotent: false,
        admin: true,
      },
      options.signal,
    );
    return toAccessPolicy(wire.value);
  }

  /** Every access policy matching the query (all of the tenant's without one), page after page. */
  async *listAccessPolicies(
    query: AccessPolicyQuery = {},
    options: CallOptions = {},
  ): AsyncIterable<AccessPolicy> {
    for await (const page of this.pages(accessPolicyListSpec, query, options.signal)) {
      yield* page.access_policies.map(toAccessPolicy);
    }
  }

  /** One access policy. */
  async getAccessPolicy(identity: string, options: CallOptions = {}): Promise<AccessPolicy> {
    const operation = "get access policy";
    const wire = await this.pipeline.run(
      {
        operation,
        method: "GET",
        path: accessPolicyPath(identity, operation),
        schema: accessPolicyWire,
        idempotent: true,
        admin: true,
      },
      options.signal,
    );
    return toAccessPolicy(wire.value);
  }

  /** PATCHes an access policy; retried, since it sets absolute values. */
  async updateAccessPolicy(
    identity: string,
    update: AccessPolicyUpdate,
    options: CallOptions = {},
  ): Promise<AccessPolicy> {
    const operation = "update access policy";
    const wire = await this.pipeline.run(
      {
        operation,
        method: "PATCH",
        path: accessPolicyPath(identity, operation),
        json: accessPolicyBody(update),
        schema: accessPolicyWire,
        idempotent: true,
        admin: true,
      },
      options.signal,
    );
    return toAccessPolicy(wire.value);
  }

  /** Deletes an access policy. A retried DELETE may answer NotFound when the first one did the work. */
  async deleteAccessPolicy(identity: string, options: CallOptions = {}): Promise<void> {
    const operation = "delete access policy";
    await this.pipeline.run(
      {
        operation,
        method: "DELETE",
        path: accessPolicyPath(identity, operation),
        schema: emptyWire,
        idempotent: true,
        admin: true,
      },
      options.signal,
    );
  }

  /**
   * One page of a list. The first request sends page_size (always: an unpaged DataTrails list may
   * stop at an internal limit with no next_page_token) and the display_name filter; later ones the
   * page token alone, which carries the query.
   */
  private async listPage<S extends PagedListWire>(
    list: ListSpec<S>,
    query: ListQuery,
    pageToken: string,
    signal: AbortSignal | undefined,
  ): Promise<z.output<S>> {
    const params: Record<string, string | undefined> =
      pageToken !== ""
        ? { page_token: pageToken }
        : { page_size: String(query.pageSize ?? defaultListPageSize), display_name: query.displayName };
    const wire = await this.pipeline.run(
      {
        operation: list.operation,
        method: "GET",
        path: list.path,
        query: params,
        schema: list.schema,
        idempotent: true,
        admin: true,
      },
      signal,
    );
    return wire.value;
  }

  /** Every page of a list, following next_page_token until it is ""; a repeated token is an error. */
  private async *pages<S extends PagedListWire>(
    list: ListSpec<S>,
    query: ListQuery,
    signal: AbortSignal | undefined,
  ): AsyncIterable<z.output<S>> {
    const seen = new Set<string>();
    let page = await this.listPage(list, query, "", signal);
    for (;;) {
      yield page;
      const next = page.next_page_token;
      if (next === "") return;
      if (seen.has(next)) {
        throw new DataTrailsError("MalformedResponse", "the server repeated a page token", {
          operation: list.operation,
        });
      }
      seen.add(next);
      page = await this.listPage(list, query, next, signal);
    }
  }

  /** A token for any client credentials (not cached: the caller schedules its own refresh). */
  getToken(credentials: ClientCredentials, options: CallOptions = {}): Promise<AccessToken> {
    return this.pipeline.requestToken(credentials, "get token", options.signal);
  }

  /** Releases the connection pool. */
  async close(): Promise<void> {
    await this.transport.close();
  }
}
