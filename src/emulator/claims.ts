/**
 * The custom-claim rules DataTrails enforces on App Registrations: custom claims become top-level
 * claims of every token the application gets, so they may not shadow what the token already
 * carries nor use the prefixes DataTrails keeps for itself.
 */

/** Prefixes DataTrails reserves (jit_ for identity, arc_ for the archivist). */
export const reservedClaimPrefixes = ["jit_", "arc_"] as const;

/**
 * Claim names a custom claim may not use: the registered JWT claims (RFC 7519 §4.1), the access-token
 * claims of RFC 9068, the OpenID Connect claims access tokens carry, and `name`, which the token
 * endpoint sets to the display name. Kept equal to the operator's list in src/api/v1alpha1/claims.ts
 * by a unit test, so the CRD refuses what the emulator refuses.
 */
export const registeredJwtClaimNames = [
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

/** Why a custom-claim name is refused, or undefined when it is allowed. */
export function customClaimNameProblem(name: string): string | undefined {
  if (name.length === 0) return "custom claim names must not be empty";
  if (reservedClaimPrefixes.some((p) => name.startsWith(p))) {
    return `custom claim ${JSON.stringify(name)} must not start with jit_ or arc_`;
  }
  if ((registeredJwtClaimNames as readonly string[]).includes(name)) {
    return `custom claim ${JSON.stringify(name)} is a registered JWT claim`;
  }
  return undefined;
}
