/**
 * Helpers for driving HttpDataTrailsApi against the emulator: a client with test-friendly defaults
 * (fast backoff, an injectable sleep), a recorder of request paths, and a pino logger into memory.
 */
import { Writable } from "node:stream";
import { pino, type Logger } from "pino";
import { Agent, type Dispatcher } from "undici";
import { HttpDataTrailsApi, type HttpDataTrailsApiOptions } from "../../src/datatrails/index.ts";
import type { RunningEmulator } from "../../src/emulator/index.ts";

/** Builds a client for the emulator's admin with small backoff steps; `over` replaces any option. */
export function clientFor(
  emulator: RunningEmulator,
  over: Partial<HttpDataTrailsApiOptions> = {},
): HttpDataTrailsApi {
  return new HttpDataTrailsApi({
    baseUrl: emulator.url,
    credentials: emulator.admin,
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    rateLimit: null,
    ...over,
  });
}

/** An undici dispatcher that records every request's method and path. */
export function recordingDispatcher(): { dispatcher: Dispatcher; requests: string[] } {
  const requests: string[] = [];
  const dispatcher = new Agent().compose((dispatch) => (options, handler) => {
    requests.push(`${options.method} ${options.path}`);
    return dispatch(options, handler);
  });
  return { dispatcher, requests };
}

/** A pino logger at trace level that keeps every line in memory. */
export function memoryLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level: "trace" }, stream), lines };
}

/** A sleep that records what it was asked to wait and returns at once, optionally doing something. */
export function recordingSleep(onSleep: (ms: number) => void = () => undefined): {
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  waits: number[];
} {
  const waits: number[] = [];
  return {
    waits,
    sleep: (ms, signal) => {
      if (signal?.aborted) return Promise.reject(signal.reason as Error);
      waits.push(ms);
      onSleep(ms);
      return Promise.resolve();
    },
  };
}

/** The rejection of a promise (fails when it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}
