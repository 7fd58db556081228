import { describe, expect, it } from "vitest";
import {
  delayUntilRefresh,
  jitterFraction,
  refreshAt,
  refreshRetryDelayMs,
  tokenIsDue,
  tokenIsExpired,
  tokenTimes,
  type TokenTimes,
} from "./schedule.ts";

const t0 = new Date("2026-03-01T00:00:00Z");
const min = 60_000;
const times = (lifetimeMs: number): TokenTimes => ({
  issuedAt: t0,
  expiresAt: new Date(t0.getTime() + lifetimeMs),
});
const keys = Array.from({ length: 2000 }, (_, i) => `uid-${i}`);

describe("tokenTimes", () => {
  it("rounds down to whole seconds, as the token Secret stores them", () => {
    const times = tokenTimes(new Date("2026-03-01T00:00:00.969Z"), 60);
    expect(times.issuedAt.toISOString()).toBe("2026-03-01T00:00:00.000Z");
    expect(times.expiresAt.toISOString()).toBe("2026-03-01T00:01:00.000Z");
  });

  it.each([
    ["expires_in alone", 3600, undefined, "2026-03-01T01:00:00.000Z"],
    ["a JWT exp earlier than expires_in wins", 3600, t0.getTime() / 1000 + 1800, "2026-03-01T00:30:00.000Z"],
    [
      "a JWT exp later than expires_in does not extend it",
      3600,
      t0.getTime() / 1000 + 7200,
      "2026-03-01T01:00:00.000Z",
    ],
    ["a negative expires_in is an already-expired token", -5, undefined, "2026-03-01T00:00:00.000Z"],
  ])("%s", (_name, expiresIn, exp, expected) => {
    expect(tokenTimes(t0, expiresIn, exp).expiresAt.toISOString()).toBe(expected);
  });
});

describe("refreshAt", () => {
  it.each([
    ["one hour (DataTrails)", 60 * min],
    ["the docs' 3660 s example", 61 * min],
    ["eight hours (Federated Directory)", 480 * min],
    ["25 minutes, the shortest that keeps 5 minutes of headroom", 25 * min],
    ["10 minutes (a test tenant)", 10 * min],
    ["90 seconds (a test token)", 1.5 * min],
  ])("falls between 67 %% and 80 %% of %s for every object", (_name, lifetime) => {
    for (const key of keys) {
      const at = refreshAt(times(lifetime), key).getTime() - t0.getTime();
      expect(at).toBeGreaterThanOrEqual(Math.floor(0.67 * lifetime));
      expect(at).toBeLessThanOrEqual(0.8 * lifetime);
    }
  });

  it.each([
    ["one hour", 60 * min],
    ["eight hours", 480 * min],
    ["25 minutes", 25 * min],
  ])("leaves at least five minutes before expiry for %s", (_name, lifetime) => {
    for (const key of keys) {
      expect(
        times(lifetime).expiresAt.getTime() - refreshAt(times(lifetime), key).getTime(),
      ).toBeGreaterThanOrEqual(5 * min);
    }
  });

  it("gives one object the same time on every call (a restart rebuilds the same schedule)", () => {
    expect(refreshAt(times(60 * min), "uid-1")).toEqual(refreshAt(times(60 * min), "uid-1"));
  });

  it("spreads objects across the window: no tenth of it holds more than twice its share", () => {
    const buckets = new Array<number>(10).fill(0);
    for (const key of keys) {
      const f = (refreshAt(times(60 * min), key).getTime() - t0.getTime()) / (60 * min);
      buckets[Math.min(9, Math.floor(((f - 0.67) / 0.13) * 10))]! += 1;
    }
    for (const count of buckets) expect(count).toBeLessThanOrEqual((2 * keys.length) / 10);
    expect(Math.min(...buckets)).toBeGreaterThan(0);
  });
});

describe("due, expired and delays", () => {
  it.each([
    ["before the refresh point", 30 * min, false],
    ["past the window", 49 * min, true],
  ])("a one-hour token is due %s: %s", (_name, elapsed, due) => {
    expect(tokenIsDue(times(60 * min), "uid-7", new Date(t0.getTime() + elapsed))).toBe(due);
  });

  it("calls a token expired at its expiry instant", () => {
    expect(tokenIsExpired(times(min).expiresAt, new Date(t0.getTime() + min))).toBe(true);
    expect(tokenIsExpired(times(min).expiresAt, new Date(t0.getTime() + min - 1))).toBe(false);
  });

  it.each([
    ["a past refresh point", times(60 * min), new Date(t0.getTime() + 59 * min)],
    ["a zero lifetime", times(0), t0],
    ["a negative lifetime", { issuedAt: t0, expiresAt: new Date(t0.getTime() - min) }, t0],
  ])("never returns less than a second for %s", (_name, tt, now) => {
    expect(delayUntilRefresh(tt, "uid-1", now)).toBe(1000);
  });
});

describe("refreshRetryDelayMs", () => {
  const now = t0;
  it.each([
    [1, 500, 1000],
    [2, 1000, 2000],
    [5, 8000, 16000],
    [20, 60_000, 120_000],
  ])("retry %i waits between %i and %i ms with no expiry in sight", (failures, lo, hi) => {
    for (const key of keys.slice(0, 200)) {
      const d = refreshRetryDelayMs(failures, key, now, undefined);
      expect(d).toBeGreaterThanOrEqual(Math.max(1000, lo));
      expect(d).toBeLessThanOrEqual(hi);
    }
  });

  it("caps the wait at a third of the time a valid token has left", () => {
    const expiresAt = new Date(now.getTime() + 3 * min);
    for (const key of keys.slice(0, 200))
      expect(refreshRetryDelayMs(20, key, now, expiresAt)).toBeLessThanOrEqual(min);
  });

  it.each([
    ["just expired", 1],
    ["expired an hour ago", 60 * min],
  ])("retries at least every 15 s once the published token has %s", (_when, agoMs) => {
    const expiresAt = new Date(now.getTime() - agoMs);
    for (const key of keys.slice(0, 200)) {
      const d = refreshRetryDelayMs(20, key, now, expiresAt);
      expect(d).toBeGreaterThanOrEqual(7500);
      expect(d).toBeLessThanOrEqual(15_000);
    }
    // The early retries still double from a second.
    expect(refreshRetryDelayMs(1, "uid-1", now, expiresAt)).toBeLessThanOrEqual(1000);
  });

  it("never drops below a second, even with the token about to expire", () => {
    expect(refreshRetryDelayMs(3, "uid-1", now, new Date(now.getTime() + 10))).toBe(1000);
  });

  it("gives jitter that depends on the object", () => {
    const fractions = new Set(keys.slice(0, 50).map(jitterFraction));
    expect(fractions.size).toBe(50);
  });
});
