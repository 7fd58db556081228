/**
 * The operator's label-selected Secret informer, in memory and behind by choice: it shows what a
 * {@link FakeSecretStore} holds only when told to catch up, as a watch that has not delivered yet.
 */
import type { V1Secret } from "@kubernetes/client-node";
import { managedByLabel, managedByValue } from "../../api/v1alpha1/index.ts";
import type { OwnSecretsCache } from "../../k8s/secret-cache.ts";
import type { FakeSecretStore } from "./fake-secret-store.ts";

/** {@link OwnSecretsCache} in memory. */
export class FakeSecretInformer implements OwnSecretsCache {
  readonly #cache = new Map<string, V1Secret>();
  readonly #onDelete: ((secret: V1Secret) => void)[] = [];

  get(name: string, namespace?: string): V1Secret | undefined {
    const secret = this.#cache.get(`${namespace ?? ""}/${name}`);
    return secret ? structuredClone(secret) : undefined;
  }

  on(_event: "delete", fn: (secret: V1Secret) => void): void {
    this.#onDelete.push(fn);
  }

  /** Delivers a delete event for `secret` (as the watch does when it goes or loses our label). */
  deleted(secret: V1Secret): void {
    this.#cache.delete(`${secret.metadata?.namespace ?? ""}/${secret.metadata?.name ?? ""}`);
    for (const fn of this.#onDelete) fn(structuredClone(secret));
  }

  /** Shows what `store` holds now (the operator's Secrets only), with a delete for each one gone. */
  catchUp(store: FakeSecretStore): void {
    const now = new Map(
      store
        .list()
        .filter((s) => s.metadata?.labels?.[managedByLabel] === managedByValue)
        .map((s) => [`${s.metadata?.namespace ?? ""}/${s.metadata?.name ?? ""}`, s]),
    );
    for (const [key, gone] of this.#cache)
      if (!now.has(key)) for (const fn of this.#onDelete) fn(structuredClone(gone));
    this.#cache.clear();
    for (const [key, s] of now) this.#cache.set(key, s);
  }
}
