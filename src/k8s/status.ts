/**
 * Writing `status` of the operator's custom resources. Status is written only when it changes
 * (every write bumps resourceVersion, wakes every watcher and would re-trigger our own reconcile), so
 * {@link statusChanged} compares old and new ignoring a lone `lastTransitionTime` difference (the
 * controllers set conditions through src/controllers/conditions.ts, which moves
 * `lastTransitionTime` only when the status flips). This module holds no condition helpers.
 *
 * The write is a JSON merge patch of the `/status` subresource, which cannot touch spec or metadata.
 * A merge patch leaves out what it does not mention, so fields present before and absent now are
 * sent as null to remove them.
 */
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from "@kubernetes/client-node";
import { toKubeError } from "./errors.ts";

/** A status object: plain JSON. */
export type StatusObject = Readonly<Record<string, unknown>>;

// A canonical form: keys sorted, undefined dropped, conditions sorted by type without lastTransitionTime.
function canonical(value: unknown, key?: string): unknown {
  if (Array.isArray(value)) {
    const items = value.map((item) => canonical(item));
    if (key === "conditions") {
      return items
        .map((c) => {
          if (c === null || typeof c !== "object") return c;
          const { lastTransitionTime: _ignored, ...rest } = c as Record<string, unknown>;
          return rest;
        })
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    }
    return items;
  }
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) {
    const item = (value as Record<string, unknown>)[k];
    if (item !== undefined) out[k] = canonical(item, k);
  }
  return out;
}

/** True when `next` differs from `previous` in anything but conditions' lastTransitionTime. */
export function statusChanged(previous: StatusObject | undefined, next: StatusObject): boolean {
  return JSON.stringify(canonical(previous ?? {})) !== JSON.stringify(canonical(next));
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value);

/** A merge patch that turns `previous` into `next`: all of `next`, plus null for every field it dropped. */
export function statusMergePatch(
  previous: StatusObject | undefined,
  next: StatusObject,
): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(next)) {
    if (value === undefined) continue;
    const before = previous?.[key];
    patch[key] = isPlainObject(value) && isPlainObject(before) ? statusMergePatch(before, value) : value;
  }
  for (const key of Object.keys(previous ?? {})) {
    if (next[key] === undefined && previous?.[key] !== undefined) patch[key] = null;
  }
  return patch;
}

/** Options for {@link patchStatus}. */
export interface PatchStatusOptions {
  kubeConfig: KubeConfig;
  group: string;
  version: string;
  plural: string;
  /** Omit for cluster-scoped kinds. */
  namespace?: string;
  name: string;
  /** The whole desired status. */
  status: StatusObject;
  /** The status as last read; when given, nothing is written if it equals `status`, and dropped fields are removed. */
  previous?: StatusObject;
}

/** Merge-patches the `/status` subresource; returns false (and writes nothing) when status is unchanged. */
export async function patchStatus(options: PatchStatusOptions): Promise<boolean> {
  const { group, version, plural, namespace, name, status, previous } = options;
  if (previous !== undefined && !statusChanged(previous, status)) return false;
  const api = options.kubeConfig.makeApiClient(CustomObjectsApi);
  const body = { status: statusMergePatch(previous, status) };
  const contentType = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
  try {
    if (namespace === undefined) {
      await api.patchClusterCustomObjectStatus({ group, version, plural, name, body }, contentType);
    } else {
      await api.patchNamespacedCustomObjectStatus(
        { group, version, namespace, plural, name, body },
        contentType,
      );
    }
  } catch (err) {
    throw toKubeError(err, `patch status of ${plural}.${group} ${namespace ? `${namespace}/` : ""}${name}`);
  }
  return true;
}
