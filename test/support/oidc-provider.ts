/**
 * An independent, certified OpenID Provider (panva's oidc-provider) on 127.0.0.1 and a free port,
 * set up for the client-credentials grant only: two clients (one registered for
 * `client_secret_post` with scope `read`, one for `client_secret_basic` with `read write`), one
 * resource server whose access tokens are RS256 JWTs (`typ: at+jwt`) with `aud` = the resource, and
 * an RSA key generated at start. Tests use it to check the operator's issuers against a server the
 * project did not write. Note that oidc-provider v9 accepts either secret method from a client
 * registered for one of them, and drops requested scopes it does not know rather than refusing.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair } from "jose";
import Provider, { errors } from "oidc-provider";

/** A client registered with the provider, and how it authenticates. */
export interface OidcProviderClient {
  clientId: string;
  clientSecret: string;
  authMethod: "client_secret_post" | "client_secret_basic";
  /** Scopes it may ask for. */
  scopes: string[];
}

/** A running provider. */
export interface RunningOidcProvider {
  /** The issuer identifier, `http://127.0.0.1:<port>`. */
  issuer: string;
  tokenUrl: string;
  discoveryUrl: string;
  /** The resource indicator of its one API: the access tokens' `aud`, and the default resource. */
  resource: string;
  /** `expires_in` of its access tokens. */
  accessTokenTtlSeconds: number;
  clients: OidcProviderClient[];
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/** Starts the provider and resolves once it listens. */
export async function startOidcProvider(
  options: { accessTokenTtlSeconds?: number } = {},
): Promise<RunningOidcProvider> {
  const ttl = options.accessTokenTtlSeconds ?? 300;
  const resource = "https://api.example.test/";
  const scopes = ["read", "write"];
  // Secrets with characters RFC 6749 §2.3.1 makes Basic-auth clients form-urlencode.
  const secret = () => `${randomBytes(24).toString("base64url")}+/:~`;
  const clients: OidcProviderClient[] = [
    { clientId: "post-client", clientSecret: secret(), authMethod: "client_secret_post", scopes: ["read"] },
    { clientId: "basic-client", clientSecret: secret(), authMethod: "client_secret_basic", scopes },
  ];
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), alg: "RS256", use: "sig" };

  // The issuer names the port, which is known only once the server listens.
  const ready: { handler?: (req: IncomingMessage, res: ServerResponse) => void } = {};
  const server = createServer((req, res) => {
    if (ready.handler) ready.handler(req, res);
    else res.writeHead(503).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const provider = new Provider(issuer, {
    clients: clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      token_endpoint_auth_method: c.authMethod,
      grant_types: ["client_credentials"],
      response_types: [],
      redirect_uris: [],
      scope: c.scopes.join(" "),
    })),
    scopes,
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString("hex")] },
    ttl: { ClientCredentials: ttl },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // A request that names no resource gets the one API, so every token is a JWT with an aud.
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, indicator: string) => {
          if (indicator !== resource) throw new errors.InvalidTarget();
          return {
            scope: scopes.join(" "),
            audience: resource,
            accessTokenTTL: ttl,
            accessTokenFormat: "jwt",
            jwt: { sign: { alg: "RS256" } },
          };
        },
      },
    },
  });
  ready.handler = provider.callback();

  return {
    issuer,
    tokenUrl: `${issuer}/token`,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    resource,
    accessTokenTtlSeconds: ttl,
    clients: clients.map((c) => ({ ...c, scopes: [...c.scopes] })),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
