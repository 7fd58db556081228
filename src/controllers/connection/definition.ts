/**
 * The connection controllers' wiring: one per connection kind, each reconciling its kind and woken
 * by the admin Secret its connections name (the operator's own Secret informer cannot see a user's
 * Secret; the metadata-only Secret watch can).
 */
import type { ControllerContext, ControllerDefinition } from "../context.ts";
import { connectionControllers } from "./controller.ts";

/** Declares both connection controllers over `ctx`. */
export function connectionDefinitions(ctx: ControllerContext): ControllerDefinition[] {
  return connectionControllers({
    connections: ctx.informers.connections,
    clusterConnections: ctx.informers.clusterConnections,
    lookupSecret: ctx.lookupSecret,
    apiFor: ctx.apiFor,
    events: ctx.events,
    clock: ctx.clock,
    logger: ctx.logger,
    writeStatus: (ref, obj, previous, status) => ctx.writeStatus(ref, obj, previous, status),
    namespaceLabels: ctx.namespaceLabels,
    watchNamespaces: ctx.config.watchNamespaces,
    options: { resyncIntervalMs: ctx.config.resyncIntervalMs },
  }).map((c) => ({
    name: c.name,
    primary: c.primary,
    concurrency: 2,
    watches: [{ informer: ctx.informers.secrets, keysFor: c.keysFor }],
    secretKeys: (namespace, name) => c.keysFor({ metadata: { namespace, name } }),
    // A cluster connection has no namespace: the watched-namespace filter does not apply to it.
    ...(c.kind === "ClusterDataTrailsConnection" ? { accepts: () => true } : {}),
    reconcile: c.reconcile,
  }));
}
