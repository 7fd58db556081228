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
import {
  ConditionType,
  Reason,
  refreshAnnotation,
  resources,
  type BearerToken,
} from "../../api/v1alpha1/index.ts";
import type { InformerEvent } from "../../k8s/informer.ts";
import { adminSecretCache } from "./connection.ts";
import { integrationReconciler } from "./controller.ts";
import { ownWrites } from "./own-writes.ts";
import type { CustomObjects } from "../../k8s/custom-objects.ts";

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

type ChildEvents = (o: KubernetesObject, event: InformerEvent) => string[];

/**
 * Maps a child BearerToken's events to its integration, skipping those that change nothing it reads.
 * With shards, a child not stamped yet is in the unlabelled cache, and its stamp moves it to its
 * shard's: what it showed there is remembered (its leaving that cache is no news), so its arrival in
 * the shard's cache, unchanged, does not wake the parent into a check its first look just spared.
 */
function childChanges(): { labelled: ChildEvents; unlabelled: ChildEvents } {
  const seen = new Map<string, string>();
  const changed = (o: KubernetesObject) => {
    const key = keyOf(o);
    const part = childPart(o);
    if (seen.get(key) === part) return false;
    seen.set(key, part);
    return true;
  };
  return {
    labelled: (o, event) => {
      if (event === "delete") seen.delete(keyOf(o));
      else if (!changed(o)) return [];
      return ownerKeys(o, "DataTrailsIntegration");
    },
    unlabelled: (o, event) => (event !== "delete" && changed(o) ? ownerKeys(o, "DataTrailsIntegration") : []),
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
  // The integration from the cache unless this process wrote it since the cache last showed it.
  const own = ownWrites({
    // One the reload controller writes the status of too (spec.reload, or its record and condition
    // still there to be removed) is read fresh: that controller's writes are not recorded here.
    cached: (ns, name) => {
      const obj = integrations.get(name, ns) as DataTrailsIntegration | undefined;
      const reloadWrites =
        obj?.spec.reload !== undefined ||
        obj?.status?.reload !== undefined ||
        obj?.status?.conditions?.some((c) => c.type === ConditionType.ReloadReady) === true;
      return reloadWrites ? undefined : obj;
    },
    fetch: (ns, name) =>
      ctx.objects.get<DataTrailsIntegration & KubernetesObject>(resources.integrations, ns, name),
  });
  // Children this process applied that the cache does not show yet (the apply's body): the
  // reconcile that follows a create at once (woken by its own patch or Secret) would otherwise find
  // no child and apply it again. The cache's first event of the child ends the record.
  const applied = new Map<string, BearerToken>();
  const seenChild = (t: BearerToken) => applied.delete(`${t.metadata.namespace ?? ""}/${t.metadata.name}`);
  tokens.on("add", seenChild);
  tokens.on("update", seenChild);
  tokens.on("delete", seenChild);
  const objects: CustomObjects = {
    get: (ref, ns, name) => ctx.objects.get(ref, ns, name),
    mergePatch: (ref, ns, name, patch) => {
      const meta = (patch as { metadata?: { finalizers?: string[]; annotations?: Record<string, string> } })
        .metadata;
      const written = {
        ...(meta?.finalizers ? { finalizers: meta.finalizers } : {}),
        ...(meta?.annotations ? { annotations: meta.annotations } : {}),
      };
      const patchIt = () => ctx.objects.mergePatch(ref, ns, name, patch);
      return ref === resources.integrations ? own.track(ns, name, written, patchIt) : patchIt();
    },
    apply: async (ref, body, manager) => {
      await ctx.objects.apply(ref, body, manager);
      const { namespace = "", name = "" } = body.metadata ?? {};
      if (ref === resources.bearerTokens && !tokens.get(name, namespace))
        applied.set(`${namespace}/${name}`, body as unknown as BearerToken);
    },
    delete: async (ref, ns, name) => {
      applied.delete(`${ns}/${name}`);
      await ctx.objects.delete(ref, ns, name);
    },
  };

  // With shards the cache holds only this replica's shards. An object it does not hold is another
  // replica's, or in a shard whose caches are still listing (a Secret or BearerToken listed first
  // wakes its integration before the integrations are in): treated as gone, it is neither read from
  // the API server nor looked at, and its first look waits for its shard's cache to bring it in.
  const sharded = ctx.informers.sharded !== undefined;
  const unlabelledTokens = ctx.informers.sharded?.unlabelled.tokens;
  const children = childChanges();
  const reconcile = integrationReconciler({
    getIntegration: (ns, name) =>
      sharded && !integrations.get(name, ns) ? Promise.resolve(undefined) : own.read(ns, name),
    getConnection: (ns, name) => connections.get(name, ns),
    getClusterConnection: (name) => clusterConnections.get(name),
    namespaceLabels: ctx.namespaceLabels,
    lookupSecret: ctx.lookupSecret,
    cachedSecret: (ns, name) => secrets.get(name, ns),
    adminSecrets: adminSecretCache(),
    // A child not stamped yet (made before sharding) is in the unlabelled cache: its shard is its
    // parent's, so it is this replica's, and the parent's first look finds it in place.
    getBearerToken: (ns, name) =>
      tokens.get(name, ns) ?? unlabelledTokens?.get(name, ns) ?? applied.get(`${ns}/${name}`),
    apiFor: ctx.apiFor,
    ownership: ctx.ownership,
    objects,
    secrets: ctx.secrets,
    events: ctx.events,
    writeStatus: (obj, previous, next) =>
      own.track(obj.metadata.namespace ?? "", obj.metadata.name, { status: next }, () =>
        ctx.writeStatus(resources.integrations, obj, previous, next),
      ),
    clock: ctx.clock,
    logger: ctx.logger,
    metrics: ctx.metrics,
    options: { resyncIntervalMs: ctx.config.resyncIntervalMs, missingTargetRetryMs: 5 * 60_000 },
    ...(ctx.crashPoint ? { crashPoint: ctx.crashPoint } : {}),
    ...(sharded ? { shards: ctx.config.shards } : {}),
  });
  // An object new to the cache (created, or its shard just taken) gets a first look, as after a
  // restart: what this process knew of it from an earlier hold of its shard is stale.
  integrations.on("add", (o) => reconcile.forget(keyOf(o)));

  return {
    name: "datatrailsintegration",
    primary: integrations,
    concurrency: ctx.config.integrationConcurrency,
    watches: [
      { informer: tokens, keysFor: children.labelled },
      ...(unlabelledTokens ? [{ informer: unlabelledTokens, keysFor: children.unlabelled }] : []),
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
    reconcile,
  };
}
