import { describe, expect, it } from "vitest";
import { DataTrailsError, type DataTrailsErrorCode } from "./errors.ts";
import { requestBackoffMs, defaultRequestRetryPolicy, requestRetryDelayMs } from "./request-retry.ts";

const policy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1_000, maxRetryAfterMs: 10_000 };

function error(code: DataTrailsErrorCode, retryAfterMs?: number) {
  return new DataTrailsError(code, "x", { operation: "op", retryAfterMs });
}

describe("backoff", () => {
  it.each([
    [1, 50, 100],
    [2, 100, 200],
    [3, 200, 400],
    [10, 500, 1_000],
  ])("attempt %i waits between %i and %i ms", (attempt, low, high) => {
    expect(requestBackoffMs(attempt, policy, () => 0)).toBe(low);
    expect(requestBackoffMs(attempt, policy, () => 0.999999)).toBe(high);
  });

  it("defaults to four attempts", () => {
    expect(defaultRequestRetryPolicy.maxAttempts).toBe(4);
  });
});

describe("retry decisions", () => {
  it.each([
    ["a 503 on the first attempt", error("Unavailable"), 1, 50],
    ["a timeout on the third attempt", error("Timeout"), 3, 200],
    ["a failure on the last attempt", error("Unavailable"), 4, undefined],
    ["a 404", error("NotFound"), 1, undefined],
    ["a 401", error("Unauthenticated"), 1, undefined],
    ["a 429 asking 3 s", error("RateLimited", 3_000), 1, 3_000],
    ["a 429 asking longer than the bound", error("RateLimited", 60_000), 1, undefined],
    ["a malformed answer", error("MalformedResponse"), 1, 50],
  ])("%s → %s ms", (_name, err, attempt, expected) => {
    expect(requestRetryDelayMs(err, attempt, policy, () => 0)).toBe(expected);
  });

  it("never waits less than the server asked, jitter included", () => {
    expect(requestRetryDelayMs(error("RateLimited", 3_000), 1, policy, () => 0.99)).toBeGreaterThanOrEqual(
      3_000,
    );
  });
});
