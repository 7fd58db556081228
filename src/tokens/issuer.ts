/**
 * The TokenIssuer port: something that hands out bearer tokens. Implementations: client
 * credentials (DataTrails appidp, Azure AD v1/v2, any OAuth2 server) and RFC 7523 JWT-bearer.
 */
import { decodeJwt } from "jose";

/** A token as the issuer returned it, with when it was received. */
export interface IssuedToken {
  accessToken: string;
  tokenType: string;
  /** expires_in as returned, in seconds. */
  expiresInSeconds: number;
  receivedAt: Date;
}

/** Hands out bearer tokens. */
export interface TokenIssuer {
  /** Obtains a new token. Throws TokenError. */
  issue(signal?: AbortSignal): Promise<IssuedToken>;
}

/** The `exp` and `iat` claims of a JWT, read without verifying it (verify.ts verifies). */
export function jwtTimes(token: string): { exp?: number; iat?: number } {
  try {
    const claims = decodeJwt(token);
    return {
      ...(typeof claims.exp === "number" ? { exp: claims.exp } : {}),
      ...(typeof claims.iat === "number" ? { iat: claims.iat } : {}),
    };
  } catch {
    // Not a JWT (opaque tokens are legal in OAuth2): expires_in alone decides.
    return {};
  }
}
