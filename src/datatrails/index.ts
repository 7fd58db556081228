/**
 * The DataTrails client as the rest of the operator uses it: the DataTrailsApi port's types, its
 * undici implementation, and the error class of the boundary. See docs/errors-datatrails.md for the
 * error codes.
 */
export type { NewAccessPolicy } from "./api.ts";
export { defaultListPageSize } from "./api.ts";
export { DataTrailsError, type DataTrailsErrorCode } from "./errors.ts";
export { HttpDataTrailsApi, type HttpDataTrailsApiOptions } from "./http-api.ts";
