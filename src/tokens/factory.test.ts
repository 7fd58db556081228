import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearerTokenSpec } from "../api/v1alpha1/index.ts";
import { clientAssertionType } from "../http/token-endpoint.ts";
import type { ServiceAccountTokens } from "./client-assertion.ts";
import { createIssuer } from "./factory.ts";

let server: Server;
let tokenUrl: string;
const bodies: URLSearchParams[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      bodies.push(new URLSearchParams(body));
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ access_token: "tok", token_type: "Bearer", expires_in: 3599 }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  tokenUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tenant/oauth2/token`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const spec = () =>
  bearerTokenSpec.parse({
    secretName: "t-token",
    oauth2ClientCredentials: {
      tokenUrl,
      resource: "https://app.example",
      clientAssertion: { clientId: "app-1", serviceAccount: { name: "exchanger", expirationSeconds: 900 } },
    },
  });

describe("createIssuer for a ServiceAccount assertion", () => {
  it("asks the TokenRequest API anew for every request and sends its token as the client assertion", async () => {
    const asked: unknown[] = [];
    const tokens: ServiceAccountTokens = {
      request: (account, options) => {
        asked.push({ account, options });
        return Promise.resolve(`sa-token-${asked.length}`);
      },
    };
    const issuer = createIssuer(
      spec(),
      { kind: "serviceAccount", namespace: "team-a" },
      { serviceAccountTokens: tokens },
    );
    bodies.length = 0;
    await issuer.issue();
    await issuer.issue();
    expect(asked).toEqual([
      {
        account: { namespace: "team-a", name: "exchanger" },
        options: { audience: "api://AzureADTokenExchange", expirationSeconds: 900 },
      },
      {
        account: { namespace: "team-a", name: "exchanger" },
        options: { audience: "api://AzureADTokenExchange", expirationSeconds: 900 },
      },
    ]);
    expect(bodies.map((b) => Object.fromEntries(b))).toEqual(
      [1, 2].map((n) => ({
        grant_type: "client_credentials",
        client_id: "app-1",
        client_assertion_type: clientAssertionType,
        client_assertion: `sa-token-${n}`,
        resource: "https://app.example",
      })),
    );
  });

  it("refuses inputs of another kind", () => {
    expect(() => createIssuer(spec(), { kind: "privateKey", privateKeyPem: "x" })).toThrow(
      "the Secret does not hold what the issuer needs",
    );
  });
});
