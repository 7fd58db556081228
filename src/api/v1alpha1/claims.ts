/**
 * Which custom-claim names DataTrails refuses and the operator reserves. Custom claims become
 * top-level claims of every token the application gets, so they may not shadow the claims the
 * token already carries.
 */

/** Prefixes DataTrails keeps for itself (jit_ for identity, arc_ for the archivist). */
export const reservedClaimPrefixes = ["jit_", "arc_"] as const;

/**
 * Registered JWT claims (RFC 7519 §4.1, RFC 9068 access-token claims, OpenID Connect claims that
 * access tokens carry) and `name`, which DataTrails sets to the display name.
 */
export const registeredClaimNames = [
  "iss",
  "sub",
  "aud",
  "exp",
  "nbf",
  "iat",
  "jti",
  "client_id",
  "scope",
  "azp",
  "name",
  "nonce",
  "auth_time",
  "acr",
  "amr",
  "cnf",
  "act",
  "may_act",
  "sid",
] as const;

/**
 * The claim the operator adds to every application it creates, holding the integration's UID. It
 * is the durable proof of ownership that crash recovery searches for (docs/design.md).
 */
export const ownerClaimName = "k8s_integration_uid";

/** Names a user may not use in spec.customClaims. */
export const forbiddenClaimNames: readonly string[] = [...registeredClaimNames, ownerClaimName];
