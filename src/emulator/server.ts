/**
 * Starts the emulator: a fastify server on 127.0.0.1 and a free port by default, with the
 * DataTrails routes, the other issuers' routes (Azure AD, JWT-bearer), the /_emulator admin routes,
 * and the hooks that count requests and apply the fault switches (latency, dropped connections,
 * status faults, the rate limit, malformed bodies). Every error, fastify's own included, leaves in
 * the grpc-gateway shape, except on the other issuers' routes, which answer OAuth2 error bodies.
 */
import { randomUUID } from "node:crypto";
import formbody from "@fastify/formbody";
import Fastify, { type FastifyBaseLogger, type FastifyRequest } from "fastify";
import { AzureDirectory } from "./azure-directory.ts";
import { offsetClock } from "./clock.ts";
import { OidcKeys } from "./oidc-keys.ts";
import type { EmulatorContext } from "./context.ts";
import { createControl, type EmulatorControl } from "./control.ts";
import {
  ApiError,
  errorBody,
  grpcCodeForStatus,
  invalidArgument,
  paymentRequired,
  rateLimited,
} from "./errors.ts";
import {
  Faults,
  FixedWindowLimiter,
  type EmulatorSettings,
  type IgnoreUpdates,
  type RateLimitSetting,
} from "./faults.ts";
import { FederatedDirectory, type FederatedSettings } from "./federated-directory.ts";
import { toOAuthError } from "./oauth-errors.ts";
import { RequestCounters, routeFamily, unlimitedRoutes } from "./route-names.ts";
import { registerAccessPolicyRoutes } from "./routes/access-policies.ts";
import { registerIssuerAdminRoutes } from "./routes/admin-issuers.ts";
import { registerAdminRoutes } from "./routes/admin.ts";
import { registerApplicationRoutes } from "./routes/applications.ts";
import { registerAssetRoutes } from "./routes/assets.ts";
import { registerAzureRoutes } from "./routes/azure.ts";
import { registerFederatedRoutes } from "./routes/federated.ts";
import { registerTokenRoutes } from "./routes/token.ts";
import { EmulatorState, newSecret, type TenantTier } from "./state.ts";
import { createTokenAuthority } from "./tokens.ts";

/** How to start the emulator; everything has a default. */
export interface EmulatorOptions {
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Port (default 0: a free one). */
  port?: number;
  /** The base URL tokens name as issuer/audience, when clients reach the emulator by another name. */
  publicUrl?: string;
  /** `expires_in` of issued tokens (default 3600). */
  tokenTtlSeconds?: number;
  /** Applications the tenant may hold, the seeded admin included (default: no limit). */
  applicationQuota?: number | null;
  /** Access policies the tenant may hold (default: no limit). */
  accessPolicyQuota?: number | null;
  /** A fixed-window rate limit over the DataTrails routes (default: none). */
  rateLimit?: RateLimitSetting | null;
  /** The tenant's tier, the tokens' `jit_tier` (default FREE). */
  tier?: TenantTier;
  /** Cut lists requested without `page_size` to this many items, with no next page token (default: off). */
  truncateUnpagedLists?: number | null;
  /** Answer access policies normalised, as a real server may store them (default: as sent). */
  normalisePolicies?: boolean;
  /** PATCHes that answer 200 with the stored object unchanged (default: none). */
  ignoreUpdates?: Partial<IgnoreUpdates>;
  /** Seed a few assets (traffic lights and others) at start and on reset. */
  seedAssets?: boolean;
  /** The seeded OWNER integration's credentials (default: a random client id and secret). */
  admin?: { clientId: string; clientSecret: string };
  /** A pino-compatible logger for fastify; none by default. Request logs carry no bodies or headers. */
  logger?: FastifyBaseLogger;
  /**
   * The emulated Azure AD: the default tenant's id (a random GUID by default), `expires_in` (3599),
   * and CA certificates (PEM) to trust besides the system's when fetching a federated issuer's
   * discovery document and JWKS (a test cluster's CA).
   */
  azure?: { defaultTenantId?: string; tokenTtlSeconds?: number; federationCaCertificates?: string[] };
  /** The emulated JWT-bearer issuer: `expires_in` (28800), the assertion `aud` ("key"), the longest assertion (3600 s). */
  federated?: Partial<FederatedSettings>;
}

/** A running emulator. */
export interface RunningEmulator {
  /** Where it listens, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** The port it listens on. */
  port: number;
  /** The base URL in tokens and the discovery document (the `publicUrl` option, else `url`). */
  publicUrl: string;
  /** The tenant's identity, `tenant/<uuid>`. */
  tenantId: string;
  /** The seeded OWNER integration (roles ["OWNER"]): the admin credential for the App Registrations API. */
  admin: { clientId: string; clientSecret: string };
  /** Fault switches, settings, clock and state inspection. */
  control: EmulatorControl;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/** Waits `ms`, or less when the client goes away or the emulator closes. */
function pause(ms: number, request: FastifyRequest, closing: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const socket = request.raw.socket;
    const done = () => {
      clearTimeout(timer);
      socket.off("close", done);
      closing.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    socket.once("close", done);
    closing.addEventListener("abort", done, { once: true });
  });
}

/** Starts an emulator and resolves once it listens. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const clock = offsetClock();
  const admin = options.admin ?? { clientId: randomUUID(), clientSecret: newSecret() };
  const initialSettings: EmulatorSettings = {
    tokenTtlSeconds: options.tokenTtlSeconds ?? 3600,
    applicationQuota: options.applicationQuota ?? null,
    accessPolicyQuota: options.accessPolicyQuota ?? null,
    rateLimit: options.rateLimit ?? null,
    tier: options.tier ?? "FREE",
    truncateUnpagedLists: options.truncateUnpagedLists ?? null,
    normalisePolicies: options.normalisePolicies ?? false,
    ignoreUpdates: {
      accessPolicies: options.ignoreUpdates?.accessPolicies ?? false,
      applications: options.ignoreUpdates?.applications ?? false,
    },
  };
  const ctx: EmulatorContext = {
    state: new EmulatorState({
      now: () => clock.now(),
      tier: initialSettings.tier,
      seedAssets: options.seedAssets ?? false,
      admin,
    }),
    tokens: await createTokenAuthority(),
    azure: new AzureDirectory(options.azure),
    oidc: new OidcKeys({ caCertificates: options.azure?.federationCaCertificates }),
    federated: new FederatedDirectory(options.federated),
    clock,
    settings: structuredClone(initialSettings),
    initialSettings,
    faults: new Faults(),
    counters: new RequestCounters(),
    limiter: new FixedWindowLimiter(),
    baseUrl: "",
  };
  const control = createControl(ctx);
  const closing = new AbortController();

  const app = options.logger
    ? Fastify({ loggerInstance: options.logger, forceCloseConnections: true })
    : Fastify({ logger: false, forceCloseConnections: true });

  // Our own JSON parser: an empty body reads as no body (regenerate-secret sends none), and a
  // malformed one is a 400 whose message does not quote the body.
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) => {
    const text = typeof body === "string" ? body : body.toString("utf8");
    if (text.trim() === "") {
      done(null, undefined);
      return;
    }
    try {
      done(null, JSON.parse(text));
    } catch {
      done(invalidArgument("malformed JSON body"), undefined);
    }
  });
  await app.register(formbody);

  app.addHook("onRequest", async (request, reply) => {
    const route = request.routeOptions.config.route;
    if (route === undefined) return;
    ctx.counters.increment(route);
    const latency = ctx.faults.latencyFor(route);
    if (latency > 0) await pause(latency, request, closing.signal);
    if (ctx.faults.takeDrop(route, "before")) {
      reply.hijack();
      request.raw.socket.destroy();
      return;
    }
    if (!unlimitedRoutes.includes(route)) {
      const reset = ctx.limiter.check(ctx.settings.rateLimit, clock.now());
      if (reset !== undefined) throw rateLimited(reset);
    }
    const fail = ctx.faults.takeFail(route);
    if (fail) {
      if (fail.status === 429) throw rateLimited(fail.retryAfterSeconds ?? 1);
      const text = fail.status === 402 ? `HTTP 402 ${paymentRequired}` : `HTTP ${fail.status}`;
      throw new ApiError(fail.status, fail.message ?? `injected fault: ${text}`);
    }
  });

  app.addHook("onSend", async (request, _reply, payload) => {
    const route = request.routeOptions.config.route;
    if (route === undefined) return payload;
    if (ctx.faults.takeDrop(route, "after")) {
      // The call took effect; its answer never arrives.
      request.raw.socket.destroy();
      return payload;
    }
    if (typeof payload !== "string" || !ctx.faults.takeMalformed(route)) return payload;
    // Cut the closing brace: unparsable, and still carrying whatever the body held.
    return payload.slice(0, -1);
  });

  app.setErrorHandler((err: unknown, request, reply) => {
    const route = request.routeOptions.config.route;
    const family = route === undefined ? "dataTrails" : routeFamily(route);
    if (family !== "dataTrails") {
      const oauth = toOAuthError(err, family, clock.now());
      return reply.code(oauth.status).headers(oauth.headers).send(oauth.body());
    }
    if (err instanceof ApiError) {
      return reply.code(err.status).headers(err.headers).send(err.body());
    }
    const statusCode = (err as { statusCode?: unknown }).statusCode;
    const status = typeof statusCode === "number" && statusCode >= 400 && statusCode < 500 ? statusCode : 500;
    const message = status === 500 ? "internal error" : (err as Error).message;
    return reply.code(status).send(errorBody(grpcCodeForStatus(status), message));
  });

  app.setNotFoundHandler((_request, reply) => reply.code(404).send(errorBody(5, "Not Found")));

  registerTokenRoutes(app, ctx);
  registerApplicationRoutes(app, ctx);
  registerAccessPolicyRoutes(app, ctx);
  registerAssetRoutes(app, ctx);
  registerAzureRoutes(app, ctx);
  registerFederatedRoutes(app, ctx);
  registerAdminRoutes(app, control);
  registerIssuerAdminRoutes(app, control);

  const host = options.host ?? "127.0.0.1";
  await app.listen({ host, port: options.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === "object" && address !== null ? address.port : (options.port ?? 0);
  const urlHost = host.includes(":") ? `[${host}]` : host === "0.0.0.0" ? "127.0.0.1" : host;
  const url = `http://${urlHost}:${port}`;
  ctx.baseUrl = (options.publicUrl ?? url).replace(/\/+$/, "");

  return {
    url,
    port,
    publicUrl: ctx.baseUrl,
    tenantId: ctx.state.tenantId,
    admin: { ...admin },
    control,
    close: async () => {
      closing.abort();
      await app.close();
      await ctx.oidc.close();
    },
  };
}
