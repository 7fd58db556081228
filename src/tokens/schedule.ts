/**
 * When to refresh a bearer token: the token lifecycle, explained once.
 *
 * A token is obtained at `issuedAt` (when the operator received it) and expires at `expiresAt`. The
 * issuer says how long it lives in `expires_in`; when the token is a JWT its `exp` claim says it too,
 * and the earlier of the two wins, so a clock-skewed or lying `expires_in` cannot make the operator
 * publish a token past its real expiry. Nothing assumes one hour: DataTrails test tenants issue
 * shorter tokens, Federated Directory eight-hour ones.
 *
 * The refresh is due at a point between 67 % and 80 % of that lifetime. The point is fixed per
 * object (a hash of its key), so that 10,000 tokens obtained in the same second spread their
 * refreshes over 13 % of the lifetime instead of returning together, and so that a restart computes
 * the same schedule again from the token Secret alone (no request is made for a token not yet due).
 * For a one-hour token that is minute 40 to minute 48, which leaves at least 12 minutes for retries
 * and for the kubelet (up to ~90 s) to update the mounted file. For tokens of 25 minutes or more the
 * 80 % point is never later than expiry − 5 minutes; shorter (test) tokens use the window alone.
 *
 * If a refresh fails, the old token stays published while it is valid, and the refresh is retried
 * with jittered exponential backoff whose cap shrinks as expiry approaches (a third of the time left),
 * so that several attempts still fit before the token expires. Once the published token has expired,
 * the cap is short (15 s): every second from then on is an outage for the workloads, so the Secret
 * holds an expired token at most that long after the issuer answers again. A delay is never below
 * one second, so a zero, negative or already-past time can never turn into a hot loop.
 */
import { createHash } from "node:crypto";

/** When a token was obtained and when it expires. */
export interface TokenTimes {
  issuedAt: Date;
  expiresAt: Date;
}

/** The earliest part of the lifetime at which a refresh may be due. */
export const refreshWindowStart = 0.67;
/** The latest part of the lifetime at which a refresh may be due. */
export const refreshWindowEnd = 0.8;
/** Tokens living at least this long are refreshed no later than {@link minimumHeadroomMs} before expiry. */
export const longTokenMs = 25 * 60 * 1000;
/** The headroom before expiry kept for long tokens. */
export const minimumHeadroomMs = 5 * 60 * 1000;
/** No computed delay is shorter than this. */
export const minimumDelayMs = 1000;

/**
 * The refresh retry: how long a BearerToken waits after a failed refresh before its reconcile asks to
 * run again (as a requeueAfterMs). Not the DataTrails client's request retry, nor the work queue's
 * requeue backoff for reconciles that throw.
 */
export interface RefreshRetryPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
  /** The cap once the published token has expired (the workloads hold nothing valid). */
  expiredMaxDelayMs: number;
}

/** The default retry policy: 1 s doubling to 2 minutes, or to 15 s once the token has expired. */
export const defaultRefreshRetryPolicy: RefreshRetryPolicy = {
  baseDelayMs: 1000,
  maxDelayMs: 120_000,
  expiredMaxDelayMs: 15_000,
};

/** A number in [0, 1) that depends only on `key`. */
export function jitterFraction(key: string): number {
  const digest = createHash("sha256").update(key).digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}

/**
 * The token's times from what the issuer returned: `expires_in` measured from when the answer was
 * received, capped by the JWT's `exp` (seconds since the epoch) when there is one, both rounded down
 * to whole seconds.
 */
export function tokenTimes(receivedAt: Date, expiresInSeconds: number, jwtExpSeconds?: number): TokenTimes {
  let expiresAt = receivedAt.getTime() + Math.max(0, expiresInSeconds) * 1000;
  if (jwtExpSeconds !== undefined && Number.isFinite(jwtExpSeconds))
    expiresAt = Math.min(expiresAt, jwtExpSeconds * 1000);
  // Whole seconds, as the token Secret's annotations hold them: a restart that rebuilds the
  // schedule from the Secret then computes exactly the same refresh time (and writes no status).
  const second = (ms: number) => Math.floor(ms / 1000) * 1000;
  return { issuedAt: new Date(second(receivedAt.getTime())), expiresAt: new Date(second(expiresAt)) };
}

/** When the token is due for refresh. */
export function refreshAt(times: TokenTimes, key: string): Date {
  const issued = times.issuedAt.getTime();
  const lifetime = times.expiresAt.getTime() - issued;
  if (lifetime <= 0) return times.issuedAt;
  const fraction = refreshWindowStart + (refreshWindowEnd - refreshWindowStart) * jitterFraction(key);
  let at = issued + fraction * lifetime;
  if (lifetime >= longTokenMs) at = Math.min(at, times.expiresAt.getTime() - minimumHeadroomMs);
  return new Date(Math.floor(at));
}

/** Whether the token's refresh is due at `now`. */
export function tokenIsDue(times: TokenTimes, key: string, now: Date): boolean {
  return refreshAt(times, key).getTime() <= now.getTime();
}

/** Whether the token has expired at `now`. */
export function tokenIsExpired(expiresAt: Date, now: Date): boolean {
  return expiresAt.getTime() <= now.getTime();
}

/** How long to wait from `now` until the refresh is due (never less than {@link minimumDelayMs}). */
export function delayUntilRefresh(times: TokenTimes, key: string, now: Date): number {
  return Math.max(minimumDelayMs, refreshAt(times, key).getTime() - now.getTime());
}

/**
 * How long to wait before retry number `failures` (1 for the first retry). Exponential with
 * deterministic per-object jitter (50–100 % of the step), capped by the policy and, while a token is
 * still valid, by a third of the time it has left; once it has expired, by `expiredMaxDelayMs`.
 */
export function refreshRetryDelayMs(
  failures: number,
  key: string,
  now: Date,
  expiresAt: Date | undefined,
  policy: RefreshRetryPolicy = defaultRefreshRetryPolicy,
): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  let cap = policy.maxDelayMs;
  if (expiresAt && expiresAt.getTime() > now.getTime())
    cap = Math.min(cap, (expiresAt.getTime() - now.getTime()) / 3);
  else if (expiresAt) cap = Math.min(cap, policy.expiredMaxDelayMs);
  const step = Math.min(cap, policy.baseDelayMs * 2 ** exponent);
  const jittered = step * (0.5 + 0.5 * jitterFraction(`${key}#${failures}`));
  return Math.max(minimumDelayMs, Math.floor(jittered));
}
