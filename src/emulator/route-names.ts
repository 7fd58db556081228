/**
 * Names for the emulator's routes: DataTrails', and those of the other issuers it emulates (Azure
 * AD, the JWT-bearer endpoint). Fault switches target a route by name and the request counters
 * count by name, so tests say "the create call" rather than a method and a path.
 */

/** Every route the emulator serves (the admin API aside), by name. */
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
  "azure.token.v1",
  "azure.token.v2",
  "azure.discovery.v1",
  "azure.discovery.v2",
  "azure.jwks.v1",
  "azure.jwks.v2",
  "azure.resource",
  "federated.token",
  "federated.discovery",
  "federated.jwks",
] as const;

/** A route's name. */
export type RouteName = (typeof routeNames)[number];

/**
 * Routes the DataTrails rate limit does not count: the public discovery document and keys, and
 * every route of the other issuers, which are other services (fault them with a 429 instead).
 */
export const unlimitedRoutes: readonly RouteName[] = routeNames.filter(
  (r) => r === "discovery" || r === "jwks" || routeFamily(r) !== "dataTrails",
);

/** Which service a route belongs to; it decides the shape of its error bodies. */
export type RouteFamily = "dataTrails" | "azure" | "federated";

/** The service a route belongs to. */
export function routeFamily(route: RouteName): RouteFamily {
  if (route.startsWith("azure.")) return "azure";
  if (route.startsWith("federated.")) return "federated";
  return "dataTrails";
}

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
