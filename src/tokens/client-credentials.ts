/**
 * OAuth2 client-credentials grant (RFC 6749 §4.4): DataTrails appidp, Azure AD v1 (`resource`) and
 * v2 (`scope=<resource>/.default`), and any other OAuth2 server.
 */
import { clientCredentialsRequest, type ClientCredentialsGrant } from "../http/token-endpoint.ts";
import { postGrant, type HttpIssuerOptions } from "./http.ts";
import type { IssuedToken, TokenIssuer } from "./issuer.ts";

/** What a client-credentials grant needs: where to send it and what it sends. */
export interface ClientCredentialsParams extends ClientCredentialsGrant {
  tokenUrl: string;
}

/** A TokenIssuer for the client-credentials grant. */
export class ClientCredentialsIssuer implements TokenIssuer {
  readonly #params: ClientCredentialsParams;
  readonly #options: HttpIssuerOptions;

  constructor(params: ClientCredentialsParams, options: HttpIssuerOptions = {}) {
    this.#params = params;
    this.#options = options;
  }

  issue(signal?: AbortSignal): Promise<IssuedToken> {
    return postGrant(this.#params.tokenUrl, clientCredentialsRequest(this.#params), this.#options, signal);
  }
}
