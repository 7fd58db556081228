/**
 * Azure AD's client-credentials token endpoints (v1 with `resource`, v2 with
 * `scope=<resource>/.default`), each tenant's OIDC discovery documents and JWKS. Answers and errors
 * follow what login.microsoftonline.com sends: v1 writes every number as a string, errors carry
 * AADSTS codes. Issuers point at the emulator (`<base>/<tenant>/`, `<base>/<tenant>/v2.0`) in place
 * of sts.windows.net and login.microsoftonline.com, so discovery and verification work locally.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { createLocalJWKSet, jwtVerify } from "jose";
import { clientAssertionType, verifyClientAssertion } from "../azure-assertions.ts";
import {
  azureEndpoints,
  type AzureAuthentication,
  type AzureDirectory,
  type AzureResource,
} from "../azure-directory.ts";
import type { EmulatorContext } from "../context.ts";
import { azureError } from "../oauth-errors.ts";

type Version = "1.0" | "2.0";

/** A form field; Azure reads only form bodies, so a JSON body has no fields. */
function formField(request: FastifyRequest, name: string): string | undefined {
  const type = request.headers["content-type"] ?? "";
  if (!type.toLowerCase().startsWith("application/x-www-form-urlencoded")) return undefined;
  const body = request.body;
  if (typeof body !== "object" || body === null) return undefined;
  const v = (body as Record<string, unknown>)[name];
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** `client_secret_basic` credentials (RFC 6749 §2.3.1: each part form-urlencoded), if sent. */
function basicCredentials(request: FastifyRequest): { id: string; secret: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(request.headers.authorization ?? "");
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  const unescape = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, " "));
    } catch {
      return s;
    }
  };
  return { id: unescape(decoded.slice(0, colon)), secret: unescape(decoded.slice(colon + 1)) };
}

function discoveryDocument(baseUrl: string, tenant: string, version: Version): Record<string, unknown> {
  const e = azureEndpoints(baseUrl, tenant);
  const v1 = version === "1.0";
  return {
    token_endpoint: v1 ? e.tokenUrlV1 : e.tokenUrlV2,
    token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    jwks_uri: v1 ? e.jwksUriV1 : e.jwksUriV2,
    issuer: v1 ? e.issuerV1 : e.issuerV2,
    grant_types_supported: ["client_credentials"],
    response_types_supported: ["token"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    claims_supported: ["aud", "iss", "iat", "nbf", "exp", "oid", "sub", "tid", "ver", "roles"].concat(
      v1 ? ["appid", "appidacr", "idp"] : ["azp", "azpacr"],
    ),
  };
}

/** Registers the Azure AD token, discovery and JWKS routes. */
export function registerAzureRoutes(app: FastifyInstance, ctx: EmulatorContext): void {
  const azure: AzureDirectory = ctx.azure;
  const now = () => ctx.clock.now();
  const fail = (status: number, error: string, code: number, description: string) =>
    azureError(status, error, code, description, now());
  const missing = (name: string) =>
    fail(400, "invalid_request", 900144, `The request body must contain the following parameter: '${name}'.`);
  const knownTenant = (raw: string): string => {
    const tenant = raw.toLowerCase();
    if (azure.keys(tenant)) return tenant;
    throw fail(
      400,
      "invalid_request",
      90002,
      `Tenant '${raw}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
    );
  };

  async function assertionAuthentication(
    tenant: string,
    clientId: string,
    assertion: string,
  ): Promise<AzureAuthentication> {
    const client = azure.client(tenant, clientId);
    if (!client) return { ok: false, reason: "unknownClient" };
    const checked = await verifyClientAssertion({
      client,
      assertion,
      endpoints: azureEndpoints(ctx.baseUrl, tenant),
      nowMs: now(),
      oidc: ctx.oidc,
    });
    if (checked.ok) return checked;
    const r = checked.refusal;
    throw fail(r.status, r.error, r.code, r.description);
  }

  async function token(request: FastifyRequest<{ Params: { tenant: string } }>, version: Version) {
    const tenant = knownTenant(request.params.tenant);
    const grantType = formField(request, "grant_type");
    if (!grantType) throw missing("grant_type");
    if (grantType !== "client_credentials") {
      throw fail(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.");
    }
    const basic = basicCredentials(request);
    const bodyId = formField(request, "client_id");
    const bodySecret = formField(request, "client_secret");
    const assertion = formField(request, "client_assertion");
    const assertionType = formField(request, "client_assertion_type");
    const methods = [basic, bodySecret, assertion].filter((m) => m !== undefined).length;
    if (methods > 1 || (basic && bodyId !== undefined && bodyId !== basic.id)) {
      throw fail(400, "invalid_request", 90023, "Only one client authentication method may be used.");
    }
    const clientId = basic?.id ?? bodyId;
    const secret = basic?.secret ?? bodySecret;
    if (!clientId) throw missing("client_id");
    if (assertion !== undefined && assertionType !== clientAssertionType) {
      throw fail(
        400,
        "invalid_request",
        900144,
        `The request body must contain the following parameter: 'client_assertion_type' with the value ${clientAssertionType}.`,
      );
    }
    if (!secret && !assertion) {
      throw fail(
        401,
        "invalid_client",
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
      );
    }

    let requested: string;
    if (version === "1.0") {
      const resource = formField(request, "resource");
      if (!resource) throw missing("resource");
      requested = resource;
    } else {
      if (formField(request, "resource") !== undefined) {
        throw fail(400, "invalid_request", 901002, "The 'resource' request parameter is not supported.");
      }
      const scope = formField(request, "scope");
      if (!scope) throw missing("scope");
      const scopes = scope.split(" ").filter((s) => s !== "");
      const only = scopes.length === 1 ? scopes[0] : undefined;
      if (!only?.endsWith("/.default") || only === "/.default") {
        throw fail(
          400,
          "invalid_scope",
          1002012,
          `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
        );
      }
      requested = only.slice(0, -"/.default".length);
    }

    const auth = assertion
      ? await assertionAuthentication(tenant, clientId, assertion)
      : azure.authenticate(tenant, clientId, secret ?? "");
    if (!auth.ok && auth.reason === "unknownClient") {
      throw fail(
        400,
        "unauthorized_client",
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${tenant}'.`,
      );
    }
    if (!auth.ok) {
      throw fail(
        401,
        "invalid_client",
        7000215,
        `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
      );
    }
    const resource: AzureResource | undefined = azure.findResource(tenant, requested);
    if (!resource) {
      throw fail(
        400,
        "invalid_resource",
        500011,
        `The resource principal named ${requested} was not found in the tenant named ${tenant}.`,
      );
    }
    const e = azureEndpoints(ctx.baseUrl, tenant);
    const issued = await azure.issue({
      client: auth.client,
      resource,
      version,
      // v1 names the resource as it was asked for; v2 always names the resource's app id.
      audience: version === "1.0" ? requested : resource.appId,
      issuer: version === "1.0" ? e.issuerV1 : e.issuerV2,
      nowMs: now(),
    });
    const ttl = issued.exp - issued.iat;
    if (version === "2.0") {
      return { token_type: "Bearer", expires_in: ttl, ext_expires_in: ttl, access_token: issued.token };
    }
    return {
      token_type: "Bearer",
      expires_in: String(ttl),
      ext_expires_in: String(ttl),
      expires_on: String(issued.exp),
      not_before: String(issued.iat),
      resource: requested,
      access_token: issued.token,
    };
  }

  type TenantRequest = FastifyRequest<{ Params: { tenant: string } }>;
  app.post("/:tenant/oauth2/token", { config: { route: "azure.token.v1" } }, (r: TenantRequest) =>
    token(r, "1.0"),
  );
  app.post("/:tenant/oauth2/v2.0/token", { config: { route: "azure.token.v2" } }, (r: TenantRequest) =>
    token(r, "2.0"),
  );
  // The v1 issuer ends in `/`, so `<iss>/.well-known/...` has a doubled slash; Azure answers both.
  for (const path of [
    "/:tenant/.well-known/openid-configuration",
    "/:tenant//.well-known/openid-configuration",
  ]) {
    app.get(path, { config: { route: "azure.discovery.v1" } }, (r: TenantRequest) =>
      discoveryDocument(ctx.baseUrl, knownTenant(r.params.tenant), "1.0"),
    );
  }
  app.get(
    "/:tenant/v2.0/.well-known/openid-configuration",
    { config: { route: "azure.discovery.v2" } },
    (r: TenantRequest) => discoveryDocument(ctx.baseUrl, knownTenant(r.params.tenant), "2.0"),
  );
  app.get("/:tenant/discovery/keys", { config: { route: "azure.jwks.v1" } }, (r: TenantRequest) =>
    azure.keys(knownTenant(r.params.tenant))?.jwks(),
  );
  // A protected API registered in the tenant: it takes the tenant's v1 and v2 access tokens as a
  // resource server would (signature, issuer, expiry by the emulator's clock) and answers who called.
  app.get(
    "/:tenant/resource/whoami",
    { config: { route: "azure.resource" } },
    async (r: TenantRequest, reply) => {
      const tenant = knownTenant(r.params.tenant);
      const e = azureEndpoints(ctx.baseUrl, tenant);
      const match = /^Bearer\s+(\S+)\s*$/i.exec(r.headers.authorization ?? "");
      try {
        if (!match?.[1]) throw new Error("no bearer token");
        const keys = createLocalJWKSet(azure.keys(tenant)?.jwks() ?? { keys: [] });
        const { payload } = await jwtVerify(match[1], keys, {
          issuer: [e.issuerV1, e.issuerV2],
          currentDate: new Date(now()),
        });
        return {
          appid: payload["appid"] ?? payload["azp"],
          aud: payload.aud,
          ver: payload["ver"],
          roles: payload["roles"] ?? [],
        };
      } catch {
        return reply.code(401).header("www-authenticate", 'Bearer error="invalid_token"').send({
          error: "invalid_token",
          error_description: "The access token is missing, invalid or expired.",
        });
      }
    },
  );
  app.get("/:tenant/discovery/v2.0/keys", { config: { route: "azure.jwks.v2" } }, (r: TenantRequest) => {
    const tenant = knownTenant(r.params.tenant);
    // Azure's v2 key set names the issuer of each key.
    return azure.keys(tenant)?.jwks({ issuer: azureEndpoints(ctx.baseUrl, tenant).issuerV2 });
  });
}
