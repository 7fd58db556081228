/**
 * The datatrails.ai/v1alpha1 API: schemas, types, condition vocabulary and the names the operator
 * writes onto objects.
 */
export * from "./meta.ts";
export * from "./conditions.ts";
export * from "./constants.ts";
export * from "./claims.ts";
export * from "./connection.ts";
export * from "./integration.ts";
export * from "./bearer-token.ts";
export * from "./secret-template.ts";
export * from "./reload.ts";
