/**
 * The connection controllers (one per kind): gather (admin Secret, token endpoint, one OWNER-only
 * call) → decide (pure) → apply (status when changed, an Event per transition). Each declares, beside
 * its reconcile, how a Secret maps to the connections that name it (`keysFor`), for the composition
 * root to register against its Secret watches. A wake-up that changes nothing for a settled
 * connection (a replayed Secret event, a restart) costs one Secret read and no DataTrails call.
 */
import { indexInformer, ReferenceIndex } from "../reference-index.ts";
import type { KubernetesObject } from "@kubernetes/client-node";
import {
  clusterConnectionSpec,
  resources,
  Reason,
  type ClusterDataTrailsConnection,
  type ConnectionStatus,
  type DataTrailsConnection,
} from "../../api/v1alpha1/index.ts";
import type { Clock } from "../../k8s/clock.ts";
import type { ResourceRef } from "../../k8s/custom-objects.ts";
import type { ResilientInformer } from "../../k8s/informer.ts";
import { selectorMatches } from "../../k8s/selector.ts";
import type { WorkResult } from "../../k8s/work-queue.ts";
import { objectLogger, type Logger } from "../../observability/logger.ts";
import { splitKey } from "../controller.ts";
import { applyConnectionPlan, type ConnectionApplyDeps } from "./apply.ts";
import { checkTiming, decideConnection, type ConnectionDecideOptions } from "./decide.ts";
import {
  adminSecretKey,
  probeConnection,
  readAdminSecret,
  type ConnectionGatherDeps,
  type ConnectionKind,
  type ConnectionObject,
} from "./gather.ts";

/** What the connection controllers depend on. */
interface ConnectionControllerDeps extends ConnectionGatherDeps, Pick<ConnectionApplyDeps, "events"> {
  connections: ResilientInformer<DataTrailsConnection & KubernetesObject>;
  clusterConnections: ResilientInformer<ClusterDataTrailsConnection & KubernetesObject>;
  /** Merge-patches the status of `obj` (of the kind `resource` names) from `previous` to `next`. */
  writeStatus(
    resource: ResourceRef,
    obj: ConnectionObject,
    previous: ConnectionStatus | undefined,
    next: ConnectionStatus,
  ): Promise<void>;
  /** A namespace's labels, for cluster connections that allow namespaces by selector. */
  namespaceLabels(name: string): Promise<Record<string, string> | undefined>;
  /** The namespaces the operator is limited to; empty for all. */
  watchNamespaces: readonly string[];
  clock: Clock;
  logger: Logger;
  options: ConnectionDecideOptions;
}

/** One connection controller, ready for startController. */
interface ConnectionController {
  name: string;
  kind: ConnectionKind;
  primary: ResilientInformer<KubernetesObject>;
  /** Keys of the connections whose admin Secret is `secret`. */
  keysFor: (secret: KubernetesObject) => string[];
  reconcile: (key: string) => Promise<WorkResult>;
}

/** A check that failed in a way the work queue should back off from; the message names the reason. */
class ConnectionCheckFailure extends Error {
  override readonly name = "ConnectionCheckFailure";
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(`${reason}: ${message}`);
    this.reason = reason;
  }
}

const kindResources: Record<ConnectionKind, ResourceRef> = {
  DataTrailsConnection: resources.connections,
  ClusterDataTrailsConnection: resources.clusterConnections,
};

/**
 * Whether an operator limited to some namespaces should check this cluster connection: only when it
 * allows one of them. Otherwise every operator in a cluster would check (and write the status of)
 * every cluster connection, and read Secrets its RBAC may not cover.
 */
async function servesWatchedNamespace(
  obj: ConnectionObject,
  deps: ConnectionControllerDeps,
): Promise<boolean> {
  if (deps.watchNamespaces.length === 0) return true;
  const parsed = clusterConnectionSpec.safeParse(obj.spec);
  const allowed = parsed.success ? parsed.data.allowedNamespaces : undefined;
  if (!allowed) return false;
  for (const namespace of deps.watchNamespaces) {
    if (allowed.names?.includes(namespace)) return true;
    if (allowed.selector) {
      const labels = await deps.namespaceLabels(namespace);
      if (labels && selectorMatches(allowed.selector, labels)) return true;
    }
  }
  return false;
}

function controllerFor(kind: ConnectionKind, deps: ConnectionControllerDeps): ConnectionController {
  const name = kind.toLowerCase();
  const resource = kindResources[kind];
  const namespaced = kind === "DataTrailsConnection";
  const informer = (namespaced ? deps.connections : deps.clusterConnections) as ResilientInformer<
    ConnectionObject & KubernetesObject
  >;
  // When this process will next check each settled connection (absent: not looked at yet).
  const due = new Map<string, number>();
  // The status this process last wrote, by UID: the cache may not show our own write yet, and a
  // retry comparing against a stale copy would write it again and repeat the transition's Event.
  const written = new Map<string, ConnectionStatus>();

  // Admin Secret → the connections naming it, kept from the informer's events (no scan per Secret event).
  const byAdminSecret = new ReferenceIndex();
  indexInformer(informer, byAdminSecret, (c) => {
    const ref = adminSecretKey(kind, c);
    return ref ? [ref] : [];
  });
  const keysFor = (secret: KubernetesObject): string[] =>
    byAdminSecret.referrersOf(`${secret.metadata?.namespace ?? ""}/${secret.metadata?.name ?? ""}`);

  const reconcile = async (key: string): Promise<WorkResult> => {
    const { namespace, name: objectName } = splitKey(key);
    const cached = namespaced ? informer.get(objectName, namespace) : informer.get(objectName);
    if (!cached || cached.metadata.deletionTimestamp) {
      due.delete(key);
      for (const [uid] of written)
        if (!informer.list().some((c) => c.metadata.uid === uid)) written.delete(uid);
      return;
    }
    const ownStatus = written.get(cached.metadata.uid);
    const obj: ConnectionObject = ownStatus ? { ...cached, status: ownStatus } : cached;
    const log = objectLogger(deps.logger, {
      controller: name,
      ...(namespaced ? { namespace } : {}),
      name: objectName,
    });
    const options = deps.options;
    if (!namespaced && !(await servesWatchedNamespace(obj, deps))) {
      log.debug("allows none of the watched namespaces: not checked");
      return { requeueAfterMs: options.resyncIntervalMs };
    }
    const read = await readAdminSecret(kind, obj, deps);
    const secretVersion = read.state === "ready" ? read.secretVersion : undefined;
    const nowMs = deps.clock.now();
    const timing = checkTiming(obj, secretVersion, due.get(key), nowMs, options);
    if (!timing.check) {
      // Settled, nothing changed, not due: a restart or a replayed Secret event asks DataTrails nothing.
      due.set(key, nowMs + timing.afterMs);
      return { requeueAfterMs: timing.afterMs };
    }
    const check = read.state === "ready" ? await probeConnection(read.target, deps) : read.check;
    const observed = { kind, object: obj, check, ...(secretVersion !== undefined ? { secretVersion } : {}) };
    const plan = decideConnection(observed, new Date(deps.clock.now()), options);
    await applyConnectionPlan(kind, obj, plan, {
      events: deps.events,
      writeStatus: async (o, previous, next) => {
        await deps.writeStatus(resource, o, previous, next);
        written.set(o.metadata.uid, next);
      },
    });
    if (plan.event) log.info({ reason: plan.reason, message: plan.message }, "Ready changed");
    else log.debug({ reason: plan.reason }, "checked");
    if ("afterMs" in plan.next && plan.reason === Reason.Ready)
      due.set(key, deps.clock.now() + plan.next.afterMs);
    else due.delete(key);
    if ("afterMs" in plan.next) return { requeueAfterMs: plan.next.afterMs };
    if ("never" in plan.next) return;
    throw new ConnectionCheckFailure(plan.reason, plan.message);
  };

  return {
    name,
    kind,
    primary: informer,
    keysFor,
    reconcile,
  };
}

/** The controllers of both connection kinds. */
export function connectionControllers(deps: ConnectionControllerDeps): ConnectionController[] {
  return [controllerFor("DataTrailsConnection", deps), controllerFor("ClusterDataTrailsConnection", deps)];
}
