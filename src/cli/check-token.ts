/**
 * `check-token`: what DataTrails' old check-token script did, and more. It decodes a token's header
 * and payload, verifies the signature through OIDC discovery or a JWKS URL, checks iss, aud, iat,
 * nbf, exp and roles, and can fetch the token itself with client credentials first (a client
 * secret, or a client assertion signed with a certificate's key: Azure AD certificate credentials).
 *
 * Where the keys come from: `--discovery-url`, else `--jwks-url`, else the token's own `iss`
 * (OpenID Connect Discovery: one trailing `/` stripped, `/.well-known/openid-configuration`
 * appended), else, for a token without `iss`, the DataTrails discovery document under
 * `--datatrails-url` (the emulator publishes one; app.datatrails.ai publishes none, so verifying
 * its tokens needs `--jwks-url`).
 *
 * Exit codes: 0 valid; 1 the token fails a check; 2 a usage error; 3 the issuer, its discovery
 * document or its keys could not be reached (the token cannot be verified). The client secret is
 * read from a file or the environment, never echoed; the token itself is never printed, only its
 * decoded parts.
 */
import { readFileSync } from "node:fs";
import { Command, Option } from "commander";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { dataTrailsTokenPath } from "../api/v1alpha1/index.ts";
import { systemClock } from "../k8s/clock.ts";
import { certificateAssertions } from "../tokens/client-assertion.ts";
import { ClientCredentialsIssuer, type ClientCredentialsParams } from "../tokens/client-credentials.ts";
import { isTokenError, TokenErrorCode } from "../tokens/errors.ts";
import { verifyToken } from "../tokens/verify.ts";

/** Exit codes of check-token. */
export const checkTokenExit = { valid: 0, invalid: 1, usage: 2, unreachable: 3 } as const;

interface CheckOptions {
  token?: string;
  tokenFile?: string;
  datatrailsUrl?: string;
  tokenUrl?: string;
  clientId?: string;
  clientSecretFile?: string;
  certificate?: string;
  privateKey?: string;
  assertionLifetimeSeconds: string;
  scope?: string[];
  resource?: string;
  discoveryUrl?: string;
  jwksUrl?: string;
  issuer?: string;
  audience?: string[];
  role?: string[];
  clockSkewSeconds: string;
  verify: boolean;
  json: boolean;
}

class UsageError extends Error {}

/** The discovery document path OpenID Connect Discovery appends to an issuer. */
const wellKnownPath = "/.well-known/openid-configuration";

/**
 * The discovery URL of an issuer, as OpenID Connect Discovery §4 builds it: one trailing `/`
 * stripped, then `/.well-known/openid-configuration` appended (so Azure v1's
 * `https://sts.windows.net/<tenant>/` gives `.../<tenant>/.well-known/...`). Undefined when the
 * issuer is not an http(s) URL without query or fragment, as the spec requires of an issuer.
 */
export function discoveryUrlForIssuer(iss: string): string | undefined {
  let url: URL;
  try {
    url = new URL(iss);
  } catch {
    return undefined;
  }
  if ((url.protocol !== "https:" && url.protocol !== "http:") || url.search !== "" || url.hash !== "") {
    return undefined;
  }
  return `${iss.endsWith("/") ? iss.slice(0, -1) : iss}${wellKnownPath}`;
}

/** Where the keys to verify with come from: a discovery document (and who named it), a JWKS, or nowhere. */
export type KeySource =
  | { kind: "discovery"; discoveryUrl: string; from: "flag" | "iss" | "datatrails" }
  | { kind: "jwks"; jwksUrl: string }
  | { kind: "none"; reason: string; usage: boolean };

/**
 * Picks where the keys come from: `--discovery-url`, else `--jwks-url`, else the token's `iss`,
 * else (a token without `iss`) the DataTrails discovery document under `--datatrails-url`.
 */
export function keySource(
  options: {
    discoveryUrl?: string | undefined;
    jwksUrl?: string | undefined;
    datatrailsUrl?: string | undefined;
  },
  payload: Record<string, unknown>,
): KeySource {
  if (options.discoveryUrl) return { kind: "discovery", discoveryUrl: options.discoveryUrl, from: "flag" };
  if (options.jwksUrl) return { kind: "jwks", jwksUrl: options.jwksUrl };
  const iss = payload["iss"];
  if (typeof iss === "string" && iss !== "") {
    const discoveryUrl = discoveryUrlForIssuer(iss);
    if (discoveryUrl) return { kind: "discovery", discoveryUrl, from: "iss" };
    return { kind: "none", reason: "the token's iss is not an http(s) URL", usage: false };
  }
  if (options.datatrailsUrl) {
    const base = options.datatrailsUrl.replace(/\/+$/, "");
    return { kind: "discovery", discoveryUrl: `${base}/appidpv1${wellKnownPath}`, from: "datatrails" };
  }
  return { kind: "none", reason: "the token has no iss", usage: true };
}

/** What the user must give when the token's own issuer leads to no keys. */
const needsJwksUrl = "verification needs --jwks-url";

/** Why discovery from the token's iss led nowhere, for the user. */
function issDiscoveryHint(discoveryUrl: string): string {
  return (
    `the token's issuer publishes no usable discovery document at ${discoveryUrl} ` +
    `(DataTrails publishes none for its appidpv1 tokens); ${needsJwksUrl}`
  );
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function readToken(options: CheckOptions): string | undefined {
  const raw =
    options.token ??
    (options.tokenFile ? readFileSync(options.tokenFile === "-" ? 0 : options.tokenFile, "utf8") : undefined);
  // Accept the bearer-token.txt line as well as a bare JWT.
  return raw?.trim().replace(/^Authorization:\s*Bearer\s+/i, "");
}

async function fetchToken(options: CheckOptions): Promise<string> {
  const tokenUrl =
    options.tokenUrl ??
    (options.datatrailsUrl
      ? `${options.datatrailsUrl.replace(/\/+$/, "")}${dataTrailsTokenPath}`
      : undefined);
  if (!tokenUrl || !options.clientId)
    throw new UsageError("give --token/--token-file, or --client-id with --token-url or --datatrails-url");
  const issuer = new ClientCredentialsIssuer({
    tokenUrl,
    ...clientAuthentication(options, tokenUrl, options.clientId),
    ...(options.scope ? { scopes: options.scope } : {}),
    ...(options.resource ? { resource: options.resource } : {}),
  });
  return (await issuer.issue()).accessToken;
}

/** A client secret (file or $CLIENT_SECRET), or client assertions signed with a certificate's key. */
function clientAuthentication(
  options: CheckOptions,
  tokenUrl: string,
  clientId: string,
): Pick<ClientCredentialsParams, "clientId" | "clientSecret" | "assertion"> {
  if (options.certificate || options.privateKey) {
    if (!options.certificate || !options.privateKey)
      throw new UsageError("a certificate assertion needs both --certificate and --private-key");
    if (options.clientSecretFile)
      throw new UsageError("give --client-secret-file or --certificate with --private-key, not both");
    const lifetimeSeconds = Number(options.assertionLifetimeSeconds);
    if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds < 60 || lifetimeSeconds > 3600)
      throw new UsageError("--assertion-lifetime-seconds must be a whole number from 60 to 3600");
    const credential = {
      certificatePem: readFileSync(options.certificate, "utf8"),
      privateKeyPem: readFileSync(options.privateKey, "utf8"),
    };
    return {
      clientId,
      assertion: certificateAssertions(credential, { clientId, audience: tokenUrl, lifetimeSeconds }, () =>
        systemClock.now(),
      ),
    };
  }
  const secret = options.clientSecretFile
    ? readFileSync(options.clientSecretFile, "utf8").trim()
    : process.env["CLIENT_SECRET"]?.trim();
  if (!secret)
    throw new UsageError(
      "the client secret comes from --client-secret-file or the CLIENT_SECRET environment variable " +
        "(or sign an assertion with --certificate and --private-key)",
    );
  return { clientId, clientSecret: secret };
}

function relative(seconds: number, now: number): string {
  const delta = Math.round(seconds - now);
  const abs = Math.abs(delta);
  const text =
    abs >= 3600
      ? `${Math.round(abs / 360) / 10} h`
      : abs >= 60
        ? `${Math.round(abs / 6) / 10} min`
        : `${abs} s`;
  return delta >= 0 ? `in ${text}` : `${text} ago`;
}

async function check(options: CheckOptions, out: (line: string) => void): Promise<number> {
  const token = readToken(options) ?? (await fetchToken(options));
  let header: Record<string, unknown>;
  let payload: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token);
    payload = decodeJwt(token);
  } catch {
    out("✗ the token is not a JWT");
    return checkTokenExit.invalid;
  }
  const now = systemClock.now() / 1000;
  const report: Record<string, unknown> = { header, payload, checks: [] as string[] };
  if (!options.json) {
    out(`header:  ${JSON.stringify(header)}`);
    out(`payload: ${JSON.stringify(payload, null, 2)}`);
  }
  const checks = report["checks"] as string[];
  const note = (line: string) => (options.json ? checks.push(line) : out(line));
  if (typeof payload["iat"] === "number")
    note(`  iat ${new Date(payload["iat"] * 1000).toISOString()} (${relative(payload["iat"], now)})`);
  if (typeof payload["exp"] === "number")
    note(`  exp ${new Date(payload["exp"] * 1000).toISOString()} (${relative(payload["exp"], now)})`);

  if (!options.verify) {
    const expired = typeof payload["exp"] === "number" && payload["exp"] <= now;
    note(
      expired
        ? "✗ expired (signature not checked: --no-verify)"
        : "decoded only (--no-verify): signature not checked",
    );
    if (options.json) out(JSON.stringify({ ...report, valid: !expired }));
    return expired ? checkTokenExit.invalid : checkTokenExit.valid;
  }
  const source = keySource(options, payload);
  if (source.kind === "none") {
    if (source.usage)
      throw new UsageError(
        `${source.reason}: give --discovery-url or --jwks-url (or --no-verify to decode only)`,
      );
    const hint = `${source.reason}; ${needsJwksUrl}`;
    note(`✗ cannot verify: ${hint}`);
    if (options.json)
      out(
        JSON.stringify({
          ...report,
          valid: false,
          error: { code: TokenErrorCode.Unavailable, message: hint },
        }),
      );
    return checkTokenExit.unreachable;
  }
  if (source.kind === "discovery" && source.from === "iss")
    note(`  keys: discovery from the token's iss (${source.discoveryUrl})`);
  try {
    const verified = await verifyToken(token, {
      discoveryUrl: source.kind === "discovery" ? source.discoveryUrl : undefined,
      jwksUrl: source.kind === "jwks" ? source.jwksUrl : options.jwksUrl,
      issuer: options.issuer,
      audiences: options.audience,
      requiredRoles: options.role,
      clockSkewSeconds: Number(options.clockSkewSeconds),
    });
    note(`✓ signature (keys from ${verified.jwksUrl})`);
    note(
      `✓ iss ${String(verified.claims.iss)}${verified.issuer ? "" : " (not checked: no expected issuer)"}`,
    );
    note(
      options.audience?.length
        ? `✓ aud ${String(verified.claims.aud)}`
        : `  aud ${String(verified.claims.aud)} (not checked: no --audience)`,
    );
    note("✓ iat, nbf and exp are within the clock skew");
    if (options.role?.length) note(`✓ roles ${options.role.join(", ")}`);
    note("valid");
    if (options.json) out(JSON.stringify({ ...report, valid: true }));
    return checkTokenExit.valid;
  } catch (err) {
    if (!isTokenError(err)) throw err;
    note(`✗ ${err.message}`);
    // The token's own issuer led nowhere (no document, unreachable, no keys in it): say what to give.
    const hint =
      err.code !== "VerificationFailed" && source.kind === "discovery" && source.from === "iss"
        ? issDiscoveryHint(source.discoveryUrl)
        : undefined;
    if (hint) note(`✗ cannot verify: ${hint}`);
    if (options.json)
      out(
        JSON.stringify({
          ...report,
          valid: false,
          error: { code: err.code, message: err.message, ...(hint ? { hint } : {}) },
        }),
      );
    return err.code === "VerificationFailed" ? checkTokenExit.invalid : checkTokenExit.unreachable;
  }
}

/** Builds the `check-token` subcommand. */
export function checkTokenCommand(): Command {
  return new Command("check-token")
    .description(
      "decode and verify a bearer token (signature, iss, aud, iat, exp, roles), or fetch one first",
    )
    .option("--token <jwt>", "the token (a bare JWT or an 'Authorization: Bearer ...' line)")
    .option("--token-file <path>", "read the token from a file, e.g. bearer-token.txt ('-' for stdin)")
    .option(
      "--datatrails-url <url>",
      "DataTrails base URL: its token endpoint (and its discovery document, for a token without iss)",
    )
    .option("--token-url <url>", "fetch a token from this endpoint with client credentials")
    .option("--client-id <id>", "client ID for fetching a token")
    .option("--client-secret-file <path>", "file holding the client secret (else $CLIENT_SECRET)")
    .option(
      "--certificate <path>",
      "PEM certificate: authenticate with a client assertion signed by its key (Azure AD certificate credentials)",
    )
    .option("--private-key <path>", "PEM private key (RSA) of --certificate")
    .addOption(
      new Option("--assertion-lifetime-seconds <n>", "lifetime of the client assertion").default("300"),
    )
    .option("--scope <scope>", "scope to ask for (repeatable)", collect)
    .option("--resource <uri>", "resource to ask for (Azure AD v1)")
    .option(
      "--discovery-url <url>",
      "OpenID discovery document of the issuer (default: from the token's iss)",
    )
    .option("--jwks-url <url>", "JWKS of the issuer, when it has no discovery document")
    .option("--issuer <iss>", "expected iss (default: the discovery document's issuer)")
    .option("--audience <aud>", "acceptable aud (repeatable)", collect)
    .option("--role <role>", "role the token must carry in its roles claim (repeatable)", collect)
    .addOption(new Option("--clock-skew-seconds <n>", "tolerance for iat, nbf and exp").default("60"))
    .option("--no-verify", "decode only; do not check the signature")
    .option("--json", "print one JSON object instead of lines", false)
    .action(async (options: CheckOptions) => {
      const out = (line: string) => process.stdout.write(`${line}\n`);
      try {
        process.exitCode = await check(options, out);
      } catch (err) {
        if (err instanceof UsageError) {
          process.stderr.write(`check-token: ${err.message}\n`);
          process.exitCode = checkTokenExit.usage;
        } else if (isTokenError(err)) {
          process.stderr.write(`check-token: ${err.message}\n`);
          process.exitCode =
            err.code === "Rejected" || err.code === "InvalidInput"
              ? checkTokenExit.invalid
              : checkTokenExit.unreachable;
        } else {
          throw err;
        }
      }
    });
}
