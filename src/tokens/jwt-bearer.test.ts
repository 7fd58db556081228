import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportPKCS8, generateKeyPair, jwtVerify, type CryptoKey } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JwtBearerIssuer, jwtBearerGrantType, type JwtBearerParams } from "./jwt-bearer.ts";

let server: Server;
let tokenUrl: string;
const received: { contentType: string | undefined; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      received.push({ contentType: req.headers["content-type"], body });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ access_token: "fd-token", token_type: "Bearer", expires_in: 28800 }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  tokenUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/token`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function keys(alg: "RS256" | "ES256"): Promise<{ pem: string; publicKey: CryptoKey }> {
  const pair = await generateKeyPair(alg, { extractable: true });
  return { pem: await exportPKCS8(pair.privateKey), publicKey: pair.publicKey };
}

const base = (pem: string, over: Partial<JwtBearerParams> = {}): JwtBearerParams => ({
  tokenUrl,
  privateKeyPem: pem,
  algorithm: "RS256",
  issuer: "client-123",
  audience: "key",
  scopes: ["directoryKey"],
  assertionLifetimeSeconds: 300,
  requestEncoding: "JSON",
  ...over,
});

describe("JwtBearerIssuer", () => {
  it.each(["RS256", "ES256"] as const)(
    "signs a %s assertion the public key verifies, with Federated Directory's claims",
    async (alg) => {
      const { pem, publicKey } = await keys(alg);
      const now = new Date();
      const assertion = await new JwtBearerIssuer(base(pem, { algorithm: alg, keyId: "k1" })).assertion(now);
      const { payload, protectedHeader } = await jwtVerify(assertion, publicKey, {
        issuer: "client-123",
        audience: "key",
      });
      expect(protectedHeader).toMatchObject({ alg, kid: "k1" });
      expect(payload.scope).toEqual(["directoryKey"]);
      expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(300);
      expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
    },
  );

  it("posts the grant as JSON for Federated Directory and honours its 8-hour expires_in", async () => {
    const { pem } = await keys("RS256");
    const token = await new JwtBearerIssuer(base(pem)).issue();
    expect(token).toMatchObject({ accessToken: "fd-token", expiresInSeconds: 28800 });
    const last = received.at(-1);
    expect(last?.contentType).toBe("application/json");
    const sent = JSON.parse(last?.body ?? "{}") as { grant_type?: string; assertion?: string };
    expect(sent.grant_type).toBe(jwtBearerGrantType);
    expect(sent.assertion?.split(".")).toHaveLength(3);
  });

  it("posts the grant as a form per RFC 7523", async () => {
    const { pem } = await keys("ES256");
    await new JwtBearerIssuer(base(pem, { algorithm: "ES256", requestEncoding: "Form" })).issue();
    const form = new URLSearchParams(received.at(-1)?.body);
    expect(form.get("grant_type")).toBe(jwtBearerGrantType);
    expect(form.get("assertion")?.split(".")).toHaveLength(3);
  });

  it("refuses a key that is not PKCS#8 without quoting it", async () => {
    const bad = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----";
    const err = await new JwtBearerIssuer(base(bad)).issue().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "InvalidInput" });
    expect((err as Error).message).not.toContain("bm90IGEga2V5");
  });
});
