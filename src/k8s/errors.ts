/**
 * The Kubernetes boundary's one error class. @kubernetes/client-node throws `ApiException`, whose
 * message and properties carry the whole response body and headers (a Secret in a 409 body, a
 * bearer token in a header); everything leaving src/k8s is a {@link KubeError} that keeps only the
 * Status `reason` and `message`, the HTTP status and a retry hint. docs/errors-kube.md lists every
 * code; a unit test keeps that page and {@link kubeErrorCodes} in step.
 */
import { ApiException } from "@kubernetes/client-node";
import { waitRequestedBy } from "../http/retry-after.ts";
import { systemClock, type Clock } from "./clock.ts";
import { redactSecrets } from "../observability/logger.ts";

/** Every code, whether retrying the same call can succeed, and what it means (the docs repeat this). */
export const kubeErrorCodes = {
  NotFound: { retryable: false, meaning: "The object (or its namespace) does not exist (404)." },
  AlreadyExists: { retryable: false, meaning: "A create found an object of that name already there (409)." },
  Conflict: {
    retryable: true,
    meaning: "The object changed since it was read (409, stale resourceVersion); read it again and retry.",
  },
  Forbidden: { retryable: false, meaning: "RBAC or an admission policy refused the request (403)." },
  Unauthorized: {
    retryable: false,
    meaning: "The API server did not accept the client's credentials (401).",
  },
  Invalid: {
    retryable: false,
    meaning: "The object failed validation: schema, CEL rule or field limits (422).",
  },
  BadRequest: {
    retryable: false,
    meaning: "The request was malformed, e.g. a patch the server cannot parse (400).",
  },
  Gone: {
    retryable: true,
    meaning: "The resourceVersion asked for is too old (410); list again from the current state.",
  },
  TooManyRequests: {
    retryable: true,
    meaning: "The API server is throttling (429, API Priority and Fairness); wait `retryAfterMs` when given.",
  },
  Timeout: {
    retryable: true,
    meaning: "The request timed out on the server (504, ServerTimeout) or the client.",
  },
  Unavailable: {
    retryable: true,
    meaning: "The API server failed or is not serving (500, 502, 503, InternalError, ServiceUnavailable).",
  },
  ConnectionFailed: {
    retryable: true,
    meaning: "No HTTP answer: connection refused or reset, DNS or TLS failure.",
  },
  Unknown: { retryable: false, meaning: "Anything else; the message says what was seen." },
} as const satisfies Record<string, { retryable: boolean; meaning: string }>;

/** A {@link KubeError} code. */
export type KubeErrorCode = keyof typeof kubeErrorCodes;

/** What {@link KubeError}'s constructor takes. */
export interface KubeErrorInit {
  code: KubeErrorCode;
  /** What the operator was doing, e.g. `apply Secret ns/name`; it prefixes the message. */
  operation: string;
  /** The Status message (or a description), never a body. */
  message: string;
  status?: number;
  /** The Status `reason`, e.g. `AlreadyExists`. */
  reason?: string;
  retryAfterMs?: number;
  cause?: unknown;
}

/** An error from the Kubernetes API, safe to log and to put into a condition message. */
export class KubeError extends Error {
  override readonly name = "KubeError";
  /** Stable code; `switch (err.code)` narrows to the documented set. */
  readonly code: KubeErrorCode;
  /** Whether retrying the same call later can succeed. */
  readonly retryable: boolean;
  /** The HTTP status, when there was an answer. */
  readonly status: number | undefined;
  /** The Kubernetes Status reason, when there was one. */
  readonly reason: string | undefined;
  /** How long the server asked us to wait (Retry-After or Status details), when it did. */
  readonly retryAfterMs: number | undefined;
  /** The operation that failed. */
  readonly operation: string;

  constructor(init: KubeErrorInit) {
    super(
      redactSecrets(`${init.operation}: ${init.message}`),
      init.cause === undefined ? {} : { cause: init.cause },
    );
    this.code = init.code;
    this.retryable = kubeErrorCodes[init.code].retryable;
    this.status = init.status;
    this.reason = init.reason;
    this.retryAfterMs = init.retryAfterMs;
    this.operation = init.operation;
  }
}

const reasonCodes: Record<string, KubeErrorCode> = {
  NotFound: "NotFound",
  AlreadyExists: "AlreadyExists",
  Conflict: "Conflict",
  Forbidden: "Forbidden",
  Unauthorized: "Unauthorized",
  Invalid: "Invalid",
  BadRequest: "BadRequest",
  Gone: "Gone",
  Expired: "Gone",
  TooManyRequests: "TooManyRequests",
  Timeout: "Timeout",
  ServerTimeout: "Timeout",
  InternalError: "Unavailable",
  ServiceUnavailable: "Unavailable",
};

const statusCodes: Record<number, KubeErrorCode> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  408: "Timeout",
  409: "Conflict",
  410: "Gone",
  422: "Invalid",
  429: "TooManyRequests",
  500: "Unavailable",
  502: "Unavailable",
  503: "Unavailable",
  504: "Timeout",
};

const connectionErrorCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "SELF_SIGNED_CERT_IN_CHAIN",
]);
const timeoutErrorCodes = new Set([
  "ETIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

interface StatusFields {
  reason?: string;
  message?: string;
  retryAfterSeconds?: number;
}

/** Reads reason, message and retryAfterSeconds from a Status body given as text or object; nothing else. */
function statusFields(body: unknown): StatusFields {
  let parsed: unknown = body;
  if (typeof body === "string") {
    try {
      parsed = JSON.parse(body);
    } catch {
      return {};
    }
  }
  if (parsed === null || typeof parsed !== "object") return {};
  const status = parsed as {
    kind?: unknown;
    reason?: unknown;
    message?: unknown;
    details?: { retryAfterSeconds?: unknown };
  };
  // Only a Status carries a message meant for people; any other body (an object) is not read at all.
  if (status.kind !== undefined && status.kind !== "Status") return {};
  const out: StatusFields = {};
  if (typeof status.reason === "string" && status.reason) out.reason = status.reason;
  if (typeof status.message === "string") out.message = status.message.slice(0, 1000);
  const retry = status.details?.retryAfterSeconds;
  if (typeof retry === "number" && retry > 0) out.retryAfterSeconds = retry;
  return out;
}

function errorCodeOf(err: unknown): string | undefined {
  for (let current: unknown = err, depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The code for an HTTP status and optional Status reason (the reason wins when it is known). */
export function codeForStatus(status: number, reason?: string): KubeErrorCode {
  return (
    (reason && reasonCodes[reason]) || statusCodes[status] || (status >= 500 ? "Unavailable" : "Unknown")
  );
}

/**
 * Wraps anything thrown by a Kubernetes call. `ApiException` (and the watch's errors, which carry
 * `statusCode`) become a code from the HTTP status and Status reason; network failures become
 * `ConnectionFailed` or `Timeout`. The raw ApiException is not kept as `cause`: it holds the body.
 * `clock` dates a Retry-After given as an HTTP date or an epoch time.
 */
export function toKubeError(
  err: unknown,
  operation: string,
  clock: Pick<Clock, "now"> = systemClock,
): KubeError {
  if (err instanceof KubeError) return err;
  const httpStatus =
    err instanceof ApiException
      ? err.code
      : typeof (err as { statusCode?: unknown } | null)?.statusCode === "number"
        ? (err as { statusCode: number }).statusCode
        : undefined;
  if (httpStatus !== undefined) {
    const body = err instanceof ApiException ? (err.body as unknown) : undefined;
    const fields = statusFields(body);
    const headers = err instanceof ApiException ? err.headers : undefined;
    const retryAfterMs =
      waitRequestedBy(httpStatus, headers, clock.now()) ??
      (fields.retryAfterSeconds ? fields.retryAfterSeconds * 1000 : undefined);
    return new KubeError({
      code: codeForStatus(httpStatus, fields.reason),
      operation,
      status: httpStatus,
      message: fields.message ?? `HTTP ${httpStatus}${fields.reason ? ` ${fields.reason}` : ""}`,
      ...(fields.reason === undefined ? {} : { reason: fields.reason }),
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  const name = (err as { name?: unknown } | null)?.name;
  if (name === "TimeoutError")
    return new KubeError({ code: "Timeout", operation, message: "request timed out", cause: err });
  const code = errorCodeOf(err);
  if (code !== undefined && timeoutErrorCodes.has(code)) {
    return new KubeError({ code: "Timeout", operation, message: `request timed out (${code})`, cause: err });
  }
  if (code !== undefined && connectionErrorCodes.has(code)) {
    return new KubeError({
      code: "ConnectionFailed",
      operation,
      message: `cannot reach the API server (${code})`,
      cause: err,
    });
  }
  if (err instanceof TypeError && err.message === "fetch failed") {
    return new KubeError({
      code: "ConnectionFailed",
      operation,
      message: "cannot reach the API server",
      cause: err,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new KubeError({
    code: "Unknown",
    operation,
    message: (message.split(/\n?Body:/)[0] ?? "").slice(0, 500),
  });
}

function codeOf(err: unknown): KubeErrorCode {
  return err instanceof KubeError ? err.code : toKubeError(err, "").code;
}

/** True when `err` (a KubeError or a raw client error) means the object does not exist. */
export function isNotFound(err: unknown): boolean {
  return codeOf(err) === "NotFound";
}

/** True when `err` is an optimistic-concurrency conflict (stale resourceVersion). */
export function isConflict(err: unknown): boolean {
  return codeOf(err) === "Conflict";
}

/** True when `err` is a create that found the object already there. */
export function isAlreadyExists(err: unknown): boolean {
  return codeOf(err) === "AlreadyExists";
}

/** True when `err` says a watch or list asked for a resourceVersion that is too old. */
export function isGone(err: unknown): boolean {
  return codeOf(err) === "Gone";
}

/** True when retrying the same call later can succeed. */
export function isRetryable(err: unknown): boolean {
  return kubeErrorCodes[codeOf(err)].retryable;
}
