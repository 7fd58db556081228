/**
 * The client-side rate limit: a token bucket per client instance, so one operator never sends
 * DataTrails more than `requestsPerSecond` on average nor more than `burst` at once. Callers reserve
 * a slot and wait the time it says; reservations queue in order, so no caller starves.
 */

/** Requests per second on average, and how many may go at once after a quiet spell. */
export interface RateLimit {
  requestsPerSecond: number;
  burst: number;
}

/** A token bucket over an injected clock. */
export class TokenBucket {
  private readonly limit: RateLimit;
  private readonly now: () => number;
  private tokens: number;
  private lastMs: number;

  constructor(limit: RateLimit, now: () => number) {
    if (!(limit.requestsPerSecond > 0) || !(limit.burst >= 1)) {
      throw new RangeError("rate limit needs requestsPerSecond > 0 and burst >= 1");
    }
    this.limit = { ...limit };
    this.now = now;
    this.tokens = limit.burst;
    this.lastMs = now();
  }

  /** Reserves one request and returns how many milliseconds to wait before sending it. */
  reserve(): number {
    const now = this.now();
    const elapsed = Math.max(0, now - this.lastMs);
    this.lastMs = Math.max(now, this.lastMs);
    this.tokens = Math.min(this.limit.burst, this.tokens + (elapsed / 1000) * this.limit.requestsPerSecond);
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.limit.requestsPerSecond) * 1000);
  }
}
