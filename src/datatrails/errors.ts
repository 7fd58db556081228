/**
 * The one error class of the DataTrails boundary. Every failure of the client (an HTTP status, a
 * timeout, a dropped connection, a body that does not parse or validate) becomes a DataTrailsError
 * with a literal `code`, whether it is worth retrying, and, for 429, how long to wait.
 *
 * Messages name the operation, the HTTP status and the gRPC code and message the server sent; they
 * never carry request bodies, form data, headers, response bodies, secrets or tokens. `cause` is a
 * sanitised copy of the transport error (name, code, message), never the original object.
 */

/** Every code, whether it is transient, and what it means (docs/errors-datatrails.md lists the same). */
export const dataTrailsErrorCodes = {
  InvalidArgument: { retryable: false, meaning: "HTTP 400: DataTrails refused the request as invalid." },
  Unauthenticated: {
    retryable: false,
    meaning: "HTTP 401: missing, bad or expired token, or wrong/rotated/expired client secret.",
  },
  QuotaExceeded: { retryable: false, meaning: "HTTP 402: the tenant's quota for this resource is used up." },
  PermissionDenied: { retryable: false, meaning: "HTTP 403: the caller lacks the role (e.g. OWNER)." },
  NotFound: { retryable: false, meaning: "HTTP 404: the resource does not exist." },
  Conflict: { retryable: false, meaning: "HTTP 409: the resource conflicts with one that exists." },
  RateLimited: {
    retryable: true,
    meaning: "HTTP 429: rate limit; retryAfterMs says when to try again.",
  },
  ServerError: { retryable: true, meaning: "HTTP 500 or another 5xx: DataTrails failed." },
  Unavailable: { retryable: true, meaning: "HTTP 502, 503 or 504: DataTrails or a proxy is unavailable." },
  UnexpectedStatus: { retryable: false, meaning: "Any other HTTP status (3xx, other 4xx, 501)." },
  Timeout: { retryable: true, meaning: "Connecting, or waiting for headers or body, took too long." },
  ConnectionFailed: {
    retryable: true,
    meaning: "The connection failed or was closed without a response.",
  },
  MalformedResponse: {
    retryable: true,
    meaning: "A response that is not JSON, does not match the schema, or is too large.",
  },
  Aborted: { retryable: false, meaning: "The caller's AbortSignal fired." },
  InvalidRequest: {
    retryable: false,
    meaning: "The client refused the call before sending it (e.g. a malformed application identity).",
  },
} as const satisfies Record<string, { retryable: boolean; meaning: string }>;

/** A DataTrailsError code. */
export type DataTrailsErrorCode = keyof typeof dataTrailsErrorCodes;

/** Every code, in documentation order. */
export const dataTrailsErrorCodeList = Object.keys(dataTrailsErrorCodes) as DataTrailsErrorCode[];

/** Details a DataTrailsError may carry besides its code and message. */
export interface DataTrailsErrorDetails {
  /** What the client was doing, e.g. "create application". */
  operation: string;
  /** The HTTP status, when there was a response. */
  status?: number | undefined;
  /** The gRPC code from the grpc-gateway error body, when there was one. */
  grpcCode?: number | undefined;
  /** For 429: how long the server asked to wait. */
  retryAfterMs?: number | undefined;
  /** A sanitised transport error. */
  cause?: Error | undefined;
}

/** A failure at the DataTrails boundary. */
export class DataTrailsError extends Error {
  override readonly name = "DataTrailsError";
  /** What went wrong, as a literal to switch on. */
  readonly code: DataTrailsErrorCode;
  /** Whether the same call may succeed later (the client only retries idempotent calls). */
  readonly retryable: boolean;
  /** For 429: how long the server asked to wait, in milliseconds. */
  readonly retryAfterMs: number | undefined;
  /** What the client was doing. */
  readonly operation: string;
  /** The HTTP status, when there was a response. */
  readonly status: number | undefined;
  /** The gRPC code from the error body, when there was one. */
  readonly grpcCode: number | undefined;

  constructor(code: DataTrailsErrorCode, message: string, details: DataTrailsErrorDetails) {
    super(redactSecrets(`${details.operation}: ${message}`), details.cause ? { cause: details.cause } : {});
    this.code = code;
    this.retryable = dataTrailsErrorCodes[code].retryable;
    this.retryAfterMs = details.retryAfterMs;
    this.operation = details.operation;
    this.status = details.status;
    this.grpcCode = details.grpcCode;
  }
}

/** Whether a value is a DataTrailsError (optionally of one code). */
export function isDataTrailsError(value: unknown, code?: DataTrailsErrorCode): value is DataTrailsError {
  return value instanceof DataTrailsError && (code === undefined || value.code === code);
}

/** The code for an HTTP error status. */
export function codeForStatus(status: number): DataTrailsErrorCode {
  switch (status) {
    case 400:
      return "InvalidArgument";
    case 401:
      return "Unauthenticated";
    case 402:
      return "QuotaExceeded";
    case 403:
      return "PermissionDenied";
    case 404:
      return "NotFound";
    case 409:
      return "Conflict";
    case 429:
      return "RateLimited";
    case 501:
      return "UnexpectedStatus";
    case 502:
    case 503:
    case 504:
      return "Unavailable";
    default:
      return status >= 500 && status <= 599 ? "ServerError" : "UnexpectedStatus";
  }
}

// A DataTrails secret (64 hex), anything shaped like a JWT, and a bearer credential.
const secretPatterns = [
  /\b[0-9a-fA-F]{64}\b/g,
  /\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g,
  /\b(Bearer)\s+\S+/gi,
];

/**
 * Replaces anything that looks like a client secret, a JWT or a bearer credential with
 * "[redacted]". A second line of defence: messages are built without secrets, but a server's
 * `message` or a socket error is text the client did not write.
 */
export function redactSecrets(text: string): string {
  return secretPatterns.reduce(
    (t, pattern) =>
      t.replace(pattern, (_m, bearer?: unknown) =>
        typeof bearer === "string" ? `${bearer} [redacted]` : "[redacted]",
      ),
    text,
  );
}

/**
 * A copy of a transport error that keeps only its name, code and (redacted) message: the original
 * may hold sockets, request options or, for JSON errors, a slice of the body.
 */
export function sanitisedCause(error: unknown): Error {
  const source = error instanceof Error ? error : new Error(String(error));
  const copy = new Error(redactSecrets(source.message));
  copy.name = source.name;
  const code = (source as { code?: unknown }).code;
  if (typeof code === "string") (copy as Error & { code?: string }).code = code;
  return copy;
}
