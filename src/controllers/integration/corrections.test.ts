import { describe, expect, it } from "vitest";
import {
  correctionGuard,
  correctionPauseMs,
  maxCorrectionAttempts,
  payloadDigest,
  type CorrectionRecord,
} from "./corrections.ts";

const now = new Date("2026-06-01T12:00:00Z");
const record = (over: Partial<CorrectionRecord> = {}): CorrectionRecord => ({
  target: "application",
  generation: 4,
  digest: payloadDigest({ displayName: "x" }),
  attempts: maxCorrectionAttempts,
  lastAttemptAt: "2026-06-01T11:00:00Z",
  ...over,
});

describe("correctionGuard", () => {
  it.each([
    { name: "a first correction is allowed and counted once", previous: [], allowed: true, attempts: 1 },
    {
      name: "the same correction again is allowed and counted",
      previous: [record({ attempts: 1 })],
      allowed: true,
      attempts: 2,
    },
    {
      name: "the same correction after the limit is held back",
      previous: [record()],
      allowed: false,
      attempts: maxCorrectionAttempts,
    },
    {
      name: "another payload is a new correction",
      previous: [record({ digest: "other" })],
      allowed: true,
      attempts: 1,
    },
    {
      name: "a new generation starts again",
      previous: [record({ generation: 3 })],
      allowed: true,
      attempts: 1,
    },
    {
      name: "after the pause one more try is allowed",
      previous: [record({ lastAttemptAt: new Date(now.getTime() - correctionPauseMs).toISOString() })],
      allowed: true,
      attempts: maxCorrectionAttempts + 1,
    },
  ])("$name", ({ previous, allowed, attempts }) => {
    const guard = correctionGuard(previous, 4, now);
    expect(guard.allow("application", { displayName: "x" })).toBe(allowed);
    expect(guard.records()[0]?.attempts).toBe(attempts);
    expect(guard.stopped().length).toBe(allowed ? 0 : 1);
  });

  it("drops the record of a target that needs no correction any more", () => {
    expect(correctionGuard([record()], 4, now).records()).toEqual([]);
  });

  it("digests payloads regardless of key order", () => {
    expect(payloadDigest({ a: 1, b: { c: 2, d: 3 } })).toBe(payloadDigest({ b: { d: 3, c: 2 }, a: 1 }));
  });
});
