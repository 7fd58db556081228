/**
 * Errors in the shape DataTrails' grpc-gateway answers with: an HTTP status and a body
 * `{"code": <gRPC code>, "message": "...", "details": []}`. Route handlers throw {@link ApiError};
 * the server's error handler turns it (and fastify's own errors) into that body, so no route can
 * answer in another shape.
 */

/** The gRPC status codes the emulator answers with, by name. */
export const grpcCodes = {
  ok: 0,
  cancelled: 1,
  unknown: 2,
  invalidArgument: 3,
  deadlineExceeded: 4,
  notFound: 5,
  alreadyExists: 6,
  permissionDenied: 7,
  resourceExhausted: 8,
  failedPrecondition: 9,
  aborted: 10,
  unimplemented: 12,
  internal: 13,
  unavailable: 14,
  unauthenticated: 16,
} as const;

/** The grpc-gateway error body. */
export interface GrpcErrorBody {
  code: number;
  message: string;
  details: unknown[];
}

/**
 * The gRPC code that goes with an HTTP status (grpc-gateway's mapping, read backwards). 402 is
 * DataTrails' own status for an exhausted quota; the real service sends it with gRPC code 12
 * (UNIMPLEMENTED, whatever the name says) and a message ending in "Payment Required".
 */
export function grpcCodeForStatus(status: number): number {
  switch (status) {
    case 400:
      return grpcCodes.invalidArgument;
    case 401:
      return grpcCodes.unauthenticated;
    case 402:
      return grpcCodes.unimplemented;
    case 403:
      return grpcCodes.permissionDenied;
    case 404:
      return grpcCodes.notFound;
    case 409:
      return grpcCodes.alreadyExists;
    case 412:
      return grpcCodes.failedPrecondition;
    case 429:
      return grpcCodes.resourceExhausted;
    case 499:
      return grpcCodes.cancelled;
    case 500:
      return grpcCodes.internal;
    case 501:
      return grpcCodes.unimplemented;
    case 502:
    case 503:
      return grpcCodes.unavailable;
    case 504:
      return grpcCodes.deadlineExceeded;
    default:
      return grpcCodes.unknown;
  }
}

/** Builds a grpc-gateway error body. */
export function errorBody(code: number, message: string): GrpcErrorBody {
  return { code, message, details: [] };
}

/** An error a route throws to answer with a status and a grpc-gateway body. */
export class ApiError extends Error {
  /** The HTTP status. */
  readonly status: number;
  /** The gRPC code in the body. */
  readonly grpcCode: number;
  /** Extra response headers (rate-limit reset). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.grpcCode = grpcCodeForStatus(status);
    this.headers = headers;
  }

  /** The body to send. */
  body(): GrpcErrorBody {
    return errorBody(this.grpcCode, this.message);
  }
}

/** 400 INVALID_ARGUMENT. */
export function invalidArgument(message: string): ApiError {
  return new ApiError(400, message);
}

/** 401 UNAUTHENTICATED. */
export function unauthenticated(message = "authentication required"): ApiError {
  return new ApiError(401, message);
}

/** 403 PERMISSION_DENIED. */
export function permissionDenied(message = "permission denied"): ApiError {
  return new ApiError(403, message);
}

/** 404 NOT_FOUND. */
export function notFound(message = "not found"): ApiError {
  return new ApiError(404, message);
}

/** What every 402 message ends with, as DataTrails writes it. */
export const paymentRequired = "Payment Required";

/** 402 with gRPC code 12: the tenant's quota of a resource is used up. */
export function quotaExceeded(what: string): ApiError {
  return new ApiError(402, `quota of ${what} reached: ${paymentRequired}`);
}

/** 429 RESOURCE_EXHAUSTED with the reset headers DataTrails sends (whole seconds, at least 1). */
export function rateLimited(resetSeconds: number): ApiError {
  const seconds = String(Math.max(1, Math.ceil(resetSeconds)));
  return new ApiError(429, "rate limit exceeded", {
    "archivist-rate-limit-reset": seconds,
    "retry-after": seconds,
  });
}
