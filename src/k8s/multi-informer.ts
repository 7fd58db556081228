/**
 * One informer per namespace behind the interface of one informer, for an operator limited to a
 * list of namespaces: its RBAC then grants list/watch only there, and a cluster-wide watch would be
 * forbidden.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { InformerEvent, ResilientInformer } from "./informer.ts";

/** Combines per-namespace informers (keyed by namespace) into one. */
export function combineInformers<T extends KubernetesObject>(
  byNamespace: ReadonlyMap<string, ResilientInformer<T>>,
): ResilientInformer<T> {
  const all = [...byNamespace.values()];
  return {
    start: async () => {
      await Promise.all(all.map((i) => i.start()));
    },
    stop: async () => {
      await Promise.all(all.map((i) => i.stop()));
    },
    hasSynced: () => all.every((i) => i.hasSynced()),
    list: () => all.flatMap((i) => i.list()),
    get: (name: string, namespace?: string) =>
      namespace === undefined ? undefined : byNamespace.get(namespace)?.get(name, namespace),
    on: (event: InformerEvent, fn: (obj: T) => void) => {
      for (const i of all) i.on(event, fn);
    },
    restarts: () => all.reduce((sum, i) => sum + i.restarts(), 0),
  };
}
