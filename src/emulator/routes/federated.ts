/**
 * The JWT-bearer token endpoint (RFC 7523, as Federated Directory takes it: a JSON body, or a form
 * per the RFC) and its issuer's OIDC discovery document and JWKS. Errors are OAuth2 bodies
 * `{error, error_description}`: 400 for a malformed request, 401 for an assertion refused.
 */
import type { FastifyInstance } from "fastify";
import type { EmulatorContext } from "../context.ts";
import {
  federatedDiscoveryPath,
  federatedJwksPath,
  federatedTokenPath,
  jwtBearerGrantType,
} from "../federated-directory.ts";
import { OAuthError } from "../oauth-errors.ts";

function field(body: unknown, name: string): string | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const v = (body as Record<string, unknown>)[name];
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** Registers the JWT-bearer token, discovery and JWKS routes. */
export function registerFederatedRoutes(app: FastifyInstance, ctx: EmulatorContext): void {
  app.post(federatedTokenPath, { config: { route: "federated.token" } }, async (request) => {
    const grantType = field(request.body, "grant_type");
    const assertion = field(request.body, "assertion");
    if (!grantType) throw new OAuthError(400, "invalid_request", "grant_type is required");
    if (grantType !== jwtBearerGrantType) {
      throw new OAuthError(400, "unsupported_grant_type", `grant_type must be ${jwtBearerGrantType}`);
    }
    if (!assertion) throw new OAuthError(400, "invalid_request", "assertion is required");
    const issued = await ctx.federated.exchange(assertion, ctx.clock.now(), ctx.baseUrl);
    return { access_token: issued.accessToken, token_type: "Bearer", expires_in: issued.expiresIn };
  });

  app.get(federatedDiscoveryPath, { config: { route: "federated.discovery" } }, () =>
    ctx.federated.discovery(ctx.baseUrl),
  );
  app.get(federatedJwksPath, { config: { route: "federated.jwks" } }, () => ctx.federated.keys.jwks());
}
