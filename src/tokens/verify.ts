/**
 * Token verification before a token is published (BearerToken spec.verify) and by `check-token`:
 * the signature against the issuer's keys (OIDC discovery → jwks_uri, or a JWKS URL), then iss, aud,
 * exp/nbf/iat with a clock-skew allowance, and required roles. Each failure has a message of its
 * own that names what is wrong and never contains the token.
 */
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
} from "jose";
import { request } from "undici";
import { z } from "zod";
import { systemClock, type Clock } from "../k8s/clock.ts";
import { TokenError, TokenErrorCode } from "./errors.ts";

/** What to check. Exactly one of discoveryUrl and jwksUrl. */
export interface VerifyOptions {
  discoveryUrl?: string | undefined;
  jwksUrl?: string | undefined;
  /** Expected iss; defaults to the discovery document's issuer. */
  issuer?: string | undefined;
  /** aud must contain one of these. */
  audiences?: readonly string[] | undefined;
  /** The roles claim must hold each of these. */
  requiredRoles?: readonly string[] | undefined;
  clockSkewSeconds: number;
  /** The time iat, nbf and exp are judged against, and discovery is cached by (default the system clock). */
  clock?: Pick<Clock, "now"> | undefined;
}

/** What verification found. */
export interface Verified {
  header: Record<string, unknown>;
  claims: JWTPayload;
  issuer: string | undefined;
  jwksUrl: string;
}

const discoveryDocument = z.object({ issuer: z.string().min(1), jwks_uri: z.string().url() }).passthrough();

type KeySet = ReturnType<typeof createRemoteJWKSet>;
const keySets = new Map<string, KeySet>();
const discoveries = new Map<string, { issuer: string; jwksUrl: string; at: number }>();
const discoveryTtlMs = 60 * 60 * 1000;

async function discover(
  url: string,
  timeoutMs: number,
  clock: Pick<Clock, "now">,
): Promise<{ issuer: string; jwksUrl: string }> {
  const cached = discoveries.get(url);
  if (cached && clock.now() - cached.at < discoveryTtlMs) return cached;
  const host = new URL(url).host;
  let body: unknown;
  try {
    const res = await request(url, {
      method: "GET",
      headers: { accept: "application/json" },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) {
      throw new TokenError(
        TokenErrorCode.Unavailable,
        `discovery document at ${host} answered ${res.statusCode}`,
        {
          status: res.statusCode,
        },
      );
    }
    body = JSON.parse(text);
  } catch (err) {
    if (err instanceof TokenError) throw err;
    throw new TokenError(TokenErrorCode.Unavailable, `discovery document at ${host} could not be read`);
  }
  const parsed = discoveryDocument.safeParse(body);
  if (!parsed.success)
    throw new TokenError(
      TokenErrorCode.MalformedResponse,
      `discovery document at ${host} has no issuer or jwks_uri`,
    );
  const found = { issuer: parsed.data.issuer, jwksUrl: parsed.data.jwks_uri, at: clock.now() };
  discoveries.set(url, found);
  return found;
}

function keySet(url: string, timeoutMs: number): KeySet {
  let set = keySets.get(url);
  if (!set) {
    set = createRemoteJWKSet(new URL(url), {
      timeoutDuration: timeoutMs,
      cooldownDuration: 30_000,
      cacheMaxAge: 10 * 60_000,
    });
    keySets.set(url, set);
  }
  return set;
}

function fail(message: string): TokenError {
  return new TokenError(TokenErrorCode.VerificationFailed, message);
}

function rolesOf(claims: JWTPayload): string[] {
  const roles = claims["roles"];
  if (Array.isArray(roles)) return roles.filter((r): r is string => typeof r === "string");
  if (typeof roles === "string") return roles.split(" ");
  return [];
}

/** Verifies `token`; throws TokenError VerificationFailed (or Unavailable when the keys cannot be fetched). */
export async function verifyToken(
  token: string,
  options: VerifyOptions,
  timeoutMs = 5000,
): Promise<Verified> {
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token);
    decodeJwt(token);
  } catch {
    throw fail("the token is not a JWT");
  }
  const clock = options.clock ?? systemClock;
  let issuer = options.issuer;
  let jwksUrl = options.jwksUrl;
  if (options.discoveryUrl) {
    const found = await discover(options.discoveryUrl, timeoutMs, clock);
    issuer ??= found.issuer;
    jwksUrl = found.jwksUrl;
  }
  if (!jwksUrl) throw new TokenError(TokenErrorCode.InvalidInput, "verify needs discoveryUrl or jwksUrl");

  let claims: JWTPayload;
  try {
    const result = await jwtVerify(token, keySet(jwksUrl, timeoutMs), {
      clockTolerance: options.clockSkewSeconds,
      currentDate: new Date(clock.now()),
      ...(issuer ? { issuer } : {}),
      ...(options.audiences?.length ? { audience: [...options.audiences] } : {}),
    });
    claims = result.payload;
  } catch (err) {
    throw verificationError(err, token, issuer, options, new URL(jwksUrl).host);
  }
  const held = rolesOf(claims);
  const missing = (options.requiredRoles ?? []).filter((r) => !held.includes(r));
  if (missing.length)
    throw fail(`the token's roles claim lacks ${missing.join(", ")} (it has ${held.join(", ") || "none"})`);
  return { header, claims, issuer, jwksUrl };
}

function verificationError(
  err: unknown,
  token: string,
  issuer: string | undefined,
  options: VerifyOptions,
  host: string,
): TokenError {
  const claims = decodeJwt(token);
  if (err instanceof errors.JWTExpired) {
    const exp = typeof claims.exp === "number" ? new Date(claims.exp * 1000).toISOString() : "?";
    return fail(`the token expired at ${exp}`);
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case "aud":
        return fail(
          `the token's aud (${String(claims.aud)}) includes none of ${(options.audiences ?? []).join(", ")}`,
        );
      case "iss":
        return fail(`the token's iss is ${String(claims.iss)}, expected ${issuer ?? "?"}`);
      case "nbf":
        return fail("the token is not valid yet (nbf is in the future)");
      case "iat":
        return fail("the token's iat is in the future");
      default:
        return fail(`the token's ${err.claim} claim is invalid (${err.reason})`);
    }
  }
  if (err instanceof errors.JWKSNoMatchingKey) {
    const kid = decodeProtectedHeader(token).kid;
    return fail(`no key${kid ? ` with kid ${kid}` : ""} at ${host} matches the token's signature`);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return fail(`the signature does not verify against the keys at ${host}`);
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported)
    return fail("the token's algorithm is not supported");
  if (err instanceof errors.JWKSTimeout)
    return new TokenError(TokenErrorCode.Timeout, `fetching the keys at ${host} timed out`);
  if (err instanceof errors.JWKSInvalid)
    return new TokenError(TokenErrorCode.MalformedResponse, `the JWKS at ${host} is invalid`);
  if (err instanceof errors.JOSEError) return fail(`the token is invalid (${err.code})`);
  return new TokenError(TokenErrorCode.Unavailable, `fetching the keys at ${host} failed`);
}
