/**
 * Reads and writes the operator's own custom resources with the bodies passed through untouched
 * (client-node's typed serializer drops keys it does not know, which custom resources are full of).
 * Every failure is a KubeError, which carries no response body.
 */
import {
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { toKubeError, isNotFound } from "./errors.ts";

/** A kind's REST coordinates. */
export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
}

/** The writes and reads controllers make on custom resources. */
export interface CustomObjects {
  /** The object, or undefined when it does not exist. */
  get<T extends KubernetesObject>(ref: ResourceRef, namespace: string, name: string): Promise<T | undefined>;
  /** A JSON merge patch of the object (metadata and spec, not status). */
  mergePatch(ref: ResourceRef, namespace: string, name: string, patch: object): Promise<void>;
  /** Server-side apply of a whole object under the given field manager (force: the operator owns these fields). */
  apply(ref: ResourceRef, body: KubernetesObject, fieldManager: string): Promise<void>;
  /** Deletes the object; a missing object counts as deleted. */
  delete(ref: ResourceRef, namespace: string, name: string): Promise<void>;
}

/** {@link CustomObjects} on the Kubernetes API. */
export class KubeCustomObjects implements CustomObjects {
  readonly #api: CustomObjectsApi;

  constructor(kubeConfig: KubeConfig) {
    this.#api = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  async get<T extends KubernetesObject>(
    ref: ResourceRef,
    namespace: string,
    name: string,
  ): Promise<T | undefined> {
    try {
      return (await this.#api.getNamespacedCustomObject({ ...ref, namespace, name })) as T;
    } catch (err) {
      if (isNotFound(toKubeError(err, "get"))) return undefined;
      throw toKubeError(err, `get ${ref.plural} ${namespace}/${name}`);
    }
  }

  async mergePatch(ref: ResourceRef, namespace: string, name: string, patch: object): Promise<void> {
    try {
      await this.#api.patchNamespacedCustomObject(
        { ...ref, namespace, name, body: patch },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    } catch (err) {
      throw toKubeError(err, `patch ${ref.plural} ${namespace}/${name}`);
    }
  }

  async apply(ref: ResourceRef, body: KubernetesObject, fieldManager: string): Promise<void> {
    const namespace = body.metadata?.namespace ?? "";
    const name = body.metadata?.name ?? "";
    try {
      await this.#api.patchNamespacedCustomObject(
        { ...ref, namespace, name, body, fieldManager, force: true },
        setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
      );
    } catch (err) {
      throw toKubeError(err, `apply ${ref.plural} ${namespace}/${name}`);
    }
  }

  async delete(ref: ResourceRef, namespace: string, name: string): Promise<void> {
    try {
      await this.#api.deleteNamespacedCustomObject({ ...ref, namespace, name });
    } catch (err) {
      const kubeErr = toKubeError(err, `delete ${ref.plural} ${namespace}/${name}`);
      if (!isNotFound(kubeErr)) throw kubeErr;
    }
  }
}
