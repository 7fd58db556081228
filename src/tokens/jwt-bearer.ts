/**
 * RFC 7523 JWT-bearer grant: sign a short-lived assertion with the client's private key and post it
 * to the token endpoint (as a form per the RFC, or as JSON as Federated Directory takes it).
 */
import { randomUUID } from "node:crypto";
import { importPKCS8, SignJWT } from "jose";
import { jwtBearerRequest } from "../http/token-endpoint.ts";
import { systemClock } from "../k8s/clock.ts";
import { TokenError, TokenErrorCode } from "./errors.ts";
import { postGrant, type HttpIssuerOptions } from "./http.ts";
import type { IssuedToken, TokenIssuer } from "./issuer.ts";

/** The grant type URN of RFC 7523 (defined with the request in src/http/token-endpoint.ts). */
export { jwtBearerGrantType } from "../http/token-endpoint.ts";

/** What a JWT-bearer grant needs. */
export interface JwtBearerParams {
  tokenUrl: string;
  /** PKCS#8 PEM private key. */
  privateKeyPem: string;
  algorithm: "RS256" | "ES256";
  keyId?: string;
  issuer: string;
  subject?: string;
  audience: string;
  scopes?: readonly string[];
  assertionLifetimeSeconds: number;
  requestEncoding: "Form" | "JSON";
}

/** A TokenIssuer for the JWT-bearer grant. */
export class JwtBearerIssuer implements TokenIssuer {
  readonly #params: JwtBearerParams;
  readonly #options: HttpIssuerOptions;

  constructor(params: JwtBearerParams, options: HttpIssuerOptions = {}) {
    this.#params = params;
    this.#options = options;
  }

  /** Signs one assertion; exposed for tests and the check-token command. */
  async assertion(now: Date = new Date((this.#options.clock ?? systemClock).now())): Promise<string> {
    const p = this.#params;
    let key: Awaited<ReturnType<typeof importPKCS8>>;
    try {
      key = await importPKCS8(p.privateKeyPem, p.algorithm);
    } catch {
      // jose's message may quote the input; say only what is wrong.
      throw new TokenError(
        TokenErrorCode.InvalidInput,
        `the private key is not a PKCS#8 PEM ${p.algorithm} key`,
      );
    }
    const iat = Math.floor(now.getTime() / 1000);
    const claims: Record<string, unknown> = p.scopes?.length ? { scope: [...p.scopes] } : {};
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: p.algorithm, typ: "JWT", ...(p.keyId ? { kid: p.keyId } : {}) })
      .setIssuer(p.issuer)
      .setAudience(p.audience)
      .setIssuedAt(iat)
      .setExpirationTime(iat + p.assertionLifetimeSeconds)
      .setJti(randomUUID());
    if (p.subject) jwt.setSubject(p.subject);
    return jwt.sign(key);
  }

  async issue(signal?: AbortSignal): Promise<IssuedToken> {
    const p = this.#params;
    const request = jwtBearerRequest(await this.assertion(), p.requestEncoding);
    return postGrant(p.tokenUrl, request, this.#options, signal);
  }
}
