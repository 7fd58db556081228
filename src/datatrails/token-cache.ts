/**
 * The admin token, cached and shared. It is refreshed before `expires_in` runs out (a fifth of its
 * life early, at most `maxRefreshMarginMs`, as official clients refresh 10 s to 300 s early), and
 * concurrent callers share one token request. A caller's AbortSignal stops its own wait only,
 * never the shared request.
 */
import type { AccessToken } from "./api.ts";

/** A single-flight cache of one access token. */
export class SingleFlightToken {
  private readonly fetchToken: () => Promise<AccessToken>;
  private readonly now: () => number;
  private readonly maxRefreshMarginMs: number;
  private current: AccessToken | undefined;
  private pending: Promise<AccessToken> | undefined;

  constructor(fetchToken: () => Promise<AccessToken>, now: () => number, maxRefreshMarginMs: number) {
    this.fetchToken = fetchToken;
    this.now = now;
    this.maxRefreshMarginMs = maxRefreshMarginMs;
  }

  /** When a token should be replaced: a fifth of its life before expiry, at most the margin. */
  static refreshAtMs(token: AccessToken, maxRefreshMarginMs: number): number {
    const lifetime = token.expiresAt.getTime() - token.obtainedAt.getTime();
    return token.expiresAt.getTime() - Math.min(maxRefreshMarginMs, lifetime / 5);
  }

  /** A fresh token: the cached one, the one being fetched, or a new fetch. */
  async get(signal?: AbortSignal): Promise<AccessToken> {
    const cached = this.current;
    if (cached && this.now() < SingleFlightToken.refreshAtMs(cached, this.maxRefreshMarginMs)) return cached;
    if (!this.pending) {
      const flight = this.fetchToken().then(
        (token) => {
          if (this.pending === flight) {
            this.current = token;
            this.pending = undefined;
          }
          return token;
        },
        (error: unknown) => {
          if (this.pending === flight) this.pending = undefined;
          throw error;
        },
      );
      // Marks the flight handled: a caller that gave up early must not leave an unhandled rejection.
      flight.catch(() => undefined);
      this.pending = flight;
    }
    return signal ? raceAbort(this.pending, signal) : this.pending;
  }

  /** Forgets `accessToken` if it is the cached one (a 401 said it no longer works). */
  invalidate(accessToken: string): void {
    if (this.current?.accessToken === accessToken) this.current = undefined;
  }
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    void promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
