/**
 * Azure AD's checks of a client assertion (RFC 7523 §2.2), in place of a client secret. An assertion
 * whose `iss` is the client id is a certificate credential: its `x5t#S256` (or `x5t`) must name a
 * certificate registered on the app, its signature must verify with that certificate's key, `aud`
 * must be the tenant's token endpoint, the time must be within `nbf`..`exp`, and its `jti` must not
 * have been used before. Any other `iss` is a federated credential: a federated identity record
 * must match its issuer, subject and audience, and the token must verify against the issuer's own
 * OIDC discovery and JWKS. Each refusal carries the AADSTS code Azure AD answers with.
 */
import {
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type ProtectedHeaderParameters,
} from "jose";
import type { AzureClient, AzureEndpoints } from "./azure-directory.ts";
import { OidcFetchError, type OidcKeys } from "./oidc-keys.ts";

/** The only `client_assertion_type` Azure AD takes (RFC 7523 §2.2). */
export const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/** Why an assertion was refused: the status, OAuth2 error and AADSTS code to answer with. */
export interface AssertionRefusal {
  status: number;
  error: string;
  code: number;
  description: string;
}

/** AADSTS codes of the refusals (what login.microsoftonline.com answers for each). */
export const assertionErrorCodes = {
  /** The assertion is not a JWT. */
  malformed: 50027,
  /** iss or sub is not the client id. */
  clientMismatch: 700021,
  /** No registered certificate has the thumbprint, or the signature does not verify. */
  signature: 700027,
  /** Now is not within nbf..exp. */
  timeRange: 700024,
  /** aud is not the token endpoint, or the jti was used before. */
  invalidAssertion: 50013,
  /** No federated identity record matches the issuer. */
  federatedIssuer: 700211,
  /** ... the audience. */
  federatedAudience: 700212,
  /** ... the subject. */
  federatedSubject: 700213,
} as const;

const refuse = (code: number, description: string): AssertionRefusal => ({
  status: 401,
  error: "invalid_client",
  code,
  description,
});

/** The clock skew Azure AD allows on assertion times. */
const clockToleranceSeconds = 0;

function decode(assertion: string): { header: ProtectedHeaderParameters; claims: JWTPayload } | undefined {
  try {
    return { header: decodeProtectedHeader(assertion), claims: decodeJwt(assertion) };
  } catch {
    return undefined;
  }
}

function audiences(claims: JWTPayload): string[] {
  return typeof claims.aud === "string" ? [claims.aud] : (claims.aud ?? []);
}

/** The refusal for a jwtVerify failure other than the signature's. */
function claimRefusal(err: unknown): AssertionRefusal | undefined {
  if (
    err instanceof joseErrors.JWTExpired ||
    (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === "nbf")
  ) {
    return refuse(assertionErrorCodes.timeRange, "Client assertion is not within its valid time range.");
  }
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    return refuse(
      assertionErrorCodes.invalidAssertion,
      `The client assertion's '${err.claim}' claim is missing or invalid.`,
    );
  }
  return undefined;
}

/** Checks `assertion` for `client`; the client when it passes, else the refusal. */
export async function verifyClientAssertion(input: {
  client: AzureClient;
  assertion: string;
  endpoints: AzureEndpoints;
  nowMs: number;
  oidc: OidcKeys;
}): Promise<{ ok: true; client: AzureClient } | { ok: false; refusal: AssertionRefusal }> {
  const { client, assertion } = input;
  const decoded = decode(assertion);
  if (!decoded) {
    return {
      ok: false,
      refusal: refuse(assertionErrorCodes.malformed, "JWT token is invalid or malformed (client_assertion)."),
    };
  }
  const refusal =
    decoded.claims.iss === client.clientId
      ? await certificateRefusal(input, decoded)
      : await federatedRefusal(input, decoded.claims);
  return refusal ? { ok: false, refusal } : { ok: true, client };
}

async function certificateRefusal(
  input: { client: AzureClient; assertion: string; endpoints: AzureEndpoints; nowMs: number },
  { header, claims }: { header: ProtectedHeaderParameters; claims: JWTPayload },
): Promise<AssertionRefusal | undefined> {
  const { client, endpoints, nowMs } = input;
  if (claims.sub !== client.clientId) {
    return refuse(
      assertionErrorCodes.clientMismatch,
      "Client assertion application identifier doesn't match 'client_id' parameter.",
    );
  }
  const s256 = header["x5t#S256"];
  const cert = client.certificates.find((c) =>
    typeof s256 === "string" ? c.x5tS256 === s256 : c.x5t === header["x5t"],
  );
  if (!cert) {
    const id = typeof s256 === "string" ? s256 : String(header["x5t"] ?? "");
    return refuse(
      assertionErrorCodes.signature,
      `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${id}']`,
    );
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(input.assertion, cert.publicKey, {
      algorithms: ["RS256", "PS256"],
      currentDate: new Date(nowMs),
      clockTolerance: clockToleranceSeconds,
      requiredClaims: ["exp", "jti"],
    }));
  } catch (err) {
    return (
      claimRefusal(err) ??
      refuse(assertionErrorCodes.signature, "Client assertion failed signature validation.")
    );
  }
  const aud = audiences(payload);
  if (!aud.some((a) => a === endpoints.tokenUrlV1 || a === endpoints.tokenUrlV2)) {
    return refuse(
      assertionErrorCodes.invalidAssertion,
      `The audience claim of the client assertion must be the token endpoint, not '${aud.join(" ")}'.`,
    );
  }
  const nowSeconds = Math.floor(nowMs / 1000);
  for (const [jti, exp] of client.usedAssertionIds) if (exp < nowSeconds) client.usedAssertionIds.delete(jti);
  const jti = String(payload.jti);
  if (client.usedAssertionIds.has(jti)) {
    return refuse(
      assertionErrorCodes.invalidAssertion,
      `The client assertion with jti '${jti}' has already been used; a client assertion may be used once.`,
    );
  }
  client.usedAssertionIds.set(jti, payload.exp ?? nowSeconds);
  return undefined;
}

async function federatedRefusal(
  input: { client: AzureClient; assertion: string; nowMs: number; oidc: OidcKeys },
  claims: JWTPayload,
): Promise<AssertionRefusal | undefined> {
  const { client } = input;
  const iss = String(claims.iss ?? "");
  const byIssuer = client.federatedCredentials.filter((f) => f.issuer === iss);
  if (byIssuer.length === 0) {
    return refuse(
      assertionErrorCodes.federatedIssuer,
      `No matching federated identity record found for presented assertion issuer '${iss}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.`,
    );
  }
  const sub = String(claims.sub ?? "");
  const bySubject = byIssuer.filter((f) => f.subject === sub);
  if (bySubject.length === 0) {
    return refuse(
      assertionErrorCodes.federatedSubject,
      `No matching federated identity record found for presented assertion subject '${sub}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.`,
    );
  }
  const aud = audiences(claims);
  const record = bySubject.find((f) => f.audiences.some((a) => aud.includes(a)));
  if (!record) {
    return refuse(
      assertionErrorCodes.federatedAudience,
      `No matching federated identity record found for presented assertion audience '${aud.join(" ")}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.`,
    );
  }
  try {
    const kid = decodeProtectedHeader(input.assertion).kid;
    const keys = await input.oidc.keysFor(iss, kid);
    await jwtVerify(input.assertion, keys, {
      issuer: iss,
      subject: sub,
      audience: record.audiences,
      currentDate: new Date(input.nowMs),
      clockTolerance: clockToleranceSeconds,
      requiredClaims: ["exp"],
    });
  } catch (err) {
    if (err instanceof OidcFetchError) {
      return refuse(
        assertionErrorCodes.signature,
        `Unable to obtain the signing keys of issuer '${iss}' to validate the client assertion: ${err.message}.`,
      );
    }
    return (
      claimRefusal(err) ??
      refuse(assertionErrorCodes.signature, "Client assertion failed signature validation.")
    );
  }
  return undefined;
}
