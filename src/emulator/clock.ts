/**
 * The emulator's clock: real time plus an offset that tests move forward to expire secrets and
 * tokens without waiting. Everything in the emulator that reads the time reads it here.
 */

/** A clock whose offset from real time can be set and advanced. */
export interface EmulatorClock {
  /** Milliseconds since the epoch, offset included. */
  now(): number;
  /** The current offset in milliseconds. */
  offsetMs(): number;
  /** Sets the offset from real time. */
  setOffsetMs(ms: number): void;
  /** Moves the clock forward (or back, with a negative value). */
  advance(ms: number): void;
}

/** Builds a clock over `realNow` (Date.now by default). */
export function offsetClock(realNow: () => number = Date.now): EmulatorClock {
  let offset = 0;
  return {
    now: () => realNow() + offset,
    offsetMs: () => offset,
    setOffsetMs: (ms) => {
      offset = ms;
    },
    advance: (ms) => {
      offset += ms;
    },
  };
}

/** RFC 3339 in whole seconds, as DataTrails writes timestamps (`2021-09-21T16:43:19Z`). */
export function rfc3339Seconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The same instant one calendar year later (2021-09-21T16:43:19Z → 2022-09-21T16:43:19Z). */
export function plusOneYear(ms: number): number {
  const d = new Date(ms);
  d.setUTCFullYear(d.getUTCFullYear() + 1);
  return d.getTime();
}
