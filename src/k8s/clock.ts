/**
 * Time as an injected dependency. Everything that waits or reads the time (work queue, leader
 * election, informer backoff, event de-duplication) takes a `Clock`, so unit tests drive time with
 * {@link createFakeClock} instead of sleeping.
 */

/** An opaque handle for a timer made by a {@link Clock}. */
export interface TimerHandle {
  readonly timerId: number;
}

/** The time source and timer factory the runtime modules share. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Runs `callback` once after `delayMs` (negative or NaN means as soon as possible). */
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  /** Cancels a timer; a no-op when it has fired or was cancelled already. */
  clearTimeout(handle: TimerHandle): void;
}

/** A clock whose time moves only when a test says so. */
export interface FakeClock extends Clock {
  /** Moves time forward, firing due timers in order and letting promise callbacks run after each. */
  advance(ms: number): Promise<void>;
  /** Lets pending promise callbacks run without moving time. */
  flush(): Promise<void>;
  /** How many timers are waiting. */
  pendingTimers(): number;
}

// Node fires a timer after 1 ms when asked for more than 2^31-1 ms (about 24.8 days), which would turn
// a "refresh in a year" into a hot loop; longer waits are chained in steps of this size.
const maxNodeDelayMs = 2_147_483_647;

/** The real clock: Date.now and Node timers, safe for delays longer than 24.8 days. */
export function createRealClock(): Clock {
  const timers = new Map<number, NodeJS.Timeout>();
  let nextId = 1;
  return {
    now: () => Date.now(),
    setTimeout(callback, delayMs) {
      const id = nextId++;
      const dueMs = Date.now() + (delayMs > 0 ? delayMs : 0);
      const arm = () => {
        const remaining = dueMs - Date.now();
        const timer = globalThis.setTimeout(
          () => {
            if (dueMs - Date.now() > 0) {
              arm();
              return;
            }
            timers.delete(id);
            callback();
          },
          Math.min(Math.max(remaining, 0), maxNodeDelayMs),
        );
        timers.set(id, timer);
      };
      arm();
      return { timerId: id };
    },
    clearTimeout(handle) {
      const timer = timers.get(handle.timerId);
      if (timer !== undefined) {
        globalThis.clearTimeout(timer);
        timers.delete(handle.timerId);
      }
    },
  };
}

/** Resolves after `delayMs` on `clock`, or at once (rejecting) when `signal` aborts. */
export function sleep(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = () => {
      clock.clearTimeout(handle);
      reject(signal?.reason as Error);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, delayMs);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

interface FakeTimer {
  id: number;
  dueMs: number;
  callback: () => void;
}

// Enough turns of the event loop for chains of awaits on already-settled promises to finish.
const flushTurns = 20;

/** A fake clock starting at `startMs` (default 2025-01-01T00:00:00Z) for unit tests. */
export function createFakeClock(startMs = Date.UTC(2025, 0, 1)): FakeClock {
  let nowMs = startMs;
  let nextId = 1;
  const timers = new Map<number, FakeTimer>();

  const flush = async () => {
    for (let i = 0; i < flushTurns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  };

  const nextDue = (limitMs: number): FakeTimer | undefined => {
    let best: FakeTimer | undefined;
    for (const timer of timers.values()) {
      if (timer.dueMs > limitMs) continue;
      if (!best || timer.dueMs < best.dueMs || (timer.dueMs === best.dueMs && timer.id < best.id)) {
        best = timer;
      }
    }
    return best;
  };

  return {
    now: () => nowMs,
    setTimeout(callback, delayMs) {
      const id = nextId++;
      timers.set(id, { id, dueMs: nowMs + (delayMs > 0 ? delayMs : 0), callback });
      return { timerId: id };
    },
    clearTimeout(handle) {
      timers.delete(handle.timerId);
    },
    async advance(ms) {
      const targetMs = nowMs + ms;
      await flush();
      for (let timer = nextDue(targetMs); timer; timer = nextDue(targetMs)) {
        timers.delete(timer.id);
        nowMs = Math.max(nowMs, timer.dueMs);
        timer.callback();
        await flush();
      }
      nowMs = targetMs;
      await flush();
    },
    flush,
    pendingTimers: () => timers.size,
  };
}
