/**
 * The typed control handle tests drive the emulator with: fault switches, settings, the clock,
 * state inspection (applications with secret hashes, never secrets), the other issuers
 * (`azure`, `federated`) and reset. The admin HTTP routes under /_emulator call the same handle.
 */
import type { EmulatorContext } from "./context.ts";
import {
  createAzureControl,
  createFederatedControl,
  type AzureControl,
  type FederatedControl,
} from "./control-issuers.ts";
import type {
  CountRule,
  DropRule,
  EmulatorSettings,
  FailRule,
  IgnoreUpdates,
  RateLimitSetting,
} from "./faults.ts";
import type { RouteName } from "./route-names.ts";
import type { AccessPolicy, ApplicationSnapshot, Asset, AssetStatus, TenantTier } from "./state.ts";

/** Drives and inspects a running emulator. */
export interface EmulatorControl {
  /** Delays every call (or one route's calls) by `ms`; 0 removes the delay. */
  setLatency(ms: number, route?: RouteName): void;
  /** Answers the next `count` (default 1) calls of a route, or of any route, with a status. */
  failNext(rule: FailRule): void;
  /**
   * Destroys the connection without a response for the next `count` (default 1) calls: before the
   * call is handled, or with `afterHandling` once it took effect (the answer is lost).
   */
  dropNext(rule?: DropRule): void;
  /** Sends a truncated, unparsable JSON body for the next `count` (default 1) calls. */
  malformNext(rule?: CountRule): void;
  /** Disarms every fault and removes latency. */
  clearFaults(): void;
  /** Sets `expires_in` for tokens issued from now on. */
  setTokenTtlSeconds(seconds: number): void;
  /** Sets how many applications the tenant may hold (the seeded admin included); null is no limit. */
  setApplicationQuota(quota: number | null): void;
  /** Sets how many access policies the tenant may hold; null is no limit. */
  setAccessPolicyQuota(quota: number | null): void;
  /** Sets (or with null removes) the fixed-window rate limit. */
  setRateLimit(limit: RateLimitSetting | null): void;
  /** Sets the tenant's tier (`jit_tier`). */
  setTier(tier: TenantTier): void;
  /**
   * Cuts every list requested without `page_size` to its first `n` items with an empty
   * `next_page_token` (assets answer 206), as DataTrails does past its internal limit; null turns it off.
   */
  setTruncateUnpagedLists(n: number | null): void;
  /**
   * Answers every access policy (create, get, list, PATCH) normalised as a real server may store
   * it: empty permission lists left out, lists sorted, behaviours replaced (normalise.ts).
   */
  setNormalisePolicies(on: boolean): void;
  /**
   * Makes PATCH of access policies and/or applications answer 200 with the stored object
   * unchanged: the write is validated, then dropped. Fields left out keep their current value.
   */
  setIgnoreUpdates(ignore: Partial<IgnoreUpdates>): void;
  /** The current settings. */
  settings(): Readonly<EmulatorSettings>;
  /** Sets the clock's offset from real time. */
  setClockOffsetMs(ms: number): void;
  /** Moves the clock forward by `ms`. */
  advanceClock(ms: number): void;
  /** The emulator's current time in epoch milliseconds. */
  now(): number;
  /** Every application with its secret's SHA-256, never the secret. */
  applications(): ApplicationSnapshot[];
  /** Every access policy. */
  accessPolicies(): AccessPolicy[];
  /** Every asset. */
  assets(): Asset[];
  /** Adds an asset (tracked and COMMITTED unless `status` says otherwise). */
  addAsset(attributes: Record<string, unknown>, behaviours?: string[], status?: AssetStatus): Asset;
  /** Requests per route so far. */
  counters(): Record<RouteName, number>;
  /** Requests so far on one route. */
  count(route: RouteName): number;
  /** Sets every request counter to zero. */
  resetCounters(): void;
  /** What is armed and set, for humans. */
  describe(): Record<string, unknown>;
  /** The emulated Azure AD: app registrations, resources, key rotation, token TTL. */
  readonly azure: AzureControl;
  /** The emulated JWT-bearer (Federated Directory) issuer: clients, key rotation, settings. */
  readonly federated: FederatedControl;
  /**
   * Back to the start: seeded admin and assets only, counters zero, faults cleared, settings and
   * clock reset; no Azure app registrations or resources, no JWT-bearer clients or remembered jti.
   * Signing keys (and Azure tenants) stay.
   */
  reset(): void;
}

/** Builds the control handle over the emulator's context. */
export function createControl(ctx: EmulatorContext): EmulatorControl {
  const control: EmulatorControl = {
    setLatency: (ms, route) => ctx.faults.setLatency(ms, route),
    failNext: (rule) => ctx.faults.failNext(rule),
    dropNext: (rule) => ctx.faults.dropNext(rule),
    malformNext: (rule) => ctx.faults.malformNext(rule),
    clearFaults: () => ctx.faults.clear(),
    setTokenTtlSeconds: (seconds) => {
      ctx.settings.tokenTtlSeconds = seconds;
    },
    setApplicationQuota: (quota) => {
      ctx.settings.applicationQuota = quota;
    },
    setAccessPolicyQuota: (quota) => {
      ctx.settings.accessPolicyQuota = quota;
    },
    setRateLimit: (limit) => {
      ctx.settings.rateLimit = limit && { ...limit };
      ctx.limiter.reset();
    },
    setTier: (tier) => {
      ctx.settings.tier = tier;
    },
    setTruncateUnpagedLists: (n) => {
      ctx.settings.truncateUnpagedLists = n;
    },
    setNormalisePolicies: (on) => {
      ctx.settings.normalisePolicies = on;
    },
    setIgnoreUpdates: (ignore) => {
      if (ignore.accessPolicies !== undefined)
        ctx.settings.ignoreUpdates.accessPolicies = ignore.accessPolicies;
      if (ignore.applications !== undefined) ctx.settings.ignoreUpdates.applications = ignore.applications;
    },
    settings: () => structuredClone(ctx.settings),
    setClockOffsetMs: (ms) => ctx.clock.setOffsetMs(ms),
    advanceClock: (ms) => ctx.clock.advance(ms),
    now: () => ctx.clock.now(),
    applications: () => ctx.state.applicationSnapshots(),
    accessPolicies: () => ctx.state.listPolicies(),
    assets: () => ctx.state.listAssets(),
    addAsset: (attributes, behaviours, status) => ctx.state.addAsset(attributes, behaviours, status),
    counters: () => ctx.counters.snapshot(),
    count: (route) => ctx.counters.get(route),
    resetCounters: () => ctx.counters.reset(),
    describe: () => ({
      url: ctx.baseUrl,
      tenantId: ctx.state.tenantId,
      now: new Date(ctx.clock.now()).toISOString(),
      clockOffsetMs: ctx.clock.offsetMs(),
      settings: control.settings(),
      faults: ctx.faults.describe(),
      counters: ctx.counters.snapshot(),
      azure: {
        defaultTenantId: ctx.azure.defaultTenantId,
        tenants: ctx.azure.tenantIds(),
        settings: { ...ctx.azure.settings },
      },
      federated: { settings: { ...ctx.federated.settings }, clients: ctx.federated.clients() },
    }),
    azure: createAzureControl(ctx),
    federated: createFederatedControl(ctx),
    reset: () => {
      ctx.state.reset();
      ctx.azure.reset();
      ctx.oidc.clear();
      ctx.federated.reset();
      ctx.faults.clear();
      ctx.counters.reset();
      ctx.limiter.reset();
      ctx.clock.setOffsetMs(0);
      Object.assign(ctx.settings, structuredClone(ctx.initialSettings));
    },
  };
  return control;
}
