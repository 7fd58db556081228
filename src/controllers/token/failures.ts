/**
 * The BearerToken controller's one mapping of failures: an issuer's TokenError code → the kind of a
 * failed refresh (the metric's `result`), and each kind → the condition reason when no valid token
 * is left. (While the published token is still valid the reason is RefreshFailing whatever the kind;
 * once it has expired, TokenExpired: decide.ts says so.)
 */
import { Reason, type ReasonName } from "../../api/v1alpha1/index.ts";
import type { TokenErrorCodeName } from "../../tokens/errors.ts";
import type { RefreshFailureKind } from "./model.ts";

/** The kind of failed refresh each issuer error code is. */
export const failureKindOf: Record<TokenErrorCodeName, RefreshFailureKind> = {
  Rejected: "rejected",
  VerificationFailed: "verification",
  InvalidInput: "invalid",
  RateLimited: "unavailable",
  Unavailable: "unavailable",
  Timeout: "unavailable",
  ConnectionFailed: "unavailable",
  MalformedResponse: "unavailable",
};

/** The reason of each kind of failed refresh, when no valid token is left. */
export const failureReason: Record<RefreshFailureKind, ReasonName> = {
  rejected: Reason.CredentialsRejected,
  unavailable: Reason.RefreshFailing,
  verification: Reason.VerificationFailed,
  invalid: Reason.InvalidSpec,
  inputs: Reason.SecretNotFound,
};
