/**
 * The one HTTP exchange every token grant makes: POST a body to a token endpoint, map failures to
 * TokenError, and validate the answer as an OAuth2 token response.
 */
import { errors as undiciErrors, request, type Dispatcher } from "undici";
import { z } from "zod";
import { serverWaitMs } from "../http/retry-after.ts";
import { TokenError, TokenErrorCode } from "./errors.ts";
import type { IssuedToken } from "./issuer.ts";

/** Options shared by the HTTP issuers. */
export interface HttpIssuerOptions {
  /** The undici dispatcher (keep-alive pool) to send through; the global one when absent. */
  dispatcher?: Dispatcher;
  /** Time allowed for the whole exchange. Default 10 s. */
  timeoutMs?: number;
  /** Clock, for receivedAt. */
  now?: () => Date;
}

// expires_in is a number per RFC 6749, but Azure AD v1 sends it as a string.
const tokenResponse = z.object({
  access_token: z.string().min(1),
  token_type: z.string().default("Bearer"),
  expires_in: z.coerce.number().int().positive(),
});

const oauthError = z.object({ error: z.string().max(100) }).passthrough();

/** Posts a grant to `tokenUrl` and returns the token. Throws TokenError. */
export async function postGrant(
  tokenUrl: string,
  body: { contentType: string; text: string },
  headers: Record<string, string>,
  options: HttpIssuerOptions,
  signal?: AbortSignal,
): Promise<IssuedToken> {
  const host = new URL(tokenUrl).host;
  const now = options.now ?? (() => new Date());
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000);
  let response: Dispatcher.ResponseData;
  try {
    response = await request(tokenUrl, {
      method: "POST",
      headers: { "content-type": body.contentType, accept: "application/json", ...headers },
      body: body.text,
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    });
  } catch (err) {
    if (timeout.aborted) throw new TokenError(TokenErrorCode.Timeout, `token request to ${host} timed out`);
    const code = err instanceof undiciErrors.UndiciError ? (err as { code?: string }).code : undefined;
    throw new TokenError(
      TokenErrorCode.ConnectionFailed,
      `token request to ${host} failed: ${code ?? "connection error"}`,
    );
  }
  const status = response.statusCode;
  let text: string;
  try {
    text = await response.body.text();
  } catch {
    throw new TokenError(TokenErrorCode.ConnectionFailed, `token response from ${host} broke off`, {
      status,
    });
  }
  if (status === 429) {
    const retryAfterMs = serverWaitMs(response.headers, now().getTime());
    throw new TokenError(TokenErrorCode.RateLimited, `token endpoint ${host} answered 429`, {
      status,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
  }
  if (status >= 500)
    throw new TokenError(TokenErrorCode.Unavailable, `token endpoint ${host} answered ${status}`, { status });
  if (status >= 400) {
    let detail = "";
    try {
      const parsed = oauthError.safeParse(JSON.parse(text));
      if (parsed.success && /^[a-z_]+$/.test(parsed.data.error)) detail = ` (${parsed.data.error})`;
    } catch {
      // A non-JSON error body says nothing we can repeat safely.
    }
    throw new TokenError(TokenErrorCode.Rejected, `token endpoint ${host} answered ${status}${detail}`, {
      status,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new TokenError(
      TokenErrorCode.MalformedResponse,
      `token endpoint ${host} answered ${status} with a body that is not JSON`,
      { status },
    );
  }
  const parsed = tokenResponse.safeParse(json);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => i.path.join(".") || "(root)"))].join(", ");
    throw new TokenError(
      TokenErrorCode.MalformedResponse,
      `token endpoint ${host} answered without a usable ${fields}`,
      { status },
    );
  }
  return {
    accessToken: parsed.data.access_token,
    tokenType: parsed.data.token_type,
    expiresInSeconds: parsed.data.expires_in,
    receivedAt: now(),
  };
}
