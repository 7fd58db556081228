/**
 * The integration a reconcile acts on, from the informer's cache whenever that cannot be older than
 * this process's own last write to it, from the API server otherwise (docs/design.md, "Reads that
 * see the operator's own writes").
 *
 * Each write of the integration controller to an integration (a metadata patch: finalizer, the
 * create-started annotation; a status write) is recorded with what it wrote. While a record is
 * kept, the cached copy is used only once it shows every recorded field as written (finalizers,
 * the annotations named, the whole status): then the record goes. A cache that does not show them
 * yet is read past (one GET), and what the GET returned becomes the record to wait for. A write that
 * failed leaves the object unknown: the next read is a GET. Only what the controller writes is
 * compared; a user's change to the spec or an annotation wakes the object through its own event.
 */
import type { DataTrailsIntegration } from "../../api/v1alpha1/index.ts";
import { statusChanged, type StatusObject } from "../../k8s/status.ts";

/** What this process last wrote to one integration (absent fields: not written). */
interface Written {
  finalizers?: readonly string[];
  annotations?: Readonly<Record<string, string>>;
  status?: object;
}

/** Where the integration is read from. */
interface OwnWritesDeps {
  /** The informer's copy. */
  cached(namespace: string, name: string): DataTrailsIntegration | undefined;
  /** The API server's. */
  fetch(namespace: string, name: string): Promise<DataTrailsIntegration | undefined>;
}

/** The integration reads and write records of one controller. */
interface OwnWrites {
  read(namespace: string, name: string): Promise<DataTrailsIntegration | undefined>;
  /** Runs `write`, recording `written` when it succeeds and the object as unknown when it fails. */
  track<T>(namespace: string, name: string, written: Written, write: () => Promise<T>): Promise<T>;
}

function shows(obj: DataTrailsIntegration, w: Written): boolean {
  if (w.finalizers && JSON.stringify(obj.metadata.finalizers ?? []) !== JSON.stringify(w.finalizers))
    return false;
  for (const [k, v] of Object.entries(w.annotations ?? {}))
    if (obj.metadata.annotations?.[k] !== v) return false;
  return !w.status || !statusChanged(obj.status ?? {}, w.status as StatusObject);
}

/** {@link OwnWrites} over a cache and the API server. */
export function ownWrites(deps: OwnWritesDeps): OwnWrites {
  const records = new Map<string, Written | "unknown">();
  return {
    async read(namespace, name) {
      const key = `${namespace}/${name}`;
      const record = records.get(key);
      const cached = deps.cached(namespace, name);
      if (cached && record === undefined) return cached;
      if (cached && record !== "unknown" && record && shows(cached, record)) {
        records.delete(key);
        return cached;
      }
      const fresh = await deps.fetch(namespace, name);
      if (!fresh) records.delete(key);
      else if (record !== undefined || !cached)
        // Wait for the cache to show what the API server just did (the record's fields only).
        records.set(key, {
          finalizers: fresh.metadata.finalizers ?? [],
          ...(record !== "unknown" && record?.annotations
            ? {
                annotations: Object.fromEntries(
                  Object.keys(record.annotations).map((k) => [k, fresh.metadata.annotations?.[k] ?? ""]),
                ),
              }
            : {}),
          status: fresh.status ?? {},
        });
      return fresh;
    },
    async track(namespace, name, written, write) {
      const key = `${namespace}/${name}`;
      const before = records.get(key);
      records.set(key, "unknown");
      const result = await write();
      // Unknown before (a write that failed, not read since) stays unknown: only a read settles it.
      if (before === "unknown") return result;
      const previous = before ?? {};
      records.set(key, {
        ...previous,
        ...written,
        ...(previous.annotations || written.annotations
          ? { annotations: { ...previous.annotations, ...written.annotations } }
          : {}),
      });
      return result;
    },
  };
}
