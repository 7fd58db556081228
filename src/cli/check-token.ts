/**
 * `check-token`: what DataTrails' old check-token script did, and more. It decodes a token's header
 * and payload, verifies the signature through OIDC discovery or a JWKS URL, checks iss, aud, iat,
 * nbf, exp and roles, and can fetch the token itself with client credentials first.
 *
 * Exit codes: 0 valid; 1 the token fails a check; 2 a usage error; 3 the issuer, its discovery
 * document or its keys could not be reached. The client secret is read from a file or the
 * environment, never echoed; the token itself is never printed, only its decoded parts.
 */
import { readFileSync } from "node:fs";
import { Command, Option } from "commander";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { dataTrailsTokenPath } from "../api/v1alpha1/index.ts";
import { ClientCredentialsIssuer } from "../tokens/client-credentials.ts";
import { isTokenError } from "../tokens/errors.ts";
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
  const secret = options.clientSecretFile
    ? readFileSync(options.clientSecretFile, "utf8").trim()
    : process.env["CLIENT_SECRET"]?.trim();
  if (!secret)
    throw new UsageError(
      "the client secret comes from --client-secret-file or the CLIENT_SECRET environment variable",
    );
  const issuer = new ClientCredentialsIssuer({
    tokenUrl,
    clientId: options.clientId,
    clientSecret: secret,
    ...(options.scope ? { scopes: options.scope } : {}),
    ...(options.resource ? { resource: options.resource } : {}),
  });
  return (await issuer.issue()).accessToken;
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
  const now = Date.now() / 1000;
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
  const discoveryUrl =
    options.discoveryUrl ??
    (!options.jwksUrl && options.datatrailsUrl
      ? `${options.datatrailsUrl.replace(/\/+$/, "")}/appidpv1/.well-known/openid-configuration`
      : undefined);
  if (!discoveryUrl && !options.jwksUrl)
    throw new UsageError("give --discovery-url or --jwks-url (or --no-verify to decode only)");
  try {
    const verified = await verifyToken(token, {
      discoveryUrl,
      jwksUrl: options.jwksUrl,
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
    if (options.json)
      out(JSON.stringify({ ...report, valid: false, error: { code: err.code, message: err.message } }));
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
    .option("--datatrails-url <url>", "DataTrails base URL: its token endpoint and its discovery document")
    .option("--token-url <url>", "fetch a token from this endpoint with client credentials")
    .option("--client-id <id>", "client ID for fetching a token")
    .option("--client-secret-file <path>", "file holding the client secret (else $CLIENT_SECRET)")
    .option("--scope <scope>", "scope to ask for (repeatable)", collect)
    .option("--resource <uri>", "resource to ask for (Azure AD v1)")
    .option("--discovery-url <url>", "OpenID discovery document of the issuer")
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
