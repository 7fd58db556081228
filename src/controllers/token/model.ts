/**
 * What the BearerToken controller observes and decides. gather.ts fills a {@link TokenObserved};
 * decide.ts says whether a token must be fetched now (beforeFetch) and, after the fetch, whether to
 * publish it or keep the published one (afterFetch); apply.ts carries that step out.
 */
import type { BearerToken, BearerTokenSpec } from "../../api/v1alpha1/bearer-token.ts";
import type { SecretClaim } from "../secret-claim.ts";

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
  /** The datatrails.ai/refresh-requested-at value the token answers, if any. */
  refreshRequest?: string;
  /** Whether bearer-token.txt, expires_at and the labels are as the operator writes them. */
  wellFormed: boolean;
}

/** The issuer's inputs (client credentials or signing key): their version, or why they are unusable. */
export type InputsState = { state: "ready"; version: string } | { state: "failed"; message: string };

/** Everything the BearerToken controller knows before deciding. */
export interface TokenObserved {
  object: BearerToken;
  spec: BearerTokenSpec | undefined;
  specError?: string;
  secret: TokenSecretView | undefined;
  /** Whether this BearerToken may write its token Secret (secret-claim.ts). */
  secretClaim: SecretClaim;
  inputs: InputsState;
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
