/**
 * Builds the TokenIssuer a BearerToken's spec asks for, from the spec and the values of the
 * Secrets it names (read by the controller, in the object's own namespace).
 */
import type { Dispatcher } from "undici";
import { dataTrailsTokenPath, defaultDataTrailsUrl, type BearerTokenSpec } from "../api/v1alpha1/index.ts";
import { ClientCredentialsIssuer } from "./client-credentials.ts";
import { TokenError, TokenErrorCode } from "./errors.ts";
import type { TokenIssuer } from "./issuer.ts";
import { JwtBearerIssuer } from "./jwt-bearer.ts";

/** The values the issuer needs from Secrets. */
export type IssuerInputs =
  | { kind: "clientCredentials"; clientId: string; clientSecret: string; url?: string; tokenUrl?: string }
  | { kind: "privateKey"; privateKeyPem: string };

/** Which issuer kind a spec uses, for metrics and logs. */
export function issuerKind(spec: BearerTokenSpec): "dataTrails" | "oauth2ClientCredentials" | "jwtBearer" {
  if (spec.dataTrails) return "dataTrails";
  if (spec.oauth2ClientCredentials) return "oauth2ClientCredentials";
  return "jwtBearer";
}

/** The DataTrails token endpoint for a base URL. */
export function dataTrailsTokenUrl(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, "")}${dataTrailsTokenPath}`;
}

/** Builds the issuer for `spec` from `inputs`. Throws TokenError InvalidInput when they do not fit. */
export function createIssuer(
  spec: BearerTokenSpec,
  inputs: IssuerInputs,
  options: { dispatcher?: Dispatcher; timeoutMs?: number } = {},
): TokenIssuer {
  const mismatch = () =>
    new TokenError(TokenErrorCode.InvalidInput, "the Secret does not hold what the issuer needs");
  if (spec.dataTrails) {
    if (inputs.kind !== "clientCredentials") throw mismatch();
    const tokenUrl = spec.dataTrails.url
      ? dataTrailsTokenUrl(spec.dataTrails.url)
      : (inputs.tokenUrl ?? dataTrailsTokenUrl(inputs.url ?? defaultDataTrailsUrl));
    return new ClientCredentialsIssuer(
      { tokenUrl, clientId: inputs.clientId, clientSecret: inputs.clientSecret },
      options,
    );
  }
  if (spec.oauth2ClientCredentials) {
    if (inputs.kind !== "clientCredentials") throw mismatch();
    const c = spec.oauth2ClientCredentials;
    return new ClientCredentialsIssuer(
      {
        tokenUrl: c.tokenUrl,
        clientId: inputs.clientId,
        clientSecret: inputs.clientSecret,
        authStyle: c.authStyle,
        ...(c.scopes ? { scopes: c.scopes } : {}),
        ...(c.resource ? { resource: c.resource } : {}),
        ...(c.audience ? { audience: c.audience } : {}),
      },
      options,
    );
  }
  if (spec.jwtBearer) {
    if (inputs.kind !== "privateKey") throw mismatch();
    const j = spec.jwtBearer;
    return new JwtBearerIssuer(
      {
        tokenUrl: j.tokenUrl,
        privateKeyPem: inputs.privateKeyPem,
        algorithm: j.algorithm,
        issuer: j.issuer,
        audience: j.audience,
        assertionLifetimeSeconds: j.assertionLifetimeSeconds,
        requestEncoding: j.requestEncoding,
        ...(j.keyId ? { keyId: j.keyId } : {}),
        ...(j.subject ? { subject: j.subject } : {}),
        ...(j.scopes ? { scopes: j.scopes } : {}),
      },
      options,
    );
  }
  throw new TokenError(TokenErrorCode.InvalidInput, "spec names no issuer");
}
