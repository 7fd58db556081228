/**
 * Errors at the token-issuer boundary. Messages name the issuer's host and what went wrong; they
 * never carry a client secret, an assertion, a token or a raw response body.
 */

/** Stable error codes; docs/errors-tokens.md describes each. */
export const TokenErrorCode = {
  /** The issuer refused the client's credentials or grant (400 invalid_client/invalid_grant, 401, 403). */
  Rejected: "Rejected",
  /** The issuer answered 429; retryAfterMs says how long it asked to wait. */
  RateLimited: "RateLimited",
  /** The issuer answered with a server error (5xx). */
  Unavailable: "Unavailable",
  /** No answer in time. */
  Timeout: "Timeout",
  /** The connection failed or broke. */
  ConnectionFailed: "ConnectionFailed",
  /** The answer was not a token response (bad JSON, no access_token, no usable expires_in). */
  MalformedResponse: "MalformedResponse",
  /** The token failed verification (signature, iss, aud, exp or roles); it is not published. */
  VerificationFailed: "VerificationFailed",
  /** The inputs (credentials Secret, key Secret) are missing or unusable. */
  InvalidInput: "InvalidInput",
} as const;

/** A token error code. */
export type TokenErrorCodeName = (typeof TokenErrorCode)[keyof typeof TokenErrorCode];

const retryableCodes: ReadonlySet<TokenErrorCodeName> = new Set([
  TokenErrorCode.RateLimited,
  TokenErrorCode.Unavailable,
  TokenErrorCode.Timeout,
  TokenErrorCode.ConnectionFailed,
  TokenErrorCode.MalformedResponse,
]);

/** A failure to obtain or verify a token. */
export class TokenError extends Error {
  override readonly name = "TokenError";
  readonly code: TokenErrorCodeName;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly status: number | undefined;

  constructor(
    code: TokenErrorCodeName,
    message: string,
    options: { status?: number; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = retryableCodes.has(code);
    this.retryAfterMs = options.retryAfterMs;
    this.status = options.status;
  }
}

/** Whether `err` is a TokenError. */
export function isTokenError(err: unknown): err is TokenError {
  return err instanceof TokenError;
}
