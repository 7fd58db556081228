/**
 * The signing keys of external OpenID issuers, as Azure AD fetches them to check federated
 * credentials: `<issuer>/.well-known/openid-configuration`, then its `jwks_uri`. Keys are cached
 * per issuer and fetched again when a token names a kid the cache does not hold. Outbound HTTPS
 * trusts the system's roots plus any CA certificates the emulator was given (a test cluster's CA).
 */
import { rootCertificates } from "node:tls";
import { createLocalJWKSet, type JWTVerifyGetKey } from "jose";
import { Agent, request } from "undici";
import { z } from "zod";

const discoverySchema = z.object({ issuer: z.string(), jwks_uri: z.url() });
const jwksSchema = z.object({ keys: z.array(z.record(z.string(), z.unknown())) });

// A Kubernetes API server answers its JWKS only to a client that accepts jwk-set+json (406 otherwise).
const accept = "application/json, application/jwk-set+json";

/** Why an issuer's keys could not be had. */
export class OidcFetchError extends Error {
  override readonly name = "OidcFetchError";
}

/** Fetches and caches issuers' key sets. */
export class OidcKeys {
  readonly #agent: Agent;
  readonly #cache = new Map<string, { kids: Set<string>; get: JWTVerifyGetKey }>();

  constructor(options: { caCertificates?: readonly string[] | undefined } = {}) {
    const extra = options.caCertificates ?? [];
    this.#agent = new Agent({
      connect: extra.length > 0 ? { ca: [...rootCertificates, ...extra] } : {},
      headersTimeout: 5_000,
      bodyTimeout: 5_000,
    });
  }

  /** The key lookup for `issuer`, fresh when `kid` is not among the cached keys. */
  async keysFor(issuer: string, kid: string | undefined): Promise<JWTVerifyGetKey> {
    const cached = this.#cache.get(issuer);
    if (cached && (kid === undefined || cached.kids.has(kid))) return cached.get;
    const discovery = discoverySchema.safeParse(
      await this.#json(`${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`),
    );
    if (!discovery.success) throw new OidcFetchError("the discovery document has no issuer or jwks_uri");
    if (discovery.data.issuer !== issuer) {
      throw new OidcFetchError(`the discovery document names issuer ${discovery.data.issuer}`);
    }
    const jwks = jwksSchema.safeParse(await this.#json(discovery.data.jwks_uri));
    if (!jwks.success) throw new OidcFetchError("the JWKS has no keys");
    const set = jwks.data;
    const entry = {
      kids: new Set(set.keys.map((k) => k.kid).filter((k): k is string => typeof k === "string")),
      get: createLocalJWKSet(set),
    };
    this.#cache.set(issuer, entry);
    return entry.get;
  }

  /** Forgets every cached key set. */
  clear(): void {
    this.#cache.clear();
  }

  /** Closes the outbound connections. */
  close(): Promise<void> {
    return this.#agent.close();
  }

  async #json(url: string): Promise<unknown> {
    let response: Awaited<ReturnType<typeof request>>;
    try {
      response = await request(url, { dispatcher: this.#agent, headers: { accept } });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      throw new OidcFetchError(
        `cannot fetch ${url}: ${typeof code === "string" ? code : "connection error"}`,
      );
    }
    const text = await response.body.text();
    if (response.statusCode !== 200) throw new OidcFetchError(`${url} answered ${response.statusCode}`);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new OidcFetchError(`${url} did not answer JSON`);
    }
  }
}
