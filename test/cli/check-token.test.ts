/**
 * `check-token` as a user runs it: a real process against the emulator over real HTTP, with its
 * exit codes and messages.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../src/emulator/index.ts";
import { ClientCredentialsIssuer } from "../../src/tokens/client-credentials.ts";
import { selfSignedRsaCertificate } from "../../src/tokens/testing/certificate.ts";
import { startOidcProvider, type RunningOidcProvider } from "../support/oidc-provider.ts";

let emulator: RunningEmulator;
let dir: string;

beforeAll(async () => {
  emulator = await startEmulator({});
  dir = await mkdtemp(join(tmpdir(), "check-token-"));
  await writeFile(join(dir, "secret"), emulator.admin.clientSecret, { mode: 0o600 });
});
afterAll(async () => {
  await emulator?.close();
  await rm(dir, { recursive: true, force: true });
});

function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [join(import.meta.dirname, "..", "..", "src", "main.ts"), "check-token", ...args],
      {
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("close", (code) => resolve({ code, out, err }));
  });
}

async function adminToken(): Promise<string> {
  const issuer = new ClientCredentialsIssuer({
    tokenUrl: `${emulator.url}/archivist/iam/v1/appidp/token`,
    clientId: emulator.admin.clientId,
    clientSecret: emulator.admin.clientSecret,
  });
  return (await issuer.issue()).accessToken;
}

describe("check-token", () => {
  it("fetches a token with client credentials and verifies it through DataTrails' discovery document", async () => {
    const { code, out, err } = await run([
      "--datatrails-url",
      emulator.url,
      "--client-id",
      emulator.admin.clientId,
      "--client-secret-file",
      join(dir, "secret"),
      "--audience",
      `${emulator.url}/archivist`,
    ]);
    expect(err).toBe("");
    expect(out).toContain('"alg":"RS256"');
    expect(out).toContain(`✓ iss ${emulator.url}/appidpv1`);
    expect(out).toMatch(/✓ signature \(keys from http:\/\/127\.0\.0\.1:\d+\//);
    expect(out.trim().endsWith("valid")).toBe(true);
    expect(out).not.toContain(emulator.admin.clientSecret);
    expect(code).toBe(0);
  });

  it("reads bearer-token.txt as the docs write it", async () => {
    const file = join(dir, "bearer-token.txt");
    await writeFile(file, `Authorization: Bearer ${await adminToken()}\n`, { mode: 0o600 });
    const { code, out } = await run(["--token-file", file, "--datatrails-url", emulator.url, "--json"]);
    const report = JSON.parse(out) as { valid: boolean; payload: { sub: string } };
    expect(report.valid).toBe(true);
    expect(report.payload.sub).toBe(emulator.admin.clientId);
    expect(code).toBe(0);
  });

  it("exits 1 naming the audience for a token meant for someone else", async () => {
    const { code, out } = await run([
      "--token",
      await adminToken(),
      "--datatrails-url",
      emulator.url,
      "--audience",
      "https://x.example",
    ]);
    expect(out).toMatch(/✗ the token's aud .* includes none of https:\/\/x\.example/);
    expect(code).toBe(1);
  });

  it("exits 1 for an expired token", async () => {
    emulator.control.setTokenTtlSeconds(1);
    const token = await adminToken().finally(() => emulator.control.setTokenTtlSeconds(3600));
    const check = () =>
      run(["--token", token, "--datatrails-url", emulator.url, "--clock-skew-seconds", "0"]);
    await expect.poll(async () => (await check()).code, { timeout: 10_000, interval: 250 }).toBe(1);
    expect((await check()).out).toMatch(/✗ the token expired at /);
  });

  it("exits 1 for a missing role", async () => {
    const { code, out } = await run([
      "--token",
      await adminToken(),
      "--datatrails-url",
      emulator.url,
      "--role",
      "archivist_administrator",
    ]);
    expect(out).toMatch(/✗ the token's roles claim lacks archivist_administrator/);
    expect(code).toBe(1);
  });

  it("exits 3 when the keys cannot be reached", async () => {
    const { code, out } = await run([
      "--token",
      await adminToken(),
      "--discovery-url",
      "http://127.0.0.1:9/.well-known/openid-configuration",
    ]);
    expect(out).toMatch(/✗ discovery document at 127\.0\.0\.1:9 could not be read/);
    expect(code).toBe(3);
  });

  it("exits 2 when told neither a token nor how to get one", async () => {
    const { code, err } = await run(["--datatrails-url", emulator.url]);
    expect(err).toMatch(/give --token\/--token-file, or --client-id/);
    expect(code).toBe(2);
  });

  it("exits 1 when the issuer rejects the client credentials", async () => {
    await writeFile(join(dir, "wrong"), "0".repeat(64));
    const { code, err } = await run([
      "--datatrails-url",
      emulator.url,
      "--client-id",
      emulator.admin.clientId,
      "--client-secret-file",
      join(dir, "wrong"),
    ]);
    expect(err).toMatch(/token endpoint 127\.0\.0\.1:\d+ answered 401/);
    expect(code).toBe(1);
  });

  describe("with a certificate assertion (Azure AD certificate credentials)", () => {
    const resource = "https://app.datatrails.example";
    let paths: { cert: string; key: string; otherCert: string; otherKey: string };
    beforeAll(async () => {
      const [cert, other] = await Promise.all([
        selfSignedRsaCertificate("check-token"),
        selfSignedRsaCertificate("other"),
      ]);
      paths = {
        cert: join(dir, "app.crt"),
        key: join(dir, "app.key"),
        otherCert: join(dir, "other.crt"),
        otherKey: join(dir, "other.key"),
      };
      await writeFile(paths.cert, cert.certificatePem);
      await writeFile(paths.key, cert.privateKeyPem, { mode: 0o600 });
      await writeFile(paths.otherCert, other.certificatePem);
      await writeFile(paths.otherKey, other.privateKeyPem, { mode: 0o600 });
      emulator.control.azure.addClient({
        clientId: "check-token-cert",
        certificates: [cert.certificatePem],
        roles: { [resource]: ["archivist_administrator"] },
      });
    });
    const args = (cert: string, key: string) => {
      const e = emulator.control.azure.endpoints();
      return [
        "--token-url",
        e.tokenUrlV2,
        "--client-id",
        "check-token-cert",
        "--certificate",
        cert,
        "--private-key",
        key,
        "--scope",
        `${resource}/.default`,
        "--role",
        "archivist_administrator",
      ];
    };

    it("fetches a token signed for with the certificate's key and verifies it", async () => {
      const { code, out, err } = await run(args(paths.cert, paths.key));
      expect(err).toBe("");
      expect(out).toMatch(/valid/i);
      expect(code).toBe(0);
    });

    it("exits 1 naming AADSTS700027 for a certificate the app does not hold, printing no key", async () => {
      const { code, out, err } = await run(args(paths.otherCert, paths.otherKey));
      expect(err).toMatch(/answered 401 \(invalid_client, AADSTS700027: the certificate is not registered/);
      expect(`${out}${err}`).not.toMatch(/PRIVATE KEY|MII/);
      expect(code).toBe(1);
    });

    it("exits 2 for a certificate without its key", async () => {
      const { code, err } = await run(
        args(paths.cert, paths.key).filter(
          (a, i, all) => a !== "--private-key" && all[i - 1] !== "--private-key",
        ),
      );
      expect(err).toMatch(/needs both --certificate and --private-key/);
      expect(code).toBe(2);
    });
  });

  describe("against oidc-provider, an independent OpenID provider", () => {
    let oidc: RunningOidcProvider;
    beforeAll(async () => {
      oidc = await startOidcProvider({});
    });
    afterAll(async () => {
      await oidc?.close();
    });

    async function oidcToken(): Promise<string> {
      const client = oidc.clients.find((c) => c.authMethod === "client_secret_post");
      if (!client) throw new Error("the fixture has no client_secret_post client");
      const issuer = new ClientCredentialsIssuer({
        tokenUrl: oidc.tokenUrl,
        clientId: client.clientId,
        clientSecret: client.clientSecret,
        scopes: ["read"],
        resource: oidc.resource,
      });
      return (await issuer.issue()).accessToken;
    }

    it("agrees that the provider's own token is valid, for its issuer and audience", async () => {
      const { code, out } = await run([
        "--token",
        await oidcToken(),
        "--discovery-url",
        oidc.discoveryUrl,
        "--audience",
        oidc.resource,
      ]);
      expect(out).toContain(`✓ iss ${oidc.issuer}`);
      expect(out).toContain(`✓ aud ${oidc.resource}`);
      expect(code).toBe(0);
    });

    it("agrees that the provider's token is not for another audience", async () => {
      const { code } = await run([
        "--token",
        await oidcToken(),
        "--discovery-url",
        oidc.discoveryUrl,
        "--audience",
        "https://x.example",
      ]);
      expect(code).toBe(1);
    });

    it("refuses the provider's token against the emulator's keys (wrong key)", async () => {
      const { code, out } = await run([
        "--token",
        await oidcToken(),
        "--discovery-url",
        `${emulator.url}/appidpv1/.well-known/openid-configuration`,
        "--issuer",
        oidc.issuer,
      ]);
      expect(out).toMatch(/✗ no key with kid .* matches|✗ the signature does not verify/);
      expect(code).toBe(1);
    });
  });
});

describe("check-token finds the keys through the token's own iss", () => {
  /** A server that answers 404 to everything: a DataTrails that publishes no discovery document. */
  let nothing: Server;
  let nothingUrl: string;
  /** An emulator whose tokens name that server as their issuer, as real DataTrails tokens do. */
  let undiscoverable: RunningEmulator;
  /** An emulator whose tokens name a port nobody listens on. */
  let unreachable: RunningEmulator;

  beforeAll(async () => {
    nothing = createServer((_request, response) => {
      response.writeHead(404, { "content-type": "application/json" }).end('{"code":5,"message":"Not Found"}');
    });
    await new Promise<void>((done) => nothing.listen(0, "127.0.0.1", done));
    nothingUrl = `http://127.0.0.1:${(nothing.address() as AddressInfo).port}`;
    undiscoverable = await startEmulator({ publicUrl: nothingUrl });
    unreachable = await startEmulator({ publicUrl: "http://127.0.0.1:9" });
  });
  afterAll(async () => {
    await undiscoverable?.close();
    await unreachable?.close();
    await new Promise((done) => nothing?.close(done));
  });

  async function tokenOf(e: RunningEmulator): Promise<string> {
    const issuer = new ClientCredentialsIssuer({
      tokenUrl: `${e.url}/archivist/iam/v1/appidp/token`,
      clientId: e.admin.clientId,
      clientSecret: e.admin.clientSecret,
    });
    return (await issuer.issue()).accessToken;
  }

  it("verifies an appidp token given nothing but the token", async () => {
    const { code, out } = await run(["--token", await adminToken()]);
    expect(out).toContain(
      `keys: discovery from the token's iss (${emulator.url}/appidpv1/.well-known/openid-configuration)`,
    );
    expect(out).toContain(`✓ iss ${emulator.url}/appidpv1`);
    expect(out.trim().endsWith("valid")).toBe(true);
    expect(code).toBe(0);
  });

  it("verifies an Azure v1 token, whose iss ends in /, stripping that one slash", async () => {
    const client = emulator.control.azure.addClient({ roles: { "https://app.datatrails.ai": ["guest"] } });
    const issuer = new ClientCredentialsIssuer({
      tokenUrl: client.endpoints.tokenUrlV1,
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      resource: "https://app.datatrails.ai",
    });
    const token = (await issuer.issue()).accessToken;
    const iss = client.endpoints.issuerV1;
    expect(iss.endsWith("/")).toBe(true);
    const { code, out } = await run([
      "--token",
      token,
      "--audience",
      "https://app.datatrails.ai",
      "--role",
      "guest",
    ]);
    expect(out).toContain(`keys: discovery from the token's iss (${iss}.well-known/openid-configuration)`);
    expect(out).toContain(`✓ iss ${iss}`);
    expect(code).toBe(0);
  });

  it("verifies with the given --jwks-url instead, never asking the iss", async () => {
    const { code, out } = await run([
      "--token",
      await tokenOf(undiscoverable),
      "--jwks-url",
      `${undiscoverable.url}/appidpv1/.well-known/jwks.json`,
    ]);
    expect(out).not.toContain("discovery from the token's iss");
    expect(out.trim().endsWith("valid")).toBe(true);
    expect(code).toBe(0);
  });

  it.each([
    {
      name: "publishes no discovery document (404), as DataTrails does not",
      emulatorOf: () => undiscoverable,
      problem: /✗ discovery document at 127\.0\.0\.1:\d+ answered 404/,
    },
    {
      name: "cannot be reached",
      emulatorOf: () => unreachable,
      problem: /✗ discovery document at 127\.0\.0\.1:9 could not be read/,
    },
  ])(
    "exits 3, saying verification needs --jwks-url, when the token's issuer $name",
    async ({ emulatorOf, problem }) => {
      const { code, out } = await run(["--token", await tokenOf(emulatorOf())]);
      expect(out).toMatch(problem);
      expect(out).toMatch(/✗ cannot verify: .*verification needs --jwks-url/);
      expect(code).toBe(3);
    },
  );

  it("says the same in --json, as a hint beside the error", async () => {
    const { code, out } = await run(["--token", await tokenOf(undiscoverable), "--json"]);
    const report = JSON.parse(out) as { valid: boolean; error: { code: string; hint: string } };
    expect([report.valid, report.error.code, code]).toEqual([false, "Unavailable", 3]);
    expect(report.error.hint).toMatch(/verification needs --jwks-url$/);
  });

  it("exits 3 for an iss that is not a URL, without a request anywhere", async () => {
    const { privateKey } = await generateKeyPair("RS256");
    const token = await new SignJWT({ sub: "x" })
      .setProtectedHeader({ alg: "RS256" })
      .setIssuer("appidpv1")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(privateKey);
    const { code, out } = await run(["--token", token]);
    expect(out).toContain(
      "✗ cannot verify: the token's iss is not an http(s) URL; verification needs --jwks-url",
    );
    expect(code).toBe(3);
  });

  it.each([
    {
      name: "with no flags: a usage error (exit 2)",
      flags: () => [],
      code: 2,
      text: /the token has no iss: give --discovery-url or --jwks-url/,
    },
    {
      name: "with --datatrails-url: its discovery document, whose keys did not sign it (exit 1)",
      flags: () => ["--datatrails-url", emulator.url],
      code: 1,
      text: /✗ no key .*matches the token's signature|✗ the signature does not verify/,
    },
  ])("handles a token without iss $name", async ({ flags, code, text }) => {
    const { privateKey } = await generateKeyPair("RS256");
    const token = await new SignJWT({ sub: "x" })
      .setProtectedHeader({ alg: "RS256", kid: "k" })
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(privateKey);
    const result = await run(["--token", token, ...flags()]);
    expect(`${result.out}${result.err}`).toMatch(text);
    expect(result.code).toBe(code);
  });
});
