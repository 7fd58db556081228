/**
 * The workloads spec.reload rolls (apps/v1 Deployments, StatefulSets and DaemonSets): read by name or
 * label selector at roll time (nothing is cached: watching every Deployment of the cluster would hold
 * them all in memory), and rolled by a JSON merge patch of the pod template's annotations alone, as
 * `kubectl rollout restart` does. Every failure is a KubeError (no response body).
 */
import {
  AppsV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1DaemonSet,
  type V1Deployment,
  type V1StatefulSet,
} from "@kubernetes/client-node";
import { isNotFound, toKubeError } from "./errors.ts";

/** A kind spec.reload can roll. */
export type WorkloadKind = "Deployment" | "StatefulSet" | "DaemonSet";

/** What a reload needs to know of a workload. */
export interface WorkloadView {
  kind: WorkloadKind;
  namespace: string;
  name: string;
  uid: string;
  /** spec.template.metadata.annotations. */
  templateAnnotations: Readonly<Record<string, string>>;
}

/** Reads and rolls workloads; controllers depend on this port. */
export interface Workloads {
  /** The workload, or undefined when it does not exist. */
  get(kind: WorkloadKind, namespace: string, name: string): Promise<WorkloadView | undefined>;
  /** The workloads of `kind` in `namespace` whose labels match `labelSelector` (query syntax). */
  list(kind: WorkloadKind, namespace: string, labelSelector: string): Promise<WorkloadView[]>;
  /** Merge-patches spec.template.metadata.annotations with `annotations`, touching nothing else. */
  patchTemplateAnnotations(
    kind: WorkloadKind,
    namespace: string,
    name: string,
    annotations: Readonly<Record<string, string>>,
  ): Promise<WorkloadView>;
}

type AnyWorkload = V1Deployment | V1StatefulSet | V1DaemonSet;

function viewOf(kind: WorkloadKind, w: AnyWorkload): WorkloadView {
  return {
    kind,
    namespace: w.metadata?.namespace ?? "",
    name: w.metadata?.name ?? "",
    uid: w.metadata?.uid ?? "",
    templateAnnotations: w.spec?.template.metadata?.annotations ?? {},
  };
}

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
/** The field manager of the patch, so `managedFields` says who wrote the two annotations. */
const reloadFieldManager = "datatrails-operator-reload";

/** {@link Workloads} on the Kubernetes API. */
export class KubeWorkloads implements Workloads {
  readonly #apps: AppsV1Api;

  constructor(kubeConfig: KubeConfig) {
    this.#apps = kubeConfig.makeApiClient(AppsV1Api);
  }

  async get(kind: WorkloadKind, namespace: string, name: string): Promise<WorkloadView | undefined> {
    try {
      const args = { namespace, name };
      const w: AnyWorkload =
        kind === "Deployment"
          ? await this.#apps.readNamespacedDeployment(args)
          : kind === "StatefulSet"
            ? await this.#apps.readNamespacedStatefulSet(args)
            : await this.#apps.readNamespacedDaemonSet(args);
      return viewOf(kind, w);
    } catch (err) {
      const e = toKubeError(err, `get ${kind} ${namespace}/${name}`);
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async list(kind: WorkloadKind, namespace: string, labelSelector: string): Promise<WorkloadView[]> {
    const out: WorkloadView[] = [];
    let _continue: string | undefined;
    try {
      do {
        const args = { namespace, labelSelector, limit: 500, ...(_continue ? { _continue } : {}) };
        const page =
          kind === "Deployment"
            ? await this.#apps.listNamespacedDeployment(args)
            : kind === "StatefulSet"
              ? await this.#apps.listNamespacedStatefulSet(args)
              : await this.#apps.listNamespacedDaemonSet(args);
        for (const w of page.items) out.push(viewOf(kind, w));
        _continue = page.metadata?._continue || undefined;
      } while (_continue);
    } catch (err) {
      throw toKubeError(err, `list ${kind} in ${namespace}`);
    }
    return out;
  }

  async patchTemplateAnnotations(
    kind: WorkloadKind,
    namespace: string,
    name: string,
    annotations: Readonly<Record<string, string>>,
  ): Promise<WorkloadView> {
    const body = { spec: { template: { metadata: { annotations } } } };
    const args = { namespace, name, body, fieldManager: reloadFieldManager };
    try {
      const w: AnyWorkload =
        kind === "Deployment"
          ? await this.#apps.patchNamespacedDeployment(args, mergePatch)
          : kind === "StatefulSet"
            ? await this.#apps.patchNamespacedStatefulSet(args, mergePatch)
            : await this.#apps.patchNamespacedDaemonSet(args, mergePatch);
      return viewOf(kind, w);
    } catch (err) {
      throw toKubeError(err, `patch ${kind} ${namespace}/${name}`);
    }
  }
}
