/**
 * An in-memory {@link SecretStore}: Secrets kept as the API server would return them (base64 data,
 * a resourceVersion bumped on every write), `create` refusing a name that exists. Writes are counted.
 */
import type { V1Secret } from "@kubernetes/client-node";
import { KubeError } from "../../k8s/errors.ts";
import { secretApplyBody, type AppliedSecret, type SecretStore } from "../../k8s/secrets.ts";

/** {@link SecretStore} in memory. */
export class FakeSecretStore implements SecretStore {
  readonly #secrets = new Map<string, V1Secret>();
  #version = 100;
  /** Every write, as `create ns/name` or `apply ns/name`. */
  readonly writes: string[] = [];
  /** Every read from the API (`get`), as `ns/name`. */
  readonly reads: string[] = [];
  /** Called with the stored Secret after each write, as KubeSecretStore's `onWritten` is. */
  onWritten: ((secret: V1Secret) => void) | undefined;

  /** Puts a Secret in place as someone else (or an earlier run) wrote it; returns its resourceVersion. */
  put(secret: V1Secret): string {
    const resourceVersion = String(++this.#version);
    const copy = structuredClone(secret);
    copy.metadata = { ...copy.metadata, resourceVersion };
    this.#secrets.set(`${copy.metadata.namespace ?? ""}/${copy.metadata.name ?? ""}`, copy);
    return resourceVersion;
  }

  /** Every stored Secret, as a watch would deliver it (not counted as a read). */
  list(): V1Secret[] {
    return [...this.#secrets.values()].map((s) => structuredClone(s));
  }

  /** The Secret's values, decoded (for assertions). */
  values(namespace: string, name: string): Record<string, string> | undefined {
    const secret = this.#secrets.get(`${namespace}/${name}`);
    if (!secret) return undefined;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(secret.data ?? {}))
      out[k] = Buffer.from(v, "base64").toString("utf8");
    return out;
  }

  #write(secret: AppliedSecret): string {
    const body = secretApplyBody(secret) as V1Secret;
    const existing = this.#secrets.get(`${secret.namespace}/${secret.name}`);
    const drop = (values: Record<string, string> | undefined, names: readonly string[] = []) =>
      Object.fromEntries(Object.entries(values ?? {}).filter(([k]) => !names.includes(k)));
    return this.put({
      ...body,
      ...(existing?.type && secret.keepType ? { type: existing.type } : {}),
      metadata: {
        ...existing?.metadata,
        ...body.metadata,
        annotations: {
          ...drop(existing?.metadata?.annotations, secret.remove?.annotations),
          ...body.metadata?.annotations,
        },
      },
      data: { ...(secret.keepType ? drop(existing?.data, secret.remove?.data) : {}), ...body.data },
    });
  }

  #written(secret: AppliedSecret): string {
    const resourceVersion = this.#write(secret);
    const stored = this.#secrets.get(`${secret.namespace}/${secret.name}`);
    if (stored) this.onWritten?.(structuredClone(stored));
    return resourceVersion;
  }

  apply(secret: AppliedSecret): Promise<string> {
    this.writes.push(`apply ${secret.namespace}/${secret.name}`);
    return Promise.resolve(this.#written(secret));
  }

  create(secret: AppliedSecret): Promise<string> {
    this.writes.push(`create ${secret.namespace}/${secret.name}`);
    if (this.#secrets.has(`${secret.namespace}/${secret.name}`))
      return Promise.reject(
        new KubeError({
          code: "AlreadyExists",
          operation: `create Secret ${secret.namespace}/${secret.name}`,
          message: "already exists",
          status: 409,
        }),
      );
    return Promise.resolve(this.#written(secret));
  }

  get(namespace: string, name: string): Promise<V1Secret | undefined> {
    this.reads.push(`${namespace}/${name}`);
    return Promise.resolve(this.cached(namespace, name));
  }

  /** The Secret as an informer's cache holds it (no read counted). */
  cached(namespace: string, name: string): V1Secret | undefined {
    const secret = this.#secrets.get(`${namespace}/${name}`);
    return secret ? structuredClone(secret) : undefined;
  }
}
