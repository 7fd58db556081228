import { afterEach, describe, expect, it, vi } from "vitest";
import { createRealClock, sleep } from "./clock.ts";
import { createFakeClock } from "./fake-clock.ts";

describe("fake clock", () => {
  it("fires timers in due order (ties in creation order) and moves time to each", async () => {
    const clock = createFakeClock(1000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 20);
    clock.setTimeout(() => fired.push(`late@${clock.now()}`), 100);
    await clock.advance(50);
    expect(fired).toEqual(["a@1010", "b@1020", "c@1020"]);
    expect(clock.now()).toBe(1050);
    expect(clock.pendingTimers()).toBe(1);
  });

  it("fires timers set by timers within the same advance", async () => {
    const clock = createFakeClock(0);
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => fired.push(clock.now()), 5);
    }, 5);
    await clock.advance(10);
    expect(fired).toEqual([5, 10]);
  });

  it.each([
    { name: "zero", delay: 0 },
    { name: "negative", delay: -100 },
    { name: "NaN", delay: Number.NaN },
  ])("runs a $name delay at the current time", async ({ delay }) => {
    const clock = createFakeClock(0);
    let firedAt = -1;
    clock.setTimeout(() => (firedAt = clock.now()), delay);
    await clock.advance(0);
    expect(firedAt).toBe(0);
  });

  it("cancels timers", async () => {
    const clock = createFakeClock(0);
    let fired = false;
    clock.clearTimeout(clock.setTimeout(() => (fired = true), 5));
    await clock.advance(10);
    expect(fired).toBe(false);
  });

  it("waits longer than 24.8 days as asked (fake-timers, like Node, would fire such a timer at once)", async () => {
    const clock = createFakeClock(0);
    const day = 24 * 3600_000;
    let firedAt = -1;
    clock.setTimeout(() => (firedAt = clock.now()), 365 * day);
    await clock.advance(364 * day);
    expect(firedAt).toBe(-1);
    expect(clock.pendingTimers()).toBe(1);
    await clock.advance(day);
    expect(firedAt).toBe(365 * day);
  });

  it("sleeps until the time passes, and rejects on abort", async () => {
    const clock = createFakeClock(0);
    let woke = false;
    const slept = sleep(clock, 100).then(() => (woke = true));
    await clock.advance(99);
    expect(woke).toBe(false);
    await clock.advance(1);
    await slept;
    expect(woke).toBe(true);

    const abort = new AbortController();
    const aborted = sleep(clock, 100, abort.signal);
    abort.abort(new Error("stop"));
    await expect(aborted).rejects.toThrow("stop");
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe("real clock", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("waits longer than Node's 24.8-day timer limit instead of firing at once", () => {
    vi.useFakeTimers({ now: 0 });
    const clock = createRealClock();
    const day = 24 * 3600_000;
    let fired = false;
    clock.setTimeout(() => (fired = true), 365 * day);
    vi.advanceTimersByTime(30 * day);
    expect(fired).toBe(false);
    vi.advanceTimersByTime(335 * day - 1);
    expect(fired).toBe(false);
    vi.advanceTimersByTime(1);
    expect(fired).toBe(true);
  });

  it("cancels a chained long timer", () => {
    vi.useFakeTimers({ now: 0 });
    const clock = createRealClock();
    let fired = false;
    const handle = clock.setTimeout(() => (fired = true), 40 * 24 * 3600_000);
    vi.advanceTimersByTime(30 * 24 * 3600_000);
    clock.clearTimeout(handle);
    vi.advanceTimersByTime(30 * 24 * 3600_000);
    expect(fired).toBe(false);
  });
});
