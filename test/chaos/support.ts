/**
 * What every chaos scenario shares: the scale (short in CI, `CHAOS_SCALE=long` for the published
 * figures), a seeded random source (`CHAOS_SEED` replays a run), one stable figures line per
 * scenario, and a request-rate sampler over the emulator's counters.
 *
 * The figures line is `CHAOS <scenario> scale=<short|long> seed=<n> key=value ...`, printed to the
 * console and, when `CHAOS_FIGURES_FILE` is set, appended to that file (docs/reliability.md quotes it).
 */
import { appendFileSync } from "node:fs";
import type { RunningEmulator } from "../../src/emulator/index.ts";

/** short (CI) or long (the published run). */
export type ChaosScale = "short" | "long";

/** The scale this run uses, from CHAOS_SCALE (anything but "long" is short). */
export const chaosScale: ChaosScale = process.env["CHAOS_SCALE"] === "long" ? "long" : "short";

/** Picks the short or the long value. */
export function byScale<T>(short: T, long: T): T {
  return chaosScale === "long" ? long : short;
}

/** The seed: CHAOS_SEED when set (to replay a run), else a fresh one. */
export function chaosSeed(): number {
  const given = process.env["CHAOS_SEED"];
  if (given !== undefined && given !== "") {
    const seed = Number(given);
    if (!Number.isSafeInteger(seed)) throw new Error(`CHAOS_SEED must be an integer, not ${given}`);
    return seed;
  }
  return Math.floor(Math.random() * 2 ** 31);
}

/** A small seeded PRNG (mulberry32): the same seed gives the same sequence. */
export function seededRandom(seed: number): { next(): number; int(min: number, max: number): number } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (min, max) => min + Math.floor(next() * (max - min + 1)) };
}

/** Prints (and records) the figures line of one scenario. */
export function reportFigures(
  scenario: string,
  seed: number | undefined,
  figures: Record<string, string | number | boolean>,
): string {
  const parts = [`CHAOS ${scenario}`, `scale=${chaosScale}`];
  if (seed !== undefined) parts.push(`seed=${seed}`);
  for (const [k, v] of Object.entries(figures)) parts.push(`${k}=${v}`);
  const line = parts.join(" ");
  console.log(line);
  const file = process.env["CHAOS_FIGURES_FILE"];
  if (file !== undefined && file !== "") appendFileSync(file, `${line}\n`);
  return line;
}

/** Sum of every request counter of an emulator. */
export function totalRequests(emulator: RunningEmulator): number {
  return Object.values(emulator.control.counters()).reduce((sum, n) => sum + n, 0);
}

/** Requests per second at the emulator, sampled each second while it runs. */
export interface RateSampler {
  /** Stops sampling; returns the per-second counts seen. */
  stop(): number[];
}

/** Counts the emulator's requests in each whole second from now until stop(). */
export function sampleRequestRate(emulator: RunningEmulator): RateSampler {
  const counts: number[] = [];
  let last = totalRequests(emulator);
  const timer = setInterval(() => {
    const now = totalRequests(emulator);
    counts.push(now - last);
    last = now;
  }, 1000);
  return {
    stop() {
      clearInterval(timer);
      return counts;
    },
  };
}

/** The largest value, 0 for none. */
export function peak(values: readonly number[]): number {
  return values.reduce((m, v) => Math.max(m, v), 0);
}
