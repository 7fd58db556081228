/**
 * The OAuth2 token endpoint, written once for every caller: the request body of each grant the
 * operator makes (client credentials, RFC 7523 JWT bearer) and the reading of the answer (the
 * token response, or the `error` code of a refusal). The DataTrails client sends these through its
 * request pipeline (rate limit, retries); the token issuers send them with src/tokens/http.ts.
 */
import { z } from "zod";

/** A grant ready to POST: its body and the headers that go with it (content-type included). */
export interface GrantRequest {
  headers: Record<string, string>;
  body: string;
}

/** What a client-credentials grant (RFC 6749 §4.4) sends. */
export interface ClientCredentialsGrant {
  clientId: string;
  /** The client secret; left out when the client authenticates with {@link clientAssertion}. */
  clientSecret?: string | undefined;
  /** A signed JWT that authenticates the client in place of a secret (RFC 7523 §2.2). */
  clientAssertion?: string | undefined;
  scopes?: readonly string[] | undefined;
  /** Azure AD v1's `resource`. */
  resource?: string | undefined;
  audience?: string | undefined;
  /** Credentials in the form body (the default; what DataTrails documents) or as HTTP Basic auth. */
  authStyle?: "Body" | "Basic" | undefined;
}

const formContentType = "application/x-www-form-urlencoded";

/** The `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2). */
export const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/** The request of a client-credentials grant. */
export function clientCredentialsRequest(grant: ClientCredentialsGrant): GrantRequest {
  const form = new URLSearchParams({ grant_type: "client_credentials" });
  const headers: Record<string, string> = { "content-type": formContentType };
  if (grant.clientAssertion !== undefined) {
    // RFC 7523 §2.2: the assertion authenticates the client; client_id says which (Azure AD wants it).
    form.set("client_id", grant.clientId);
    form.set("client_assertion_type", clientAssertionType);
    form.set("client_assertion", grant.clientAssertion);
  } else if (grant.authStyle === "Basic") {
    // RFC 6749 §2.3.1: each part is form-urlencoded before the Basic encoding.
    const user = encodeURIComponent(grant.clientId);
    const pass = encodeURIComponent(grant.clientSecret ?? "");
    headers["authorization"] = `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
  } else {
    form.set("client_id", grant.clientId);
    form.set("client_secret", grant.clientSecret ?? "");
  }
  if (grant.scopes?.length) form.set("scope", grant.scopes.join(" "));
  if (grant.resource) form.set("resource", grant.resource);
  if (grant.audience) form.set("audience", grant.audience);
  return { headers, body: form.toString() };
}

/** The grant type URN of RFC 7523. */
export const jwtBearerGrantType = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/** The request of a JWT-bearer grant: a form per RFC 7523, or JSON as Federated Directory takes it. */
export function jwtBearerRequest(assertion: string, encoding: "Form" | "JSON"): GrantRequest {
  const fields = { grant_type: jwtBearerGrantType, assertion };
  return encoding === "JSON"
    ? { headers: { "content-type": "application/json" }, body: JSON.stringify(fields) }
    : { headers: { "content-type": formContentType }, body: new URLSearchParams(fields).toString() };
}

/**
 * A token endpoint's successful answer. `token_type` may be left out (it is then Bearer) but,
 * when sent, must be Bearer in any case; `expires_in` is a number per RFC 6749, but Azure AD v1 and
 * proto3 JSON send it as a string of digits.
 */
export const tokenEndpointAnswer = z.object({
  access_token: z.string().min(1),
  token_type: z
    .string()
    .refine((t) => t.toLowerCase() === "bearer", "token_type is not Bearer")
    .default("Bearer"),
  expires_in: z
    .union([z.number(), z.string().regex(/^\d+$/).transform(Number)])
    .pipe(z.number().int().positive()),
});

const oauthError = z.object({ error: z.string().max(100) }).passthrough();

/**
 * The RFC 6749 §5.2 `error` code of a refusal (`invalid_client`, say), when the body carries one
 * that is safe to repeat (lower-case letters and underscores); undefined otherwise.
 */
export function oauthErrorCode(text: string): string | undefined {
  try {
    const parsed = oauthError.safeParse(JSON.parse(text));
    return parsed.success && /^[a-z_]+$/.test(parsed.data.error) ? parsed.data.error : undefined;
  } catch {
    // A non-JSON error body says nothing we can repeat safely.
    return undefined;
  }
}

const azureErrorCodesField = z.object({ error_codes: z.array(z.number().int().nonnegative()).max(10) });

/**
 * Azure AD's `error_codes` (the numbers of its AADSTS codes) in a refusal, when it sends them: numbers
 * only, so safe to repeat; empty for other issuers.
 */
export function azureErrorCodes(text: string): number[] {
  try {
    const parsed = azureErrorCodesField.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data.error_codes : [];
  } catch {
    return [];
  }
}
