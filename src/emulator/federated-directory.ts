/**
 * The emulator's RFC 7523 JWT-bearer issuer, shaped like Federated Directory's: clients register a
 * public key under their assertion `iss`; an assertion is accepted when its signature verifies with
 * that key, `aud` is the configured audience ("key" by default), it has not expired, lives at most
 * an hour, was not issued in the future, and its `jti` has not been used before (remembered until
 * the assertion's `exp`). The answer is an RS256 access token, 8 h by default.
 */
import { createPublicKey, randomBytes, type KeyObject } from "node:crypto";
import { decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload } from "jose";
import { z } from "zod";
import { invalidArgument } from "./errors.ts";
import { KeySet } from "./key-set.ts";
import { OAuthError } from "./oauth-errors.ts";

/** The grant type URN of RFC 7523. */
export const jwtBearerGrantType = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/** The issuer's path under the base URL. */
export const federatedIssuerPath = "/federated";
/** The token endpoint path. */
export const federatedTokenPath = `${federatedIssuerPath}/api/token`;
/** The discovery document path. */
export const federatedDiscoveryPath = `${federatedIssuerPath}/.well-known/openid-configuration`;
/** The JWKS path. */
export const federatedJwksPath = `${federatedIssuerPath}/.well-known/jwks.json`;
/** The `aud` of the access tokens it issues: its API. */
export const federatedApiPath = `${federatedIssuerPath}/api`;

/** Leeway for `iat` in the future and for `exp`, against clocks a little apart. */
export const clockSkewSeconds = 30;

/** A JWT-bearer client: the assertion issuer, its public key (PEM or JWK), the scopes it may ask for. */
export const jwtBearerClientInputSchema = z
  .object({
    issuer: z.string().min(1),
    publicKeyPem: z.string().min(1).optional(),
    jwk: z.record(z.string(), z.unknown()).optional(),
    /** Scopes the client may ask for; it gets all of them when it asks for none. Default none. */
    allowedScopes: z.array(z.string().min(1)).optional(),
  })
  .refine((c) => (c.publicKeyPem === undefined) !== (c.jwk === undefined), {
    message: "give exactly one of publicKeyPem and jwk",
  });

/** Input of {@link FederatedDirectory.registerClient}. */
export type JwtBearerClientInput = z.input<typeof jwtBearerClientInputSchema>;

/** A registered client as state inspection shows it. */
export interface JwtBearerClientSnapshot {
  issuer: string;
  algorithm: "RS256" | "ES256";
  allowedScopes: string[];
}

/** Settings of the JWT-bearer issuer that may change while the emulator runs. */
export interface FederatedSettings {
  /** `expires_in` of issued tokens (Federated Directory's 8 h by default). */
  tokenTtlSeconds: number;
  /** The `aud` assertions must carry ("key", as Federated Directory documents). */
  audience: string;
  /** The longest `exp − iat` an assertion may have (one hour by default). */
  maxAssertionLifetimeSeconds: number;
}

interface Client extends JwtBearerClientSnapshot {
  key: KeyObject;
}

function importKey(input: z.output<typeof jwtBearerClientInputSchema>): Client {
  let key: KeyObject;
  try {
    key =
      input.jwk !== undefined
        ? createPublicKey({ key: input.jwk, format: "jwk" })
        : createPublicKey(input.publicKeyPem ?? "");
  } catch {
    throw invalidArgument("the public key is not a PEM or JWK public key");
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const algorithm =
    key.asymmetricKeyType === "rsa"
      ? "RS256"
      : key.asymmetricKeyType === "ec" && curve === "prime256v1"
        ? "ES256"
        : undefined;
  if (!algorithm) throw invalidArgument("the public key must be RSA (RS256) or EC P-256 (ES256)");
  return { issuer: input.issuer, algorithm, allowedScopes: [...(input.allowedScopes ?? [])], key };
}

const denied = (description: string) => new OAuthError(401, "invalid_grant", description);

/** Why jose refused an assertion, without quoting it. */
function refusal(err: unknown, settings: FederatedSettings): OAuthError {
  if (err instanceof joseErrors.JWTExpired) return denied("the assertion has expired");
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === "aud") return denied(`the assertion's aud must be "${settings.audience}"`);
    return denied(`the assertion's ${err.claim} claim is missing or invalid`);
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed)
    return denied("the assertion is signed with another algorithm");
  return denied("the assertion's signature does not verify with the registered key");
}

/** Scopes an assertion asks for: a JSON array (as Federated Directory sends) or a space-separated string. */
function requestedScopes(claims: JWTPayload): string[] | undefined {
  const scope = claims["scope"];
  if (scope === undefined) return [];
  if (typeof scope === "string") return scope.split(" ").filter((s) => s !== "");
  if (Array.isArray(scope) && scope.every((s) => typeof s === "string")) return scope;
  return undefined;
}

/** The registered clients, the replay cache, the signing keys and the settings. */
export class FederatedDirectory {
  readonly keys = new KeySet();
  readonly settings: FederatedSettings;
  readonly #initialSettings: Readonly<FederatedSettings>;
  readonly #clients = new Map<string, Client>();
  /** `iss \n jti` → the assertion's exp in ms. */
  readonly #seen = new Map<string, number>();

  constructor(options: Partial<FederatedSettings> = {}) {
    this.#initialSettings = {
      tokenTtlSeconds: options.tokenTtlSeconds ?? 28_800,
      audience: options.audience ?? "key",
      maxAssertionLifetimeSeconds: options.maxAssertionLifetimeSeconds ?? 3600,
    };
    this.settings = { ...this.#initialSettings };
  }

  /** Registers (or replaces) the client whose assertions carry `issuer`. Throws 400 for a bad key. */
  registerClient(input: JwtBearerClientInput): JwtBearerClientSnapshot {
    const parsed = jwtBearerClientInputSchema.safeParse(input);
    if (!parsed.success) throw invalidArgument(parsed.error.issues[0]?.message ?? "invalid client");
    const client = importKey(parsed.data);
    this.#clients.set(client.issuer, client);
    return { issuer: client.issuer, algorithm: client.algorithm, allowedScopes: [...client.allowedScopes] };
  }

  /** Removes a client; false when there was none. */
  removeClient(issuer: string): boolean {
    return this.#clients.delete(issuer);
  }

  /** Every registered client. */
  clients(): JwtBearerClientSnapshot[] {
    return [...this.#clients.values()].map((c) => ({
      issuer: c.issuer,
      algorithm: c.algorithm,
      allowedScopes: [...c.allowedScopes],
    }));
  }

  /** Checks an assertion and signs the access token it earns. Throws OAuthError. */
  async exchange(
    assertion: string,
    nowMs: number,
    baseUrl: string,
  ): Promise<{ accessToken: string; expiresIn: number; scopes: string[] }> {
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(assertion);
    } catch {
      throw new OAuthError(400, "invalid_grant", "the assertion is not a JWT");
    }
    const client = typeof unverified.iss === "string" ? this.#clients.get(unverified.iss) : undefined;
    if (!client) throw denied("the assertion's issuer is not registered");

    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(assertion, client.key, {
        algorithms: [client.algorithm],
        issuer: client.issuer,
        audience: this.settings.audience,
        currentDate: new Date(nowMs),
        clockTolerance: clockSkewSeconds,
        requiredClaims: ["exp", "iat", "jti"],
      }));
    } catch (err) {
      throw refusal(err, this.settings);
    }
    const now = Math.floor(nowMs / 1000);
    const iat = claims.iat as number;
    const exp = claims.exp as number;
    if (iat > now + clockSkewSeconds) throw denied("the assertion's iat is in the future");
    if (exp - iat > this.settings.maxAssertionLifetimeSeconds) {
      throw denied(`the assertion lives longer than ${this.settings.maxAssertionLifetimeSeconds} seconds`);
    }
    for (const [k, until] of this.#seen) if (until + clockSkewSeconds * 1000 <= nowMs) this.#seen.delete(k);
    const seenKey = `${client.issuer}\n${String(claims.jti)}`;
    if (this.#seen.has(seenKey)) throw denied("the assertion's jti was used before");

    const requested = requestedScopes(claims);
    if (requested === undefined) throw new OAuthError(400, "invalid_scope", "scope must be strings");
    const notAllowed = requested.filter((s) => !client.allowedScopes.includes(s));
    if (notAllowed.length > 0) {
      throw new OAuthError(
        400,
        "invalid_scope",
        `scope not allowed for this issuer: ${notAllowed.join(" ")}`,
      );
    }
    this.#seen.set(seenKey, exp * 1000);

    const scopes = requested.length > 0 ? requested : [...client.allowedScopes];
    const ttl = this.settings.tokenTtlSeconds;
    const accessToken = await this.keys.sign(
      {
        iss: `${baseUrl}${federatedIssuerPath}`,
        aud: `${baseUrl}${federatedApiPath}`,
        sub: client.issuer,
        client_id: client.issuer,
        scope: scopes.join(" "),
        jti: randomBytes(16).toString("base64url"),
        iat: now,
        exp: now + ttl,
      },
      "at+jwt",
    );
    return { accessToken, expiresIn: ttl, scopes };
  }

  /** The discovery document for the issuer under `baseUrl`. */
  discovery(baseUrl: string): Record<string, unknown> {
    return {
      issuer: `${baseUrl}${federatedIssuerPath}`,
      token_endpoint: `${baseUrl}${federatedTokenPath}`,
      jwks_uri: `${baseUrl}${federatedJwksPath}`,
      grant_types_supported: [jwtBearerGrantType],
      token_endpoint_auth_methods_supported: ["none"],
      token_endpoint_auth_signing_alg_values_supported: ["RS256", "ES256"],
      response_types_supported: ["token"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["RS256"],
      claims_supported: ["iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"],
    };
  }

  /** Back to the start: no clients, no remembered jti, settings as started; the keys stay. */
  reset(): void {
    this.#clients.clear();
    this.#seen.clear();
    Object.assign(this.settings, this.#initialSettings);
  }
}
