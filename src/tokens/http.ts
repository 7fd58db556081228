/**
 * How the token issuers send a grant: one POST to the token endpoint (src/http/token-endpoint.ts
 * builds the request and reads the answer), its failures mapped to TokenError. The DataTrails
 * client sends the same requests through its own pipeline.
 */
import { errors as undiciErrors, request, type Dispatcher } from "undici";
import { waitRequestedBy } from "../http/retry-after.ts";
import {
  azureErrorCodes,
  oauthErrorCode,
  tokenEndpointAnswer,
  type GrantRequest,
} from "../http/token-endpoint.ts";
import { systemClock, type Clock } from "../k8s/clock.ts";
import { aadstsDetail } from "./aadsts.ts";
import { TokenError, TokenErrorCode } from "./errors.ts";
import type { IssuedToken } from "./issuer.ts";

/** Options shared by the HTTP issuers. */
export interface HttpIssuerOptions {
  /** The undici dispatcher (keep-alive pool) to send through; the global one when absent. */
  dispatcher?: Dispatcher;
  /** Time allowed for the whole exchange. Default 10 s. */
  timeoutMs?: number;
  /** The clock, for receivedAt, assertion times and Retry-After dates (default the system clock). */
  clock?: Pick<Clock, "now">;
}

/** Posts a grant to `tokenUrl` and returns the token. Throws TokenError. */
export async function postGrant(
  tokenUrl: string,
  grant: GrantRequest,
  options: HttpIssuerOptions,
  signal?: AbortSignal,
): Promise<IssuedToken> {
  const host = new URL(tokenUrl).host;
  const clock = options.clock ?? systemClock;
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000);
  let response: Dispatcher.ResponseData;
  try {
    response = await request(tokenUrl, {
      method: "POST",
      headers: { accept: "application/json", ...grant.headers },
      body: grant.body,
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
  const retryAfterMs = waitRequestedBy(status, response.headers, clock.now());
  const wait = retryAfterMs !== undefined ? { retryAfterMs } : {};
  if (status === 429) {
    throw new TokenError(TokenErrorCode.RateLimited, `token endpoint ${host} answered 429`, {
      status,
      ...wait,
    });
  }
  if (status >= 500)
    throw new TokenError(TokenErrorCode.Unavailable, `token endpoint ${host} answered ${status}`, {
      status,
      ...wait,
    });
  if (status >= 400) {
    const error = oauthErrorCode(text);
    const parts = [...(error === undefined ? [] : [error]), ...azureErrorCodes(text).map(aadstsDetail)];
    const detail = parts.length === 0 ? "" : ` (${parts.join(", ")})`;
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
  const parsed = tokenEndpointAnswer.safeParse(json);
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
    receivedAt: new Date(clock.now()),
  };
}
