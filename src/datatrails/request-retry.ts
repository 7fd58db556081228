/**
 * The request retry: when the DataTrails client sends one HTTP call again, inside a single
 * reconcile (not to be confused with the work queue's requeue backoff in src/k8s/work-queue.ts,
 * which decides when a failed reconcile runs again, nor with the token refresh retry in
 * src/tokens/schedule.ts). Only idempotent calls are retried (GET, DELETE, PATCH with absolute values,
 * the token POST); create and regenerate-secret never are. Retries are bounded, jittered and
 * exponential; a 429 waits at least what `Retry-After` or `Archivist-Rate-Limit-Reset` asks, and a
 * wait longer than `maxRetryAfterMs` is left to the caller (the error carries retryAfterMs).
 */
import type { DataTrailsError } from "./errors.ts";

/** Bounds of the request retry loop. */
export interface RequestRetryPolicy {
  /** Attempts in all, the first included (1 disables retries). */
  maxAttempts: number;
  /** The first backoff step. */
  baseDelayMs: number;
  /** The largest backoff step. */
  maxDelayMs: number;
  /** The longest server-requested wait the client sits out itself. */
  maxRetryAfterMs: number;
}

/** The defaults: 4 attempts, 200 ms doubling to 5 s, server waits up to 60 s. */
export const defaultRequestRetryPolicy: RequestRetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  maxRetryAfterMs: 60_000,
};

/** Exponential backoff with "equal jitter": half the step fixed, half random. `attempt` counts from 1. */
export function requestBackoffMs(attempt: number, policy: RequestRetryPolicy, random: () => number): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

/**
 * How long to wait before attempt `attempt + 1` of an idempotent call that failed with `error`, or
 * undefined when it must not be retried.
 */
export function requestRetryDelayMs(
  error: DataTrailsError,
  attempt: number,
  policy: RequestRetryPolicy,
  random: () => number,
): number | undefined {
  if (!error.retryable || attempt >= policy.maxAttempts) return undefined;
  if (error.retryAfterMs !== undefined) {
    if (error.retryAfterMs > policy.maxRetryAfterMs) return undefined;
    // At least what the server asked; a little jitter so many clients do not return together.
    return Math.ceil(error.retryAfterMs + random() * Math.min(1_000, error.retryAfterMs * 0.1));
  }
  return requestBackoffMs(attempt, policy, random);
}
