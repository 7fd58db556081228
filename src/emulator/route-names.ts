/**
 * Names for the emulator's DataTrails routes. Fault switches target a route by name and the
 * request counters count by name, so tests say "the create call" rather than a method and a path.
 */

/** Every DataTrails route the emulator serves, by name. */
export const routeNames = [
  "token",
  "discovery",
  "jwks",
  "applications.create",
  "applications.list",
  "applications.get",
  "applications.update",
  "applications.delete",
  "applications.regenerateSecret",
  "accessPolicies.create",
  "accessPolicies.list",
  "accessPolicies.get",
  "accessPolicies.update",
  "accessPolicies.delete",
  "assets.list",
] as const;

/** A DataTrails route's name. */
export type RouteName = (typeof routeNames)[number];

/** Whether a string names a route. */
export function isRouteName(value: string): value is RouteName {
  return (routeNames as readonly string[]).includes(value);
}

/** Routes the rate limit does not count: the public discovery document and keys. */
export const unlimitedRoutes: readonly RouteName[] = ["discovery", "jwks"];

/** Requests received per route (every request that reached a route, faulted ones included). */
export class RequestCounters {
  private readonly counts = new Map<RouteName, number>();

  /** Counts one request. */
  increment(route: RouteName): void {
    this.counts.set(route, (this.counts.get(route) ?? 0) + 1);
  }

  /** Requests seen on one route. */
  get(route: RouteName): number {
    return this.counts.get(route) ?? 0;
  }

  /** Every route's count, zeros included. */
  snapshot(): Record<RouteName, number> {
    return Object.fromEntries(routeNames.map((r) => [r, this.get(r)])) as Record<RouteName, number>;
  }

  /** Sets every count back to zero. */
  reset(): void {
    this.counts.clear();
  }
}
