/**
 * Fault switches and runtime settings: latency, "fail the next N calls with a status", "drop the
 * next N connections", "malform the next N responses", the token TTL, quotas and the rate limit.
 * Tests flip them through the typed control object; anyone else through /_emulator over HTTP.
 */
import type { RouteName } from "./route-names.ts";
import type { TenantTier } from "./state.ts";

/** A fixed-window rate limit: at most `limit` requests every `windowSeconds`. */
export interface RateLimitSetting {
  limit: number;
  windowSeconds: number;
}

/** Settings that may change while the emulator runs. */
export interface EmulatorSettings {
  /** `expires_in` of issued tokens, and their `exp − iat`. */
  tokenTtlSeconds: number;
  /** How many applications the tenant may hold (the seeded admin included); null is no limit. */
  applicationQuota: number | null;
  /** How many access policies the tenant may hold; null is no limit. */
  accessPolicyQuota: number | null;
  /** The rate limit over every DataTrails route but discovery and JWKS; null is none. */
  rateLimit: RateLimitSetting | null;
  /** The tenant's tier, the tokens' `jit_tier`. */
  tier: TenantTier;
  /**
   * When set, a list request without `page_size` gets only this many items and an empty
   * `next_page_token`, as DataTrails cuts unpaged lists short; null returns full pages.
   */
  truncateUnpagedLists: number | null;
  /** Answer access policies the way a normalising server stores them (normalise.ts). */
  normalisePolicies: boolean;
  /** PATCHes that answer 200 with the stored object unchanged: the correction never sticks. */
  ignoreUpdates: IgnoreUpdates;
}

/** Which PATCH routes ignore what they are sent. */
export interface IgnoreUpdates {
  accessPolicies: boolean;
  applications: boolean;
}

/** "Answer the next `count` calls (of `route`, or of any route) with this status." */
export interface FailRule {
  route?: RouteName | undefined;
  status: number;
  count?: number | undefined;
  /** The body's `message`; a default that names the fault when left out. */
  message?: string | undefined;
  /** For 429: the value of `Archivist-Rate-Limit-Reset` and `Retry-After` (default 1). */
  retryAfterSeconds?: number | undefined;
}

/** "Do this to the next `count` calls (of `route`, or of any route)." */
export interface CountRule {
  route?: RouteName | undefined;
  count?: number | undefined;
}

/**
 * "Drop the connection of the next `count` calls." By default before the call is handled (nothing
 * happens); with `afterHandling` once it was (the call took effect, its answer is lost).
 */
export interface DropRule extends CountRule {
  afterHandling?: boolean | undefined;
}

interface Pending<T> {
  rule: T;
  remaining: number;
}

function take<T extends { route?: RouteName | undefined }>(
  queue: Pending<T>[],
  route: RouteName,
): T | undefined {
  const at = queue.findIndex((p) => p.rule.route === undefined || p.rule.route === route);
  const hit = queue[at];
  if (!hit) return undefined;
  hit.remaining -= 1;
  if (hit.remaining <= 0) queue.splice(at, 1);
  return hit.rule;
}

function remainingOf<T>(queue: Pending<T>[]): (T & { remaining: number })[] {
  return queue.map((p) => ({ ...p.rule, remaining: p.remaining }));
}

/** The armed faults. */
export class Faults {
  private globalLatencyMs = 0;
  private readonly routeLatencyMs = new Map<RouteName, number>();
  private readonly fails: Pending<FailRule>[] = [];
  private readonly drops: Pending<DropRule>[] = [];
  private readonly dropsAfter: Pending<DropRule>[] = [];
  private readonly malformed: Pending<CountRule>[] = [];

  /** Delays every call (or one route's calls) by `ms`; 0 removes the delay. */
  setLatency(ms: number, route?: RouteName): void {
    if (route === undefined) this.globalLatencyMs = ms;
    else if (ms === 0) this.routeLatencyMs.delete(route);
    else this.routeLatencyMs.set(route, ms);
  }

  /** The delay for a call of this route: the route's own, else the global one. */
  latencyFor(route: RouteName): number {
    return this.routeLatencyMs.get(route) ?? this.globalLatencyMs;
  }

  /** Arms a status fault. */
  failNext(rule: FailRule): void {
    this.fails.push({ rule: { ...rule }, remaining: rule.count ?? 1 });
  }

  /** Arms a dropped-connection fault. */
  dropNext(rule: DropRule = {}): void {
    (rule.afterHandling === true ? this.dropsAfter : this.drops).push({
      rule: { ...rule },
      remaining: rule.count ?? 1,
    });
  }

  /** Arms a malformed-JSON fault. */
  malformNext(rule: CountRule = {}): void {
    this.malformed.push({ rule: { ...rule }, remaining: rule.count ?? 1 });
  }

  /** Uses up one armed status fault for this route, if any. */
  takeFail(route: RouteName): FailRule | undefined {
    return take(this.fails, route);
  }

  /** Uses up one armed drop for this route; true when the connection must be dropped. */
  takeDrop(route: RouteName, phase: "before" | "after"): boolean {
    return take(phase === "before" ? this.drops : this.dropsAfter, route) !== undefined;
  }

  /** Uses up one armed malformed response for this route; true when the body must be broken. */
  takeMalformed(route: RouteName): boolean {
    return take(this.malformed, route) !== undefined;
  }

  /** Disarms everything and removes all latency. */
  clear(): void {
    this.globalLatencyMs = 0;
    this.routeLatencyMs.clear();
    this.fails.length = 0;
    this.drops.length = 0;
    this.dropsAfter.length = 0;
    this.malformed.length = 0;
  }

  /** What is armed, for state inspection. */
  describe(): Record<string, unknown> {
    return {
      latencyMs: { global: this.globalLatencyMs, ...Object.fromEntries(this.routeLatencyMs) },
      fail: remainingOf(this.fails),
      drop: [...remainingOf(this.drops), ...remainingOf(this.dropsAfter)],
      malformed: remainingOf(this.malformed),
    };
  }
}

/** A fixed-window request counter behind the rate-limit setting. */
export class FixedWindowLimiter {
  private windowStartMs = Number.NEGATIVE_INFINITY;
  private count = 0;

  /**
   * Counts one request at `nowMs`; returns undefined when it is allowed, or the seconds until
   * the window resets when it is over the limit.
   */
  check(setting: RateLimitSetting | null, nowMs: number): number | undefined {
    if (!setting) return undefined;
    const windowMs = setting.windowSeconds * 1000;
    if (nowMs < this.windowStartMs || nowMs >= this.windowStartMs + windowMs) {
      this.windowStartMs = nowMs;
      this.count = 0;
    }
    if (this.count >= setting.limit) return (this.windowStartMs + windowMs - nowMs) / 1000;
    this.count += 1;
    return undefined;
  }

  /** Starts a fresh window on the next request. */
  reset(): void {
    this.windowStartMs = Number.NEGATIVE_INFINITY;
    this.count = 0;
  }
}
