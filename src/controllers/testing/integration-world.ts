/**
 * An in-memory cluster for the integration reconciler: the integration objects (status writes and
 * finalizer patches land on them), a DataTrailsConnection with its admin Secret, the child
 * BearerTokens, Events, a fake clock, {@link FakeSecretStore} and {@link FakeDataTrailsApi}. It
 * builds the reconciler exactly as the operator does, from its deps, so a test drives the real
 * gather → decide → apply → status path. The reconciler sees every object as the informer caches
 * hold it (shaped by src/k8s/cache-shape.ts), so a reconcile that reads a field the caches drop
 * fails here.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import {
  applicationFinalizer,
  integrationSpec,
  type BearerToken,
  type DataTrailsConnection,
  type DataTrailsIntegration,
  type IntegrationStatus,
} from "../../api/v1alpha1/index.ts";
import {
  bearerTokenCacheShape,
  connectionCacheShape,
  integrationCacheShape,
  shapeForCache,
  type CacheShape,
} from "../../k8s/cache-shape.ts";
import { createFakeClock, type FakeClock } from "../../k8s/fake-clock.ts";
import type { CustomObjects, ResourceRef } from "../../k8s/custom-objects.ts";
import type { EventInput, EventRecorder } from "../../k8s/events.ts";
import { statusChanged } from "../../k8s/status.ts";
import type { WorkResult } from "../../k8s/work-queue.ts";
import { createLogger } from "../../observability/logger.ts";
import { adminSecretCache } from "../integration/connection.ts";
import { integrationReconciler, type IntegrationReconciler } from "../integration/controller.ts";
import type { Ownership } from "../ownership.ts";
import { FakeDataTrailsApi } from "./fake-datatrails-api.ts";
import { FakeSecretStore } from "./fake-secret-store.ts";

export const namespace = "team-a";
export const resyncIntervalMs = 600_000;

/** A copy of `obj` as the operator's cache holds it. */
function cached<T>(obj: T | undefined, shape: CacheShape<T & KubernetesObject>): T | undefined {
  return obj && shapeForCache(structuredClone(obj) as T & KubernetesObject, shape);
}

/** The cluster and DataTrails one integration lives in. */
export class IntegrationWorld {
  readonly clock: FakeClock = createFakeClock(Date.UTC(2026, 5, 1, 12));
  readonly api = new FakeDataTrailsApi(() => new Date(this.clock.now()));
  readonly secrets = new FakeSecretStore();
  readonly integrations = new Map<string, DataTrailsIntegration>();
  readonly tokens = new Map<string, BearerToken>();
  readonly events: EventInput[] = [];
  readonly connection: DataTrailsConnection = {
    apiVersion: "datatrails.ai/v1alpha1",
    kind: "DataTrailsConnection",
    metadata: { name: "dt", namespace, uid: "conn-uid", generation: 1 },
    spec: { url: "https://dt.example", credentialsSecretRef: { name: "dt-admin" } },
  } as DataTrailsConnection;
  #uids = 0;

  constructor() {
    const adminVersion = this.secrets.put({
      metadata: { name: "dt-admin", namespace },
      data: {
        client_id: Buffer.from("admin").toString("base64"),
        client_secret: Buffer.from("admin-secret").toString("base64"),
      },
    });
    // As the connection controller records it once it has checked the admin Secret.
    this.connection.status = { credentialsSecretVersion: adminVersion };
  }

  /** Status writes, finalizer patches and BearerToken applies, in order (`status`, `patch`, `apply`). */
  readonly kubeWrites: string[] = [];
  /** Secrets made a moment ago that a first look's name list does not show yet (secret-cache.ts, toCreate). */
  readonly unlisted = new Set<string>();

  /** Adds an integration (as kubectl apply would: no status, no finalizer yet). */
  addIntegration(
    name: string,
    spec: Record<string, unknown> = {},
    annotations?: Record<string, string>,
  ): void {
    this.integrations.set(name, {
      apiVersion: "datatrails.ai/v1alpha1",
      kind: "DataTrailsIntegration",
      metadata: {
        name,
        namespace,
        uid: `00000000-0000-4000-8000-00000000000${++this.#uids}`,
        generation: 1,
        resourceVersion: "1",
        creationTimestamp: new Date(this.clock.now()).toISOString(),
        ...(annotations ? { annotations } : {}),
      },
      spec: integrationSpec.parse({ connectionRef: { name: "dt" }, displayName: `app-${name}`, ...spec }),
    });
  }

  integration(name: string): DataTrailsIntegration {
    const obj = this.integrations.get(name);
    if (!obj) throw new Error(`no integration ${name}`);
    return obj;
  }

  status(name: string): IntegrationStatus {
    return this.integration(name).status ?? {};
  }

  /** The reason of a condition of the integration's status. */
  reason(name: string, type: string): string | undefined {
    return this.status(name).conditions?.find((c) => c.type === type)?.reason;
  }

  /** Changes the object as a user would (a new generation when the spec changes). */
  edit(name: string, change: (obj: DataTrailsIntegration) => void, specChanged = false): void {
    const obj = structuredClone(this.integration(name));
    change(obj);
    obj.metadata.resourceVersion = String(Number(obj.metadata.resourceVersion) + 1);
    if (specChanged) obj.metadata.generation += 1;
    this.integrations.set(name, obj);
  }

  /** The child BearerToken reports a valid token, as the token controller would. */
  tokenIsReady(name: string): void {
    const token = this.tokens.get(name);
    if (!token) throw new Error(`no BearerToken ${name}`);
    token.status = {
      tokenExpiresAt: new Date(this.clock.now() + 3_600_000).toISOString(),
      conditions: [
        {
          type: "Ready",
          status: "True",
          reason: "TokenValid",
          message: "valid",
          lastTransitionTime: new Date(this.clock.now()).toISOString(),
          observedGeneration: token.metadata.generation,
        },
      ],
    };
  }

  readonly #objects: CustomObjects = {
    get: () => Promise.resolve(undefined),
    mergePatch: (_ref: ResourceRef, _ns: string, name: string, patch: object) => {
      this.kubeWrites.push("patch");
      const obj = structuredClone(this.integration(name));
      const meta = (patch as { metadata?: { finalizers?: string[]; annotations?: Record<string, string> } })
        .metadata;
      if (meta?.finalizers) obj.metadata.finalizers = meta.finalizers;
      if (meta?.annotations) obj.metadata.annotations = { ...obj.metadata.annotations, ...meta.annotations };
      obj.metadata.resourceVersion = String(Number(obj.metadata.resourceVersion) + 1);
      // The API server removes an object being deleted once its last finalizer goes.
      if (obj.metadata.deletionTimestamp && !obj.metadata.finalizers?.includes(applicationFinalizer))
        this.integrations.delete(name);
      else this.integrations.set(name, obj);
      return Promise.resolve();
    },
    apply: (_ref: ResourceRef, body: KubernetesObject) => {
      this.kubeWrites.push("apply");
      const name = body.metadata?.name ?? "";
      const before = this.tokens.get(name);
      const token = {
        ...structuredClone(body),
        ...(before?.status ? { status: before.status } : {}),
      } as unknown as BearerToken;
      token.metadata.generation = (before?.metadata.generation ?? 0) + 1;
      token.metadata.uid = before?.metadata.uid ?? `token-${name}`;
      this.tokens.set(name, token);
      return Promise.resolve();
    },
    delete: (_ref: ResourceRef, _ns: string, name: string) => {
      this.tokens.delete(name);
      return Promise.resolve();
    },
  };

  readonly #recorder: EventRecorder = { record: (_obj, event) => void this.events.push(event) };

  readonly #ownership: Ownership = {
    secretWriters: () => [],
    holderExists: () => true,
    integrationWithUid: (uid) => {
      const obj = [...this.integrations.values()].find((i) => i.metadata.uid === uid);
      return obj ? `${namespace}/${obj.metadata.name}` : undefined;
    },
    adopters: () => [],
  };

  /** --shards of the running operator (read when it starts). */
  shards = 1;
  #running: IntegrationReconciler | undefined;

  /** Reconciles `key` with the running operator's reconciler (started on first use). */
  reconcile(key: string): Promise<WorkResult> {
    this.#running ??= this.#start();
    return this.#running(key);
  }

  /** The object comes into the running operator's cache anew (its shard taken again). */
  forget(key: string): void {
    this.#running?.forget(key);
  }

  /** The operator restarts: the next reconcile is a new process's first look. */
  restart(): void {
    this.#running = undefined;
  }

  #start(): IntegrationReconciler {
    return integrationReconciler({
      getIntegration: (_ns, name) =>
        Promise.resolve(cached(this.integrations.get(name), integrationCacheShape)),
      getConnection: (_ns, name) =>
        name === this.connection.metadata.name ? cached(this.connection, connectionCacheShape) : undefined,
      getClusterConnection: () => undefined,
      namespaceLabels: () => Promise.resolve({}),
      lookupSecret: (ns, name, options) =>
        options?.toCreate && this.unlisted.has(name)
          ? Promise.resolve(undefined)
          : this.secrets.get(ns, name),
      cachedSecret: (ns, name) => this.secrets.cached(ns, name),
      adminSecrets: adminSecretCache(),
      getBearerToken: (_ns, name) => cached(this.tokens.get(name), bearerTokenCacheShape),
      apiFor: () => this.api,
      ownership: this.#ownership,
      objects: this.#objects,
      secrets: this.secrets,
      events: this.#recorder,
      writeStatus: (obj, previous, next) => {
        // As patchStatus: an unchanged status is not written.
        if (!statusChanged(previous, next)) return Promise.resolve();
        this.kubeWrites.push("status");
        const stored = this.integrations.get(obj.metadata.name);
        if (stored) this.integrations.set(obj.metadata.name, { ...stored, status: structuredClone(next) });
        return Promise.resolve();
      },
      clock: this.clock,
      logger: createLogger({ level: "silent" }),
      options: { resyncIntervalMs, missingTargetRetryMs: 300_000 },
      ...(this.shards > 1 ? { shards: this.shards } : {}),
    });
  }
}
