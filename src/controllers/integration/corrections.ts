/**
 * The write-loop breaker. DataTrails is an audit ledger: a policy write records an Event on every
 * asset the policy matches, and every application write is kept in its history. A correction that
 * does not stick (the server normalises what it stores in a way the operator does not expect, or
 * ignores the write) must not be repeated at every resync.
 *
 * Each write to DataTrails that decide plans is a correction of one target (the application, one
 * access policy) towards one payload. The last correction per target is recorded in
 * status.corrections: its payload digest, the generation it was made for, how many times in a row
 * it was made and when last. The same correction for the same generation is made at most
 * {@link maxCorrectionAttempts} times; after that the operator stops writing that target, says so
 * (condition reason ConvergenceFailed, an Event, a metric), and tries once more only when the spec
 * changes (a new generation) or {@link correctionPauseMs} later. A target that needs no correction
 * any more drops its record: the correction stuck.
 */
import { rfc3339 } from "../../api/v1alpha1/index.ts";
import { createHash } from "node:crypto";

/** How many times in a row the same correction is made before the operator stops. */
export const maxCorrectionAttempts = 3;
/** How long the operator waits before trying a correction that did not stick once more. */
export const correctionPauseMs = 24 * 60 * 60 * 1000;

/** One target's last correction, as kept in status.corrections. */
export interface CorrectionRecord {
  target: string;
  generation: number;
  digest: string;
  attempts: number;
  lastAttemptAt: string;
}

/** Tracks the corrections of one reconcile (pure: it only computes what status will record). */
export interface CorrectionGuard {
  /** Whether the correction of `target` to `payload` may be written now; counts it when it may. */
  allow(target: string, payload: unknown): boolean;
  /** The records to keep in status after this reconcile (targets not corrected this time drop out). */
  records(): CorrectionRecord[];
  /** The targets whose correction was held back, with when it may be tried again. */
  stopped(): { target: string; attempts: number; retryAt: string }[];
}

/** A short digest of a payload (JSON with sorted keys, so that key order does not count). */
export function payloadDigest(payload: unknown): string {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sorted)
      : v && typeof v === "object"
        ? Object.fromEntries(
            Object.entries(v as Record<string, unknown>)
              .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
              .map(([k, x]) => [k, sorted(x)]),
          )
        : v;
  return createHash("sha256")
    .update(JSON.stringify(sorted(payload)))
    .digest("hex")
    .slice(0, 16);
}

/** A guard over the records of the previous reconcile, for the object's current generation. */
export function correctionGuard(
  previous: readonly CorrectionRecord[] | undefined,
  generation: number,
  now: Date,
): CorrectionGuard {
  const next = new Map<string, CorrectionRecord>();
  const held: { target: string; attempts: number; retryAt: string }[] = [];
  return {
    allow(target, payload) {
      const digest = payloadDigest(payload);
      const last = previous?.find((r) => r.target === target);
      const same = last !== undefined && last.generation === generation && last.digest === digest;
      if (same && last.attempts >= maxCorrectionAttempts) {
        const retryAt = Date.parse(last.lastAttemptAt) + correctionPauseMs;
        if (now.getTime() < retryAt) {
          next.set(target, last);
          held.push({ target, attempts: last.attempts, retryAt: rfc3339(retryAt) });
          return false;
        }
      }
      next.set(target, {
        target,
        generation,
        digest,
        attempts: same ? last.attempts + 1 : 1,
        lastAttemptAt: rfc3339(now.getTime()),
      });
      return true;
    },
    records: () => [...next.values()],
    stopped: () => [...held],
  };
}
