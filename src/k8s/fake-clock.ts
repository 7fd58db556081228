/**
 * The fake clock for tests, on @sinonjs/fake-timers (a development dependency: nothing the
 * operator runs in production imports this module). It implements the same {@link Clock} port.
 */
import { createClock as createFakeTimersClock, type TimerId as FakeTimerId } from "@sinonjs/fake-timers";
import { chainedClock, type Clock } from "./clock.ts";

/** A clock whose time moves only when a test says so. */
export interface FakeClock extends Clock {
  /** Moves time forward, firing due timers in order and letting promise callbacks run after each. */
  advance(ms: number): Promise<void>;
  /** Lets pending promise callbacks run without moving time. */
  flush(): Promise<void>;
  /** How many timers are waiting. */
  pendingTimers(): number;
}

// Enough turns of the event loop for chains of awaits on already-settled promises to finish.
const flushTurns = 20;

/**
 * A fake clock starting at `startMs` (default 2025-01-01T00:00:00Z) for unit tests, on
 * @sinonjs/fake-timers (a clock of its own: Node's globals are left alone). `advance` fires due
 * timers one at a time, in due order (ties in creation order), and lets promise callbacks run
 * after each.
 */
export function createFakeClock(startMs = Date.UTC(2025, 0, 1)): FakeClock {
  const fake = createFakeTimersClock(startMs);
  // When each fake-timers timer is due, to pick the next one due within an advance.
  const due = new Map<FakeTimerId, number>();

  const flush = async () => {
    for (let i = 0; i < flushTurns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  };

  const clock = chainedClock<FakeTimerId>({
    now: () => fake.now,
    setTimeout(callback, delayMs) {
      const timer: FakeTimerId = fake.setTimeout(() => {
        due.delete(timer);
        callback();
      }, delayMs);
      due.set(timer, fake.now + delayMs);
      return timer;
    },
    clearTimeout(timer) {
      due.delete(timer);
      fake.clearTimeout(timer);
    },
  });

  const nextDueMs = (): number | undefined => {
    let best: number | undefined;
    for (const dueMs of due.values()) if (best === undefined || dueMs < best) best = dueMs;
    return best;
  };

  return {
    ...clock,
    async advance(ms) {
      const targetMs = fake.now + ms;
      await flush();
      for (let dueMs = nextDueMs(); dueMs !== undefined && dueMs <= targetMs; dueMs = nextDueMs()) {
        // next() fires the one earliest timer (ties in creation order) and moves time to it.
        fake.next();
        await flush();
      }
      if (targetMs > fake.now) fake.tick(targetMs - fake.now);
      await flush();
    },
    flush,
    pendingTimers: () => fake.countTimers(),
  };
}
