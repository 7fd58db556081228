import { describe, expect, it } from "vitest";
import { TokenBucket } from "./rate-limiter.ts";

describe("token bucket", () => {
  it("lets a burst through, then spaces requests at the rate", () => {
    const clock = { ms: 0 };
    const bucket = new TokenBucket({ requestsPerSecond: 10, burst: 3 }, () => clock.ms);
    expect([bucket.reserve(), bucket.reserve(), bucket.reserve()]).toEqual([0, 0, 0]);
    expect([bucket.reserve(), bucket.reserve()]).toEqual([100, 200]);
  });

  it("refills with time, up to the burst", () => {
    const clock = { ms: 0 };
    const bucket = new TokenBucket({ requestsPerSecond: 2, burst: 2 }, () => clock.ms);
    bucket.reserve();
    bucket.reserve();
    clock.ms += 10_000;
    expect([bucket.reserve(), bucket.reserve(), bucket.reserve()]).toEqual([0, 0, 500]);
  });

  it("ignores a clock that steps back", () => {
    const clock = { ms: 1_000 };
    const bucket = new TokenBucket({ requestsPerSecond: 1, burst: 1 }, () => clock.ms);
    bucket.reserve();
    clock.ms = 0;
    expect(bucket.reserve()).toBe(1_000);
  });

  it.each([[{ requestsPerSecond: 0, burst: 1 }], [{ requestsPerSecond: 1, burst: 0 }]])(
    "refuses %j",
    (limit) => {
      expect(() => new TokenBucket(limit, () => 0)).toThrow(RangeError);
    },
  );
});
