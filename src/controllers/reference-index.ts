/**
 * Which objects name which other objects, kept current from informer events, so that an event on
 * the named object (a Secret, a connection) maps to the keys to reconcile without scanning every
 * cached object (controller-runtime's field indexes do the same job).
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { ResilientInformer } from "../k8s/informer.ts";
import { keyOf } from "./controller.ts";

/** A many-to-many index from referrer keys to the references they hold (`namespace/name` strings). */
export class ReferenceIndex {
  readonly #byRef = new Map<string, Set<string>>();
  readonly #byReferrer = new Map<string, readonly string[]>();

  /** Records that `referrer` names exactly `refs` (replacing what it named before). */
  set(referrer: string, refs: readonly string[]): void {
    this.delete(referrer);
    const unique = [...new Set(refs)];
    if (unique.length === 0) return;
    this.#byReferrer.set(referrer, unique);
    for (const ref of unique) {
      let set = this.#byRef.get(ref);
      if (!set) this.#byRef.set(ref, (set = new Set()));
      set.add(referrer);
    }
  }

  /** Forgets `referrer`. */
  delete(referrer: string): void {
    for (const ref of this.#byReferrer.get(referrer) ?? []) {
      const set = this.#byRef.get(ref);
      set?.delete(referrer);
      if (set?.size === 0) this.#byRef.delete(ref);
    }
    this.#byReferrer.delete(referrer);
  }

  /** The referrers that name `ref`. */
  referrersOf(ref: string): string[] {
    return [...(this.#byRef.get(ref) ?? [])];
  }

  /** What `referrer` names. */
  refsOf(referrer: string): readonly string[] {
    return this.#byReferrer.get(referrer) ?? [];
  }
}

/**
 * Keeps `index` in step with `informer`: each object's key maps to `refsOf(object)`. Register before
 * the informer starts, so the first list is indexed too.
 */
export function indexInformer<T extends KubernetesObject>(
  informer: ResilientInformer<T>,
  index: ReferenceIndex,
  refsOf: (obj: T) => readonly string[],
): void {
  const put = (obj: T) => index.set(keyOf(obj), refsOf(obj));
  informer.on("add", put);
  informer.on("update", put);
  informer.on("delete", (obj) => index.delete(keyOf(obj)));
  for (const obj of informer.list()) put(obj);
}
