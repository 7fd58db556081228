/**
 * What the informer caches keep of each object: only the fields some controller reads, copied into
 * a fresh object when the object enters the cache (list or watch event), so the rest of what the
 * API server sends (`metadata.managedFields`, which alone is often larger than the spec; the
 * `kubectl.kubernetes.io/last-applied-configuration` copy of the whole object; metadata such as
 * `generateName` or `deletionGracePeriodSeconds`) is garbage as soon as the event has been handled. One whitelist per kind, typed against the
 * kind's own type so a misspelt field does not compile; src/k8s/cache-shape.test.ts and the
 * integration reconciler's seam tests (src/controllers/testing/integration-world.ts) run on shaped
 * objects, so a controller that starts reading a dropped field fails there.
 *
 * Custom kinds keep spec and status whole (their schemas parse them), the metadata the
 * controllers use (identity, generation, deletion, finalizers, owners), and their labels and
 * annotations but kubectl's copy: the controllers read the `datatrails.ai/…` requests, and the
 * controller loop (controllers/controller.ts) reconciles an object whose labels or annotations
 * changed, so a user's `kubectl annotate` still wakes it. The operator's own Secrets (the only ones cached: the informer selects the
 * managed-by label; a user's Secret is never cached, only its metadata is watched by
 * secret-feed.ts) keep their type, labels and annotations: the token controller reads its
 * annotations back and compares a template's labels and annotations, and the ownership checks read
 * the holder annotations and owner references. They keep their data too but for token Secrets: the
 * token is needed only to reshape the Secret (read then with a GET), so a token Secret keeps instead
 * what reading it back needs of its values, computed as it enters the cache (`reduce`).
 */
import type { KubernetesObject, V1ObjectMeta, V1Secret } from "@kubernetes/client-node";
import type {
  BearerToken,
  ClusterDataTrailsConnection,
  DataTrailsConnection,
  DataTrailsIntegration,
} from "../api/v1alpha1/index.ts";
import { withoutTokenValues } from "../controllers/token/secret.ts";

/** The annotation `kubectl apply` (client side) writes: a copy of the whole applied object. */
export const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration";

/** What one kind's cache keeps. */
export interface CacheShape<T extends KubernetesObject> {
  /** Top-level fields besides `apiVersion`, `kind` and `metadata`. */
  readonly fields: readonly Exclude<keyof T, "apiVersion" | "kind" | "metadata">[];
  /** Metadata fields (labels and annotations are filtered below). */
  readonly metadata: readonly Exclude<keyof V1ObjectMeta, "labels" | "annotations">[];
  /** Whether a label is kept. */
  readonly label: (key: string) => boolean;
  /** Whether an annotation is kept. */
  readonly annotation: (key: string) => boolean;
  /** A last cut of the shaped copy, for what whitelists cannot say (a token Secret's values). */
  readonly reduce?: (shaped: T) => T;
}

/** Metadata every cached kind keeps. */
const commonMetadata = [
  "name",
  "namespace",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "finalizers",
  "ownerReferences",
] as const satisfies readonly (keyof V1ObjectMeta)[];

const everyLabel = () => true;
const notKubectlCopy = (key: string) => key !== lastAppliedAnnotation;

function customShape<T extends KubernetesObject & { spec?: unknown; status?: unknown }>(): CacheShape<T> {
  return {
    fields: ["spec", "status"] as Exclude<keyof T, "apiVersion" | "kind" | "metadata">[],
    metadata: commonMetadata,
    label: everyLabel,
    annotation: notKubectlCopy,
  };
}

/** DataTrailsIntegration: spec, status, identity and lifecycle, labels, annotations but kubectl's copy. */
export const integrationCacheShape = customShape<DataTrailsIntegration & KubernetesObject>();
/** BearerToken: the same. */
export const bearerTokenCacheShape = customShape<BearerToken & KubernetesObject>();
/** DataTrailsConnection: the same. */
export const connectionCacheShape = customShape<DataTrailsConnection & KubernetesObject>();
/** ClusterDataTrailsConnection: the same. */
export const clusterConnectionCacheShape = customShape<ClusterDataTrailsConnection & KubernetesObject>();

/**
 * The operator's own Secrets: their values and every label and annotation but kubectl's copy;
 * token Secrets without their values, with what reading them back needs computed from them
 * (controllers/token/secret.ts `withoutTokenValues`).
 */
export const secretCacheShape: CacheShape<V1Secret> = {
  fields: ["data", "type", "immutable"],
  metadata: commonMetadata,
  label: everyLabel,
  annotation: notKubectlCopy,
  reduce: withoutTokenValues,
};

function pick(
  record: Readonly<Record<string, string>> | undefined,
  keep: (key: string) => boolean,
): Record<string, string> | undefined {
  if (!record) return undefined;
  let out: Record<string, string> | undefined;
  for (const [key, value] of Object.entries(record)) if (keep(key)) (out ??= {})[key] = value;
  return out;
}

/** A copy of `obj` holding only what `shape` keeps (values are shared, not cloned). */
export function shapeForCache<T extends KubernetesObject>(obj: T, shape: CacheShape<T>): T {
  const source = obj as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  if (obj.apiVersion !== undefined) out.apiVersion = obj.apiVersion;
  if (obj.kind !== undefined) out.kind = obj.kind;
  const meta = (obj.metadata ?? {}) as Record<string, unknown>;
  const metadata: Record<string, unknown> = {};
  for (const key of shape.metadata) if (meta[key] !== undefined) metadata[key] = meta[key];
  const labels = pick(obj.metadata?.labels, shape.label);
  if (labels) metadata.labels = labels;
  const annotations = pick(obj.metadata?.annotations, shape.annotation);
  if (annotations) metadata.annotations = annotations;
  out.metadata = metadata;
  for (const key of shape.fields as readonly string[]) if (source[key] !== undefined) out[key] = source[key];
  return shape.reduce ? shape.reduce(out as unknown as T) : (out as unknown as T);
}
