/**
 * The integration controller's one mapping from a DataTrails failure to a condition reason: gather's
 * lookups, the access-policy lookups and apply's steps all come through here, so a code means the
 * same reason wherever it happens. A failure about an access policy is always AccessPolicyFailed
 * (on AccessPoliciesReady); anything else about the application goes on CredentialsReady.
 */
import { Reason, type ReasonName } from "../../api/v1alpha1/index.ts";
import { isDataTrailsError, type DataTrailsErrorCode } from "../../datatrails/errors.ts";
import type { Failure } from "./model.ts";

/** The reason of each DataTrails error code, for a call about the application. */
const applicationReason: Record<DataTrailsErrorCode, ReasonName> = {
  Unauthenticated: Reason.AdminUnauthorized,
  PermissionDenied: Reason.AdminUnauthorized,
  RateLimited: Reason.RateLimited,
  QuotaExceeded: Reason.QuotaExceeded,
  InvalidArgument: Reason.Rejected,
  NotFound: Reason.DataTrailsUnavailable,
  Conflict: Reason.DataTrailsUnavailable,
  ServerError: Reason.DataTrailsUnavailable,
  Unavailable: Reason.DataTrailsUnavailable,
  UnexpectedStatus: Reason.DataTrailsUnavailable,
  Timeout: Reason.DataTrailsUnavailable,
  ConnectionFailed: Reason.DataTrailsUnavailable,
  MalformedResponse: Reason.DataTrailsUnavailable,
  Aborted: Reason.DataTrailsUnavailable,
  InvalidRequest: Reason.DataTrailsUnavailable,
};

/** What a failed call was about: the application (what was being done), or one access policy. */
type FailureSite = { application: string } | { policy: string };

/** The failure a DataTrails error stands for; any other error is rethrown. */
export function failureOf(err: unknown, site: FailureSite): Failure {
  if (!isDataTrailsError(err)) throw err;
  const retry = err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {};
  if ("policy" in site)
    return {
      reason: Reason.AccessPolicyFailed,
      message: `access policy "${site.policy}": ${err.code}: ${err.message}`,
      ...retry,
    };
  return {
    reason: applicationReason[err.code],
    message: `${site.application}: ${err.message}`,
    ...(err.code === "RateLimited" ? retry : {}),
  };
}
