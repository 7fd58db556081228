/**
 * What the BearerToken controller observes and decides. gather.ts fills a {@link TokenObserved};
 * decide.ts says whether a token must be fetched now (beforeFetch) and, after the fetch, whether to
 * publish it or keep the published one (afterFetch); apply.ts carries that step out.
 */
import type { BearerToken, BearerTokenSpec } from "../../api/v1alpha1/bearer-token.ts";
import type { SecretClaim } from "../secret-claim.ts";
import type { StaleFields } from "../secret-shape.ts";

/** The token Secret as far as scheduling goes: never the token itself. */
export interface TokenSecretView {
  resourceVersion: string;
  hasToken: boolean;
  issuedAt?: Date;
  expiresAt?: Date;
  /** The version of the inputs (credentials Secret, key Secret) the token was obtained with. */
  inputsVersion?: string;
  /** The BearerToken generation the token was obtained for. */
  generation?: number;
  /** Digest of what the token was requested with besides the input values (absent on older Secrets). */
  request?: string;
  /** The datatrails.ai/refresh-requested-at value the token answers, if any. */
  refreshRequest?: string;
  /** Whether bearer-token.txt, expires_at and the labels are as the operator writes them. */
  wellFormed: boolean;
  /** Whether the Secret is shaped as spec.secretTemplate says (secret-shape.ts); if not, it is rewritten. */
  shapeCurrent: boolean;
  /** What an earlier template wrote that the current one does not (names only), removed on the next write. */
  stale?: StaleFields;
}

/** The issuer's inputs (client credentials or signing key): their version, or why they are unusable. */
export type InputsState =
  /** `version`: a digest of the values; `legacyVersion`: `<uid>/<resourceVersion>`, as earlier versions recorded it. */
  { state: "ready"; version: string; legacyVersion?: string } | { state: "failed"; message: string };

/** Everything the BearerToken controller knows before deciding. */
export interface TokenObserved {
  object: BearerToken;
  spec: BearerTokenSpec | undefined;
  specError?: string;
  secret: TokenSecretView | undefined;
  /** Whether this BearerToken may write its token Secret (secret-claim.ts). */
  secretClaim: SecretClaim;
  inputs: InputsState;
  /** The request digest of the current spec (secret.ts, requestDigest), when it parsed. */
  request?: string;
}

/** Why a token is being fetched. */
export type RefreshCause =
  | "missing"
  | "due"
  | "expired"
  | "inputsChanged"
  | "specChanged"
  | "malformed"
  /** The datatrails.ai/refresh-requested-at annotation holds a value not yet acted on. */
  | "requested";

/** planRefresh's answer: fetch now, or wait. */
export type RefreshPlan = { fetch: true; cause: RefreshCause } | { fetch: false; requeueAfterMs: number };

/** Why a fetch published nothing (token/failures.ts maps each to a reason). */
export type RefreshFailureKind = "rejected" | "unavailable" | "verification" | "invalid" | "inputs";

/** How a fetch went. The token itself rides along to be published, and is never logged. */
export type RefreshOutcome =
  | { ok: true; issuedAt: Date; expiresAt: Date; accessToken: string }
  | { ok: false; kind: RefreshFailureKind; message: string; retryAfterMs?: number };
