import { createHash, generateKeyPairSync, X509Certificate } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { decodeJwt, decodeProtectedHeader, importX509, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientAssertionType, clientCredentialsRequest } from "../http/token-endpoint.ts";
import {
  certificateAssertions,
  certificateThumbprints,
  loadCertificateCredential,
} from "./client-assertion.ts";
import { ClientCredentialsIssuer } from "./client-credentials.ts";
import { TokenError } from "./errors.ts";
import { selfSignedRsaCertificate, type TestCertificate } from "./testing/certificate.ts";

let cert: TestCertificate;
let other: TestCertificate;
const now = Date.UTC(2026, 11, 1, 12, 0, 0);
const params = {
  clientId: "app-123",
  audience: "https://login.example/tenant/oauth2/v2.0/token",
  lifetimeSeconds: 300,
};

beforeAll(async () => {
  [cert, other] = await Promise.all([selfSignedRsaCertificate("one"), selfSignedRsaCertificate("two")]);
});

describe("certificate client assertions", () => {
  it("carry x5t#S256 and x5t of the certificate and are signed with its key (RS256)", async () => {
    const jwt = await certificateAssertions(cert, params, () => now)();
    const header = decodeProtectedHeader(jwt);
    const der = new X509Certificate(cert.certificatePem).raw;
    expect(header).toEqual({
      alg: "RS256",
      typ: "JWT",
      "x5t#S256": createHash("sha256").update(der).digest("base64url"),
      x5t: createHash("sha1").update(der).digest("base64url"),
    });
    expect(certificateThumbprints(cert.certificatePem)).toEqual({
      x5t: header.x5t,
      x5tS256: header["x5t#S256"],
    });
    const key = await importX509(cert.certificatePem, "RS256");
    const { payload } = await jwtVerify(jwt, key, { currentDate: new Date(now) });
    expect(payload).toEqual({
      iss: "app-123",
      sub: "app-123",
      aud: params.audience,
      iat: now / 1000,
      nbf: now / 1000,
      exp: now / 1000 + 300,
      jti: payload.jti,
    });
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("get a new jti on every call", async () => {
    const source = certificateAssertions(cert, params, () => now);
    const jtis = await Promise.all([source(), source(), source()]).then((all) =>
      all.map((jwt) => decodeJwt(jwt).jti),
    );
    expect(new Set(jtis).size).toBe(3);
  });

  const cases = [
    {
      name: "a certificate that is not PEM",
      input: () => ({ ...cert, certificatePem: "not a cert" }),
      message: "tls.crt is not a PEM X.509 certificate",
    },
    {
      name: "a key that is not PEM",
      input: () => ({
        ...cert,
        privateKeyPem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
      }),
      message: "tls.key is not a PEM private key",
    },
    {
      name: "the key of another certificate",
      input: () => ({ ...cert, privateKeyPem: other.privateKeyPem }),
      message: "tls.key does not belong to the certificate in tls.crt",
    },
    {
      name: "an EC key",
      input: () => ({
        ...cert,
        privateKeyPem: generateKeyPairSync("ec", { namedCurve: "P-256" })
          .privateKey.export({ type: "pkcs8", format: "pem" })
          .toString(),
      }),
      message: "tls.key is not an RSA key (Azure AD takes RS256 only)",
    },
  ];
  it.each(cases)("refuse $name, quoting neither key nor certificate", ({ input, message }) => {
    const credential = input();
    let error: unknown;
    try {
      loadCertificateCredential(credential);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TokenError);
    expect((error as TokenError).code).toBe("InvalidInput");
    expect((error as TokenError).message).toBe(message);
    for (const pem of [credential.privateKeyPem, credential.certificatePem]) {
      const body = pem.split("\n")[1] ?? "";
      if (body.length > 8)
        expect(String((error as Error).message) + String((error as Error).stack)).not.toContain(body);
    }
  });
});

describe("a client-credentials request with an assertion", () => {
  it("sends client_id, client_assertion_type and client_assertion, never a client_secret", () => {
    const form = new URLSearchParams(
      clientCredentialsRequest({
        clientId: "app-123",
        clientAssertion: "a.b.c",
        scopes: ["api://x/.default"],
      }).body,
    );
    expect(Object.fromEntries(form)).toEqual({
      grant_type: "client_credentials",
      client_id: "app-123",
      client_assertion_type: clientAssertionType,
      client_assertion: "a.b.c",
      scope: "api://x/.default",
    });
  });
});

describe("ClientCredentialsIssuer with an assertion source", () => {
  let server: Server;
  let tokenUrl: string;
  const bodies: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        bodies.push(body);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ access_token: "tok", token_type: "Bearer", expires_in: 3599 }));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    tokenUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/t/oauth2/token`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("makes a new assertion for every request", async () => {
    let made = 0;
    const issuer = new ClientCredentialsIssuer({
      tokenUrl,
      clientId: "app-123",
      resource: "https://app.example",
      assertion: () => Promise.resolve(`assertion-${++made}`),
    });
    bodies.length = 0;
    await issuer.issue();
    await issuer.issue();
    expect(bodies.map((b) => new URLSearchParams(b).get("client_assertion"))).toEqual([
      "assertion-1",
      "assertion-2",
    ]);
    expect(new URLSearchParams(bodies[0]).get("resource")).toBe("https://app.example");
  });
});
