/**
 * OAuth2 client-credentials grant (RFC 6749 §4.4): DataTrails appidp, Azure AD v1 (`resource`) and
 * v2 (`scope=<resource>/.default`), and any other OAuth2 server. The client authenticates with a
 * secret, or with a JWT client assertion (RFC 7523 §2.2) made anew for every request.
 */
import { clientCredentialsRequest, type ClientCredentialsGrant } from "../http/token-endpoint.ts";
import type { AssertionSource } from "./client-assertion.ts";
import { postGrant, type HttpIssuerOptions } from "./http.ts";
import type { IssuedToken, TokenIssuer } from "./issuer.ts";

/** What a client-credentials grant needs: where to send it and what it sends. */
export interface ClientCredentialsParams extends Omit<ClientCredentialsGrant, "clientAssertion"> {
  tokenUrl: string;
  /** Makes the client assertion of each request, in place of a client secret. */
  assertion?: AssertionSource;
}

/** A TokenIssuer for the client-credentials grant. */
export class ClientCredentialsIssuer implements TokenIssuer {
  readonly #params: ClientCredentialsParams;
  readonly #options: HttpIssuerOptions;

  constructor(params: ClientCredentialsParams, options: HttpIssuerOptions = {}) {
    this.#params = params;
    this.#options = options;
  }

  async issue(signal?: AbortSignal): Promise<IssuedToken> {
    const { assertion, ...grant } = this.#params;
    const request = clientCredentialsRequest(
      assertion ? { ...grant, clientAssertion: await assertion(signal) } : grant,
    );
    return postGrant(this.#params.tokenUrl, request, this.#options, signal);
  }
}
