/**
 * RFC 7523 client authentication (§2.2): the client proves who it is with a signed JWT instead of a
 * secret. Two sources of that JWT: an assertion the operator signs with a certificate's private key
 * (Azure AD "certificate credentials", headers `x5t#S256` and `x5t`), or a ServiceAccount token the
 * API server issues (workload identity federation), asked for anew through the TokenRequest API.
 * A new assertion is made for every token request; keys and assertions never reach a message.
 */
import { createHash, createPrivateKey, randomUUID, X509Certificate, type KeyObject } from "node:crypto";
import { SignJWT } from "jose";
import { TokenError, TokenErrorCode } from "./errors.ts";

/** Makes one client assertion per call; throws TokenError. */
export type AssertionSource = (signal?: AbortSignal) => Promise<string>;

/** A certificate and its private key, as a `kubernetes.io/tls` Secret holds them (PEM). */
export interface CertificateCredential {
  certificatePem: string;
  privateKeyPem: string;
}

/** The certificate's SHA-1 and SHA-256 thumbprints, base64url: the `x5t` and `x5t#S256` headers. */
export function certificateThumbprints(certificatePem: string): { x5t: string; x5tS256: string } {
  const der = parseCertificate(certificatePem).raw;
  return {
    x5t: createHash("sha1").update(der).digest("base64url"),
    x5tS256: createHash("sha256").update(der).digest("base64url"),
  };
}

function parseCertificate(pem: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw new TokenError(TokenErrorCode.InvalidInput, "tls.crt is not a PEM X.509 certificate");
  }
}

/** The certificate and a private key that belongs to it, checked once (never quoting either). */
export function loadCertificateCredential(credential: CertificateCredential): {
  certificate: X509Certificate;
  key: KeyObject;
} {
  const certificate = parseCertificate(credential.certificatePem);
  let key: KeyObject;
  try {
    key = createPrivateKey(credential.privateKeyPem);
  } catch {
    throw new TokenError(TokenErrorCode.InvalidInput, "tls.key is not a PEM private key");
  }
  // Azure AD signs and checks client assertions with RSA (RS256) only.
  if (key.asymmetricKeyType !== "rsa") {
    throw new TokenError(
      TokenErrorCode.InvalidInput,
      "tls.key is not an RSA key (Azure AD takes RS256 only)",
    );
  }
  if (!certificate.checkPrivateKey(key)) {
    throw new TokenError(
      TokenErrorCode.InvalidInput,
      "tls.key does not belong to the certificate in tls.crt",
    );
  }
  return { certificate, key };
}

/** What a certificate assertion says: who signs it, for which token endpoint, for how long. */
export interface CertificateAssertionParams {
  clientId: string;
  /** The token endpoint URL: Azure AD wants it as `aud`. */
  audience: string;
  lifetimeSeconds: number;
}

/**
 * A source of client assertions signed with the certificate's key: RS256 with `x5t#S256` (and
 * `x5t`, which v1 endpoints read), `iss` = `sub` = client id, `aud` = the token endpoint, a fresh
 * `jti`, `nbf` = `iat` = now and a short `exp`.
 */
export function certificateAssertions(
  credential: CertificateCredential,
  params: CertificateAssertionParams,
  now: () => number,
): AssertionSource {
  const { key } = loadCertificateCredential(credential);
  const { x5t, x5tS256 } = certificateThumbprints(credential.certificatePem);
  return async () => {
    const iat = Math.floor(now() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: "RS256", typ: "JWT", x5t, "x5t#S256": x5tS256 })
      .setIssuer(params.clientId)
      .setSubject(params.clientId)
      .setAudience(params.audience)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + params.lifetimeSeconds)
      .setJti(randomUUID())
      .sign(key);
  };
}

/** Asks the API server for a ServiceAccount token (the TokenRequest API); throws TokenError. */
export interface ServiceAccountTokens {
  request(
    account: { namespace: string; name: string },
    options: { audience: string; expirationSeconds: number },
    signal?: AbortSignal,
  ): Promise<string>;
}
