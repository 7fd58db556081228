import { describe, expect, it } from "vitest";
import { nextRestartDelayMs } from "./informer.ts";

const backoff = { initialMs: 1000, maxMs: 30_000, healthyResetMs: 60_000 };

describe("nextRestartDelayMs", () => {
  it.each([
    { name: "the first failure", previous: 0, ranMs: 5, expected: 1000 },
    { name: "a quick second failure doubles", previous: 1000, ranMs: 5, expected: 2000 },
    { name: "keeps doubling", previous: 8000, ranMs: 5, expected: 16_000 },
    { name: "caps at the maximum", previous: 16_000, ranMs: 5, expected: 30_000 },
    { name: "stays at the maximum", previous: 30_000, ranMs: 59_999, expected: 30_000 },
    { name: "a healthy run resets it", previous: 30_000, ranMs: 60_000, expected: 1000 },
  ])("$name → $expected ms", ({ previous, ranMs, expected }) => {
    expect(nextRestartDelayMs(previous, ranMs, backoff)).toBe(expected);
  });

  it("walks 1 s doubling to 30 s across consecutive quick failures", () => {
    const delays: number[] = [];
    let delay = 0;
    for (let i = 0; i < 7; i++) delays.push((delay = nextRestartDelayMs(delay, 10, backoff)));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
  });
});
