/**
 * OAuth2 client-credentials grant (RFC 6749 §4.4): DataTrails appidp, Azure AD v1 (`resource`) and
 * v2 (`scope=<resource>/.default`), and any other OAuth2 server.
 */
import { postGrant, type HttpIssuerOptions } from "./http.ts";
import type { IssuedToken, TokenIssuer } from "./issuer.ts";

/** What a client-credentials grant needs. */
export interface ClientCredentialsParams {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scopes?: readonly string[];
  resource?: string;
  audience?: string;
  /** Credentials in the form body (the default; what DataTrails documents) or as HTTP Basic auth. */
  authStyle?: "Body" | "Basic";
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
    const p = this.#params;
    const form = new URLSearchParams({ grant_type: "client_credentials" });
    const headers: Record<string, string> = {};
    if (p.authStyle === "Basic") {
      // RFC 6749 §2.3.1: each part is form-urlencoded before the Basic encoding.
      const user = encodeURIComponent(p.clientId);
      const pass = encodeURIComponent(p.clientSecret);
      headers["authorization"] = `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
    } else {
      form.set("client_id", p.clientId);
      form.set("client_secret", p.clientSecret);
    }
    if (p.scopes?.length) form.set("scope", p.scopes.join(" "));
    if (p.resource) form.set("resource", p.resource);
    if (p.audience) form.set("audience", p.audience);
    return postGrant(
      p.tokenUrl,
      { contentType: "application/x-www-form-urlencoded", text: form.toString() },
      headers,
      this.#options,
      signal,
    );
  }
}
