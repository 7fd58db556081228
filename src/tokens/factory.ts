/**
 * Builds the TokenIssuer a BearerToken's spec asks for, from the spec and the values of the
 * Secrets it names (read by the controller, in the object's own namespace).
 */
import type { Dispatcher } from "undici";
import { systemClock, type Clock } from "../k8s/clock.ts";
import { dataTrailsTokenPath, defaultDataTrailsUrl, type BearerTokenSpec } from "../api/v1alpha1/index.ts";
import { certificateAssertions, type ServiceAccountTokens } from "./client-assertion.ts";
import { ClientCredentialsIssuer } from "./client-credentials.ts";
import { TokenError, TokenErrorCode } from "./errors.ts";
import type { TokenIssuer } from "./issuer.ts";
import { JwtBearerIssuer } from "./jwt-bearer.ts";

/** The values the issuer needs from Secrets. */
export type IssuerInputs =
  | { kind: "clientCredentials"; clientId: string; clientSecret: string; url?: string; tokenUrl?: string }
  | { kind: "privateKey"; privateKeyPem: string }
  /** A `kubernetes.io/tls` Secret's certificate and key, for client assertions. */
  | { kind: "certificate"; certificatePem: string; privateKeyPem: string }
  /** Nothing stored: the ServiceAccount's tokens are asked for at each request, in this namespace. */
  | { kind: "serviceAccount"; namespace: string };

/** What building an issuer may use besides the spec and the inputs. */
export interface IssuerOptions {
  dispatcher?: Dispatcher;
  timeoutMs?: number;
  clock?: Pick<Clock, "now">;
  /** The TokenRequest API, for clientAssertion.serviceAccount. */
  serviceAccountTokens?: ServiceAccountTokens;
}

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
  options: IssuerOptions = {},
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
    const c = spec.oauth2ClientCredentials;
    return new ClientCredentialsIssuer(
      {
        tokenUrl: c.tokenUrl,
        ...clientAuthentication(c, inputs, options),
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

type ClientCredentialsSpec = NonNullable<BearerTokenSpec["oauth2ClientCredentials"]>;

/** How an oauth2ClientCredentials client authenticates: its secret, or a source of client assertions. */
function clientAuthentication(
  c: ClientCredentialsSpec,
  inputs: IssuerInputs,
  options: IssuerOptions,
): Pick<ConstructorParameters<typeof ClientCredentialsIssuer>[0], "clientId" | "clientSecret" | "assertion"> {
  const mismatch = () =>
    new TokenError(TokenErrorCode.InvalidInput, "the Secret does not hold what the issuer needs");
  const a = c.clientAssertion;
  if (!a) {
    if (inputs.kind !== "clientCredentials") throw mismatch();
    return { clientId: inputs.clientId, clientSecret: inputs.clientSecret };
  }
  if (a.certificate) {
    if (inputs.kind !== "certificate") throw mismatch();
    const clock = options.clock ?? systemClock;
    return {
      clientId: a.clientId,
      assertion: certificateAssertions(
        inputs,
        {
          clientId: a.clientId,
          audience: c.tokenUrl,
          lifetimeSeconds: a.certificate.assertionLifetimeSeconds,
        },
        () => clock.now(),
      ),
    };
  }
  const account = a.serviceAccount;
  if (!account || inputs.kind !== "serviceAccount") throw mismatch();
  const tokens = options.serviceAccountTokens;
  if (!tokens) {
    throw new TokenError(
      TokenErrorCode.InvalidInput,
      "no TokenRequest client to ask for ServiceAccount tokens",
    );
  }
  return {
    clientId: a.clientId,
    assertion: (signal) =>
      tokens.request(
        { namespace: inputs.namespace, name: account.name },
        { audience: account.audience, expirationSeconds: account.expirationSeconds },
        signal,
      ),
  };
}
