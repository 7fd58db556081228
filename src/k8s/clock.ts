/**
 * Time as an injected dependency: the one time source of the operator. Everything that waits or
 * reads the time (work queue, leader election, informer backoff, event de-duplication, the
 * DataTrails client, the token issuers, error mapping) takes a `Clock`, so unit tests drive time
 * with the fake clock of fake-clock.ts (on @sinonjs/fake-timers, for tests only) instead of sleeping.
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

// Node (and @sinonjs/fake-timers, which mimics it) fires a timer after 1 ms when asked for more than
// 2^31-1 ms (about 24.8 days), which would turn a "refresh in a year" into a hot loop; longer waits
// are chained in steps of this size.
const maxNodeDelayMs = 2_147_483_647;

/** The timer primitives a {@link Clock} is built on: Node's globals, or a fake-timers clock. */
export interface TimerPrimitives<T> {
  now(): number;
  setTimeout(callback: () => void, delayMs: number): T;
  clearTimeout(timer: T): void;
}

/** A Clock over `timers` whose setTimeout is safe for delays longer than 24.8 days. */
export function chainedClock<T>(timers: TimerPrimitives<T>): Clock {
  const armed = new Map<number, T>();
  let nextId = 1;
  return {
    now: () => timers.now(),
    setTimeout(callback, delayMs) {
      const id = nextId++;
      const dueMs = timers.now() + (delayMs > 0 ? delayMs : 0);
      const arm = () => {
        const remaining = dueMs - timers.now();
        const timer = timers.setTimeout(
          () => {
            if (dueMs - timers.now() > 0) {
              arm();
              return;
            }
            armed.delete(id);
            callback();
          },
          Math.min(Math.max(remaining, 0), maxNodeDelayMs),
        );
        armed.set(id, timer);
      };
      arm();
      return { timerId: id };
    },
    clearTimeout(handle) {
      const timer = armed.get(handle.timerId);
      if (timer !== undefined) {
        timers.clearTimeout(timer);
        armed.delete(handle.timerId);
      }
    },
  };
}

/** The real clock: Date.now and Node timers, safe for delays longer than 24.8 days. */
export function createRealClock(): Clock {
  return chainedClock<NodeJS.Timeout>({
    now: () => Date.now(),
    setTimeout: (callback, delayMs) => globalThis.setTimeout(callback, delayMs),
    clearTimeout: (timer) => globalThis.clearTimeout(timer),
  });
}

/**
 * The process's one real clock, for code that reads the time outside a component that was handed a
 * Clock (error mapping, command-line tools). Components take a Clock and default to this one.
 */
export const systemClock: Clock = createRealClock();

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
