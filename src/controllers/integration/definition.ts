/**
 * The integration controller's wiring: it reconciles DataTrailsIntegrations; it is woken by its
 * child BearerTokens (when what it reads of them changes, not at every refresh) and its Secrets
 * (their ownerReferences), by the connections it uses (an index from connection to integrations),
 * and by a user's admin Secret that changes while it fails.
 */
import { createHash } from "node:crypto";
import { adminSecretKey } from "../connection/gather.ts";
import type { DataTrailsIntegration } from "../../api/v1alpha1/integration.ts";
import type { KubernetesObject } from "@kubernetes/client-node";
import type { ControllerContext, ControllerDefinition } from "../context.ts";
import { keyOf, ownerKeys, splitKey } from "../controller.ts";
import { indexInformer, ReferenceIndex } from "../reference-index.ts";
import { Reason, refreshAnnotation, resources, type BearerToken } from "../../api/v1alpha1/index.ts";
import type { InformerEvent } from "../../k8s/informer.ts";
import { integrationReconciler } from "./controller.ts";

/**
 * What of a child BearerToken the integration reads (gather.ts, childToken): its identity, spec,
 * refresh request and owner, and its Ready condition without a TokenValid message (which names the
 * expiry). A routine refresh changes only the token's times, so it wakes no integration.
 */
function childPart(o: KubernetesObject): string {
  const t = o as BearerToken & KubernetesObject;
  const ready = t.status?.conditions?.find((c) => c.type === "Ready");
  return createHash("sha256")
    .update(
      JSON.stringify([
        t.metadata.uid,
        t.metadata.generation,
        t.metadata.deletionTimestamp,
        t.metadata.annotations?.[refreshAnnotation],
        t.metadata.ownerReferences,
        t.spec,
        ready && [
          ready.status,
          ready.reason,
          ready.observedGeneration,
          ready.reason === Reason.TokenValid ? "" : ready.message,
        ],
      ]),
    )
    .digest("base64url")
    .slice(0, 16);
}

/** Maps a child BearerToken's events to its integration, skipping updates that change nothing it reads. */
function childChanges(): (o: KubernetesObject, event: InformerEvent) => string[] {
  const seen = new Map<string, string>();
  return (o, event) => {
    const key = keyOf(o);
    if (event === "delete") seen.delete(key);
    else {
      const part = childPart(o);
      if (event === "update" && seen.get(key) === part) return [];
      seen.set(key, part);
    }
    return ownerKeys(o, "DataTrailsIntegration");
  };
}

/** Declares the integration controller over `ctx`; call before the informers start (it indexes them). */
export function integrationDefinition(ctx: ControllerContext): ControllerDefinition {
  const { integrations, tokens, secrets, connections, clusterConnections } = ctx.informers;
  // Connection → integrations, and admin Secret → connections.
  const connectionUsers = new ReferenceIndex();
  indexInformer(integrations, connectionUsers, (i) => {
    const ref = i.spec?.connectionRef;
    if (!ref) return [];
    return ref.kind === "ClusterDataTrailsConnection"
      ? [ref.name]
      : [`${i.metadata.namespace ?? ""}/${ref.name}`];
  });
  const adminSecrets = new ReferenceIndex();
  indexInformer(connections, adminSecrets, (c) => {
    const ref = adminSecretKey("DataTrailsConnection", c);
    return ref ? [ref] : [];
  });
  indexInformer(clusterConnections, adminSecrets, (c) => {
    const ref = adminSecretKey("ClusterDataTrailsConnection", c);
    return ref ? [ref] : [];
  });
  const isReady = (key: string) => {
    const { namespace, name } = splitKey(key);
    const ready = integrations.get(name, namespace)?.status?.conditions?.find((c) => c.type === "Ready");
    return ready?.status === "True";
  };
  const byConnection = (c: KubernetesObject) => connectionUsers.referrersOf(keyOf(c));

  return {
    name: "datatrailsintegration",
    primary: integrations,
    concurrency: ctx.config.integrationConcurrency,
    watches: [
      { informer: tokens, keysFor: childChanges() },
      { informer: secrets, keysFor: (o) => ownerKeys(o, "DataTrailsIntegration") },
      { informer: connections, keysFor: byConnection },
      { informer: clusterConnections, keysFor: byConnection },
    ],
    secretKeys(namespace, name) {
      const ref = `${namespace}/${name}`;
      // A fixed admin Secret wakes those that failed on it; a Ready one uses it at its next look,
      // so an admin Secret rotation does not wake every integration at once.
      const failing = adminSecrets
        .referrersOf(ref)
        .flatMap((connection) => connectionUsers.referrersOf(connection))
        .filter((key) => !isReady(key));
      // A user's Secret holding a name an integration wants may have gone or changed hands.
      const wanting = ctx.ownership
        .secretWriters(namespace, name)
        .filter((w) => w.kind === "DataTrailsIntegration")
        .map((w) => `${namespace}/${w.name}`);
      return [...failing, ...wanting];
    },
    reconcile: integrationReconciler({
      getIntegration: (ns, name) =>
        ctx.objects.get<DataTrailsIntegration & KubernetesObject>(resources.integrations, ns, name),
      getConnection: (ns, name) => connections.get(name, ns),
      getClusterConnection: (name) => clusterConnections.get(name),
      namespaceLabels: ctx.namespaceLabels,
      lookupSecret: ctx.lookupSecret,
      getBearerToken: (ns, name) => tokens.get(name, ns),
      apiFor: ctx.apiFor,
      ownership: ctx.ownership,
      objects: ctx.objects,
      secrets: ctx.secrets,
      events: ctx.events,
      writeStatus: (obj, previous, next) => ctx.writeStatus(resources.integrations, obj, previous, next),
      clock: ctx.clock,
      logger: ctx.logger,
      metrics: ctx.metrics,
      options: { resyncIntervalMs: ctx.config.resyncIntervalMs, missingTargetRetryMs: 5 * 60_000 },
      ...(ctx.crashPoint ? { crashPoint: ctx.crashPoint } : {}),
    }),
  };
}
