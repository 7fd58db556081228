/**
 * The DataTrails client: the DataTrailsApi port, its undici implementation, and the error class of
 * the boundary. See docs/errors-datatrails.md for the error codes.
 */
export type {
  AccessPermission,
  AccessPolicy,
  AccessPolicyQuery,
  AccessPolicyUpdate,
  AccessToken,
  Application,
  ApplicationCredential,
  ApplicationPage,
  ApplicationQuery,
  ApplicationUpdate,
  CallOptions,
  ClientCredentials,
  DataTrailsApi,
  IssuedApplication,
  NewAccessPolicy,
  NewApplication,
} from "./api.ts";
export { defaultListPageSize } from "./api.ts";
export {
  DataTrailsError,
  dataTrailsErrorCodeList,
  dataTrailsErrorCodes,
  isDataTrailsError,
  redactSecrets,
  type DataTrailsErrorCode,
} from "./errors.ts";
export { HttpDataTrailsApi, tokenEndpointPath, type HttpDataTrailsApiOptions } from "./http-api.ts";
export type { RateLimit } from "./rate-limiter.ts";
export { defaultRetryPolicy, type RetryPolicy } from "./retry.ts";
export { defaultTimeouts, type Timeouts } from "./transport.ts";
