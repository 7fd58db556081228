/**
 * The token endpoint (OAuth2 client credentials, form body) and the issuer's OIDC discovery
 * document and JWKS. Unknown client, wrong secret, a secret replaced by regenerate and a secret
 * past its valid_until all get the same 401.
 */
import type { FastifyInstance } from "fastify";
import type { EmulatorContext } from "../context.ts";
import { invalidArgument, unauthenticated } from "../errors.ts";
import { discoveryPath, doubledSlashPath, jwksPath, tokenPath } from "../tokens.ts";

function field(body: unknown, name: string): string | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const v = (body as Record<string, unknown>)[name];
  return typeof v === "string" ? v : undefined;
}

/** Registers the token, discovery and JWKS routes. */
export function registerTokenRoutes(app: FastifyInstance, ctx: EmulatorContext): void {
  app.post(tokenPath, { config: { route: "token" } }, async (request) => {
    const grantType = field(request.body, "grant_type");
    const clientId = field(request.body, "client_id");
    const clientSecret = field(request.body, "client_secret");
    if (grantType !== "client_credentials") throw invalidArgument("grant_type must be client_credentials");
    if (!clientId || !clientSecret) throw invalidArgument("client_id and client_secret are required");
    const found = ctx.state.authenticate(clientId, clientSecret);
    if (!found) throw unauthenticated("invalid client credentials");
    const ttlSeconds = ctx.settings.tokenTtlSeconds;
    const accessToken = await ctx.tokens.issue({
      baseUrl: ctx.baseUrl,
      app: found,
      tenantId: ctx.state.tenantId,
      tier: ctx.settings.tier,
      nowMs: ctx.clock.now(),
      ttlSeconds,
    });
    return { access_token: accessToken, token_type: "Bearer", expires_in: ttlSeconds };
  });

  for (const path of [discoveryPath, doubledSlashPath(discoveryPath)]) {
    app.get(path, { config: { route: "discovery" } }, () => ctx.tokens.discovery(ctx.baseUrl));
  }
  app.get(jwksPath, { config: { route: "jwks" } }, () => ctx.tokens.jwks());
}
