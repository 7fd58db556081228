/**
 * Errors in the OAuth2 shape (RFC 6749 §5.2) the emulator's other issuers answer with, instead of
 * DataTrails' grpc-gateway shape: `{error, error_description}` for the JWT-bearer endpoint, and
 * Azure AD's richer `{error, error_description, error_codes, timestamp, trace_id, correlation_id}`.
 * Route handlers throw {@link OAuthError}; the server's error handler also turns injected faults and
 * fastify's own errors on those routes into this shape, so a client never sees a grpc body there.
 */
import { randomUUID } from "node:crypto";
import { ApiError } from "./errors.ts";
import type { RouteFamily } from "./route-names.ts";

/** An OAuth2 error body, with Azure's extra fields when the issuer is Azure AD. */
export interface OAuthErrorBody {
  error: string;
  error_description: string;
  [extra: string]: unknown;
}

/** An error a token route throws to answer with a status and an OAuth2 error body. */
export class OAuthError extends Error {
  /** The HTTP status. */
  readonly status: number;
  /** The OAuth2 `error` code (`invalid_client`, `invalid_grant`, ...). */
  readonly error: string;
  /** Fields beside `error` and `error_description` (Azure's `error_codes` and trace ids). */
  readonly extra: Readonly<Record<string, unknown>>;
  /** Extra response headers (Retry-After). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    error: string,
    description: string,
    extra: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    super(description);
    this.name = "OAuthError";
    this.status = status;
    this.error = error;
    this.extra = extra;
    this.headers = headers;
  }

  /** The body to send. */
  body(): OAuthErrorBody {
    return { error: this.error, error_description: this.message, ...this.extra };
  }
}

/** Azure's timestamp format in error bodies: `2024-05-01 12:34:56Z`. */
function azureTimestamp(nowMs: number): string {
  return new Date(nowMs)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d{3}Z$/, "Z");
}

/**
 * An Azure AD error: the description starts `AADSTS<code>: ` and ends with CRLF-separated trace
 * lines, as Azure writes them; the body carries `error_codes: [code]` (empty when no AADSTS code
 * fits), a timestamp and the trace ids.
 */
export function azureError(
  status: number,
  error: string,
  code: number | undefined,
  description: string,
  nowMs: number,
  headers: Record<string, string> = {},
): OAuthError {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = azureTimestamp(nowMs);
  const prefix = code === undefined ? "" : `AADSTS${code}: `;
  return new OAuthError(
    status,
    error,
    `${prefix}${description}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
    {
      error_codes: code === undefined ? [] : [code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
    },
    headers,
  );
}

/** The OAuth2 error code for a status that did not come with one (injected faults, fastify's errors). */
export function oauthErrorCodeForStatus(status: number): string {
  if (status === 401) return "invalid_client";
  if (status === 403) return "unauthorized_client";
  if (status === 429 || status === 503) return "temporarily_unavailable";
  if (status >= 500) return "server_error";
  return "invalid_request";
}

// AADSTS codes a real tenant sends for these conditions: 50196 (throttled: a client request loop),
// 90033 (a transient error), 50000 (an error issuing a token). Other injected statuses get none.
function azureCodeForStatus(status: number): number | undefined {
  if (status === 429) return 50196;
  if (status === 502 || status === 503 || status === 504) return 90033;
  if (status >= 500) return 50000;
  return undefined;
}

/**
 * Any error thrown on an Azure or JWT-bearer route as an OAuthError: route errors pass through;
 * injected faults (ApiError) keep their status, message and headers; fastify's own 4xx errors
 * (unsupported content type, body too large) keep theirs; anything else is a 500.
 */
export function toOAuthError(
  err: unknown,
  family: Exclude<RouteFamily, "dataTrails">,
  nowMs: number,
): OAuthError {
  if (err instanceof OAuthError) return err;
  let status = 500;
  let message = "internal error";
  let headers: Record<string, string> = {};
  if (err instanceof ApiError) {
    status = err.status;
    message = err.message;
    headers = { ...err.headers };
    // Archivist-Rate-Limit-Reset is DataTrails' own header; other issuers send only Retry-After.
    delete headers["archivist-rate-limit-reset"];
  } else {
    const statusCode = (err as { statusCode?: unknown }).statusCode;
    if (typeof statusCode === "number" && statusCode >= 400 && statusCode < 500) {
      status = statusCode;
      message = (err as Error).message;
    }
  }
  const error = oauthErrorCodeForStatus(status);
  if (family === "azure")
    return azureError(status, error, azureCodeForStatus(status), message, nowMs, headers);
  return new OAuthError(status, error, message, {}, headers);
}
