/**
 * Bearer authentication for the emulator's API routes: the token must be one this emulator issued
 * and not expired by the emulator's clock. Tokens are stateless, as DataTrails documents: a rotated
 * or expired secret does not revoke tokens already issued, and neither does deleting the
 * application (whose token then carries no role).
 */
import type { FastifyRequest } from "fastify";
import type { Caller } from "./abac.ts";
import type { EmulatorContext } from "./context.ts";
import { permissionDenied, unauthenticated } from "./errors.ts";
import { ownerRole } from "./state.ts";

/** The caller behind the request's bearer token, or a 401. */
export async function authenticate(ctx: EmulatorContext, request: FastifyRequest): Promise<Caller> {
  const header = request.headers.authorization;
  const match = typeof header === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  const token = match?.[1];
  if (token === undefined) throw unauthenticated("missing bearer token");
  let claims: Record<string, unknown>;
  try {
    claims = await ctx.tokens.verify(token, { baseUrl: ctx.baseUrl, nowMs: ctx.clock.now() });
  } catch {
    throw unauthenticated("invalid or expired bearer token");
  }
  const clientId = typeof claims["sub"] === "string" ? claims["sub"] : "";
  const app = ctx.state.getApplication(clientId);
  return { clientId, owner: app?.roles.includes(ownerRole) ?? false, claims };
}

/** The caller, who must be an OWNER (administrator): 401 without a token, 403 without the role. */
export async function authenticateOwner(ctx: EmulatorContext, request: FastifyRequest): Promise<Caller> {
  const caller = await authenticate(ctx, request);
  if (!caller.owner) throw permissionDenied("caller is not an administrator (OWNER) of the tenant");
  return caller;
}
