/**
 * Secrets the operator writes, by server-side apply with one field manager. SSA is what lets the
 * operator "never touch keys it does not own": the API server records which manager set each key,
 * so a key another manager added (a user's `kubectl apply`, a sidecar) survives our apply, and a key
 * we stop sending is removed because we owned it.
 *
 * Values are sent base64-encoded under `data`, never under `stringData`: the API server folds
 * stringData into data after recording field ownership, so keys applied through stringData are not
 * owned by the manager and would never be removed.
 *
 * Secret values are never logged here, and errors carry only the Status message (see errors.ts).
 */
import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1OwnerReference,
  type V1Secret,
} from "@kubernetes/client-node";
import { fieldManager as operatorFieldManager } from "../api/v1alpha1/constants.ts";
import { isNotFound, toKubeError } from "./errors.ts";
import { withAccept } from "./secret-feed.ts";

/** A Secret as the operator wants it: everything it owns, nothing else. */
export interface AppliedSecret {
  namespace: string;
  name: string;
  labels?: Readonly<Record<string, string>>;
  annotations?: Readonly<Record<string, string>>;
  ownerReferences?: readonly V1OwnerReference[];
  /** Plain-text values by key; the store encodes them. Keys left out are removed if we set them before. */
  data: Readonly<Record<string, string>>;
  /**
   * A Secret the operator took over: its `type` is left as it is (it is immutable, and not ours),
   * instead of being set to Opaque.
   */
  keepType?: boolean;
  /** The Secret's type when it is not Opaque (an output Secret's template sets it). */
  type?: string;
  /**
   * Fields the operator wrote earlier and writes no more (an output Secret's template changed),
   * removed after the apply: a Secret made by create holds its first fields under the manager's
   * Update operation, which an apply that leaves them out does not remove.
   */
  remove?: { data: readonly string[]; labels: readonly string[]; annotations: readonly string[] };
}

/** Reads and writes the operator's Secrets; controllers depend on this port, not on the API client. */
export interface SecretStore {
  /**
   * Makes the Secret hold exactly these owned fields, leaving fields of other managers alone.
   * Returns the Secret's resourceVersion after the write (callers record it to notice later edits).
   */
  apply(secret: AppliedSecret): Promise<string>;
  /**
   * Creates the Secret; fails with KubeError `AlreadyExists` when one of that name exists, so that
   * a Secret made by someone else a moment earlier is never taken over. Returns its resourceVersion.
   */
  create(secret: AppliedSecret): Promise<string>;
  /** The Secret, or undefined when it does not exist. */
  get(namespace: string, name: string): Promise<V1Secret | undefined>;
}

/** The server-side apply body for `secret`: a Secret (Opaque unless it says otherwise) with base64 `data`. */
export function secretApplyBody(secret: AppliedSecret): Record<string, unknown> {
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(secret.data))
    data[key] = Buffer.from(value, "utf8").toString("base64");
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: secret.name,
      namespace: secret.namespace,
      ...(secret.labels ? { labels: { ...secret.labels } } : {}),
      ...(secret.annotations ? { annotations: { ...secret.annotations } } : {}),
      ...(secret.ownerReferences
        ? { ownerReferences: secret.ownerReferences.map((ref) => ({ ...ref })) }
        : {}),
    },
    ...(secret.keepType ? {} : { type: secret.type ?? "Opaque" }),
    data,
  };
}

/** Decodes a Secret's `data` into plain-text values (for readers of the Secrets this module writes). */
export function decodeSecretData(secret: V1Secret | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(secret?.data ?? {}))
    out[key] = Buffer.from(value, "base64").toString("utf8");
  return out;
}

/** Options for {@link KubeSecretStore}. */
export interface KubeSecretStoreOptions {
  /** The SSA field manager; default `datatrails-operator`. */
  fieldManager?: string;
  /** Called with the API server's answer to every write (secret-cache.ts keeps it until its informer catches up). */
  onWritten?: (secret: V1Secret) => void;
  /**
   * Labels added to every Secret written, read at the write (with --shards: the shard of the
   * reconcile that writes it, so that the shard's holder alone caches it).
   */
  extraLabels?: () => Readonly<Record<string, string>>;
}

/** {@link SecretStore} on the Kubernetes API: server-side apply (forced) with the operator's field manager. */
export class KubeSecretStore implements SecretStore {
  readonly #api: CoreV1Api;
  readonly #fieldManager: string;
  readonly #onWritten: ((secret: V1Secret) => void) | undefined;
  readonly #extraLabels: (() => Readonly<Record<string, string>>) | undefined;

  constructor(kubeConfig: KubeConfig, options: KubeSecretStoreOptions = {}) {
    this.#api = kubeConfig.makeApiClient(CoreV1Api);
    this.#fieldManager = options.fieldManager ?? operatorFieldManager;
    this.#onWritten = options.onWritten;
    this.#extraLabels = options.extraLabels;
  }

  /** The apply body of `secret` with the extra labels. */
  #body(secret: AppliedSecret): Record<string, unknown> {
    const extra = this.#extraLabels?.() ?? {};
    if (Object.keys(extra).length === 0) return secretApplyBody(secret);
    return secretApplyBody({ ...secret, labels: { ...secret.labels, ...extra } });
  }

  async apply(secret: AppliedSecret): Promise<string> {
    try {
      const written = await this.#api.patchNamespacedSecret(
        {
          name: secret.name,
          namespace: secret.namespace,
          body: this.#body(secret),
          fieldManager: this.#fieldManager,
          // Force: the operator is the authority for the keys it writes, even if a user edited them.
          force: true,
        },
        setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
      );
      const removed = await this.#remove(secret);
      const last = removed ?? written;
      this.#onWritten?.(last);
      return last.metadata?.resourceVersion ?? "";
    } catch (err) {
      throw toKubeError(err, `apply Secret ${secret.namespace}/${secret.name}`);
    }
  }

  /** Removes `secret.remove`'s fields with a JSON merge patch; the Secret after it, if it ran. */
  async #remove(secret: AppliedSecret): Promise<V1Secret | undefined> {
    const r = secret.remove;
    if (!r || r.data.length + r.labels.length + r.annotations.length === 0) return undefined;
    const nulls = (names: readonly string[]) => Object.fromEntries(names.map((n) => [n, null]));
    const patched = await this.#api.patchNamespacedSecret(
      {
        name: secret.name,
        namespace: secret.namespace,
        body: {
          metadata: {
            ...(r.labels.length ? { labels: nulls(r.labels) } : {}),
            ...(r.annotations.length ? { annotations: nulls(r.annotations) } : {}),
          },
          ...(r.data.length ? { data: nulls(r.data) } : {}),
        },
        fieldManager: this.#fieldManager,
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    return patched;
  }

  async create(secret: AppliedSecret): Promise<string> {
    try {
      const created = await this.#api.createNamespacedSecret({
        namespace: secret.namespace,
        body: this.#body(secret),
        fieldManager: this.#fieldManager,
      });
      this.#onWritten?.(created);
      return created.metadata?.resourceVersion ?? "";
    } catch (err) {
      throw toKubeError(err, `create Secret ${secret.namespace}/${secret.name}`);
    }
  }

  async get(namespace: string, name: string): Promise<V1Secret | undefined> {
    try {
      return await this.#api.readNamespacedSecret({ name, namespace });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw toKubeError(err, `read Secret ${namespace}/${name}`);
    }
  }
}

/**
 * Lists the names of a namespace's Secrets, every page, as metadata only: the API server sends no
 * value, so none reaches this process. The resourceVersion is the list's (its first page's).
 */
export function secretNameLister(
  kubeConfig: KubeConfig,
): (namespace: string) => Promise<{ names: string[]; resourceVersion: string | undefined }> {
  const api = withAccept(
    kubeConfig,
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
  ).makeApiClient(CoreV1Api);
  return async (namespace) => {
    const names: string[] = [];
    let resourceVersion: string | undefined;
    let next: string | undefined;
    try {
      do {
        const page = await api.listNamespacedSecret({
          namespace,
          limit: 500,
          ...(next ? { _continue: next } : {}),
        });
        resourceVersion ??= page.metadata?.resourceVersion;
        for (const item of page.items) if (item.metadata?.name) names.push(item.metadata.name);
        next = page.metadata?._continue || undefined;
      } while (next);
    } catch (err) {
      throw toKubeError(err, `list Secret names in ${namespace}`);
    }
    return { names, resourceVersion };
  };
}
