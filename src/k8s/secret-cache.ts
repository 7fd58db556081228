/**
 * Secret look-ups without a GET on the hot path. A reconcile must see its own last write, which a
 * plain informer read does not promise (the watch event may not have arrived yet); a GET for every
 * look-up does, at the cost of a request per Secret per reconcile. This module answers from what is
 * already known, in this order:
 *
 * 1. The operator's own last write of the Secret (the object the API server returned), kept only
 *    until the informer's copy has caught up with it (same or later resourceVersion) or the informer
 *    reports the Secret gone. So the reconcile that follows a write reads that write.
 * 2. The informer over the operator's own Secrets (selected by the managed-by label).
 * 3. Secrets users supply (client credentials, keys, admin Secrets: no label of ours), read once with
 *    a GET and then kept while the metadata-only Secret watch (secret-feed.ts) reports no change to
 *    them: any event with another resourceVersion, or a deletion, drops the entry, and the next
 *    look-up reads it again. Only namespaces the watch covers are kept; others are always read.
 *    A watch event that arrives while the GET is in flight drops what that GET returns, so a
 *    change is never hidden by a read that started before it.
 *
 * `{ fresh: true }` always reads from the API (callers do so when the token endpoint refuses the
 * credentials the cache gave them). Values stay in memory only for the Secrets looked up.
 *
 * `{ toCreate: true }` is for the name of a Secret a reconcile will create if it is absent (an
 * object's first look at its output Secret): a name that no cache holds and that the namespace's
 * Secret names do not show is answered as absent without a GET. The names are listed once per
 * namespace (metadata only, no values) and kept up to date from the metadata-only watch: every name
 * it reports is added, and a deletion newer than the list removes it. What this can get wrong is a
 * Secret made a moment ago whose event has not arrived yet, the same race a GET before the create
 * has (a Secret made between the two), and it is settled the same way: the create is a POST, which
 * the API server refuses for a name that exists, so a Secret that is not ours is never written.
 */
import type { V1Secret } from "@kubernetes/client-node";
import { managedByLabel, managedByValue } from "../api/v1alpha1/index.ts";

/** How a Secret is looked up. */
export interface LookupOptions {
  /** Read from the API server, not from any cache. */
  fresh?: boolean;
  /** A name the caller creates (POST) when absent: a name the namespace's Secrets do not show is absent without a GET. */
  toCreate?: boolean;
}

/** Looks a Secret up as the API server has it (see the module comment for where the answer comes from). */
export type SecretLookup = (
  namespace: string,
  name: string,
  options?: LookupOptions,
) => Promise<V1Secret | undefined>;

/** The parts of the operator's Secret informer this module reads. */
export interface OwnSecretsCache {
  get(name: string, namespace?: string): V1Secret | undefined;
  on(event: "delete", fn: (secret: V1Secret) => void): void;
}

/** What the cache is made from. */
export interface SecretCacheOptions {
  /** The operator's own Secrets (label-selected informer). */
  informer: OwnSecretsCache;
  /** Reads a Secret from the API server (undefined when it does not exist). */
  get(namespace: string, name: string): Promise<V1Secret | undefined>;
  /** Whether the metadata-only Secret watch covers the namespace (then user Secrets are kept). */
  watched(namespace: string): boolean;
  /**
   * The names of the namespace's Secrets and the list's resourceVersion (a metadata-only list);
   * without it, `toCreate` look-ups read from the API server like any other.
   */
  listNames?: (namespace: string) => Promise<{ names: string[]; resourceVersion: string | undefined }>;
}

/** A Secret event from the metadata-only watch. */
export interface SecretChange {
  namespace: string;
  name: string;
  resourceVersion?: string;
  deleted?: boolean;
}

/** The Secret look-up the controllers share, and the two hooks that keep it true. */
export interface SecretCache {
  lookup: SecretLookup;
  /** The operator wrote this Secret (the API server's answer to its apply or create). */
  wrote(secret: V1Secret): void;
  /** The metadata-only watch saw a change (or the Secret's first appearance) of a Secret. */
  changed(change: SecretChange): void;
}

const keyOf = (namespace: string, name: string) => `${namespace}/${name}`;

/** The Secret names of one namespace: listed once, then kept by the watch's events. */
interface NamespaceNames {
  known: Set<string>;
  listing: Promise<Set<string> | undefined>;
  /** The list's resourceVersion once it answered ("" when it gave none: no deletion removes a name). */
  listedAt: string | undefined;
}

/**
 * Whether resourceVersion `a` is at least `b`. ResourceVersions are etcd revisions, integers that
 * grow with every write; anything else is compared for equality only.
 */
export function atLeast(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  if (a === b) return true;
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) >= BigInt(b);
}

/** What is kept of a user's Secret: everything but managedFields, which nothing reads. */
function kept(secret: V1Secret): V1Secret {
  const { managedFields: _unread, ...metadata } = secret.metadata ?? {};
  return { ...secret, metadata };
}

const isOwn = (secret: V1Secret) => secret.metadata?.labels?.[managedByLabel] === managedByValue;

/** Builds the cache; see the module comment. */
export function createSecretCache(options: SecretCacheOptions): SecretCache {
  /** The operator's last writes the informer has not shown yet. */
  const written = new Map<string, V1Secret>();
  /** User Secrets read once and unchanged since (undefined: known not to exist). */
  const users = new Map<string, V1Secret | undefined>();
  /** Keys being read right now, and whether the watch reported a change meanwhile. */
  const reading = new Map<string, { changed: boolean }>();
  /** Per namespace, the Secret names listed and reported since (for `toCreate`; see the module comment). */
  const names = new Map<string, NamespaceNames>();

  /** The names of a watched namespace's Secrets, listed on first use; undefined when the list failed. */
  async function namesOf(namespace: string): Promise<Set<string> | undefined> {
    if (!options.listNames || !options.watched(namespace)) return undefined;
    let entry = names.get(namespace);
    if (!entry) {
      const known = new Set<string>();
      const listing = options.listNames(namespace).then(
        (list) => {
          for (const n of list.names) known.add(n);
          if (entry) entry.listedAt = list.resourceVersion ?? "";
          return known;
        },
        () => {
          // Listed again at the next look-up; until then, a GET answers.
          names.delete(namespace);
          return undefined;
        },
      );
      entry = { known, listing, listedAt: undefined };
      names.set(namespace, entry);
    }
    return entry.listing;
  }

  options.informer.on("delete", (s) => {
    const key = keyOf(s.metadata?.namespace ?? "", s.metadata?.name ?? "");
    const mine = written.get(key);
    // A delete of a version older than our write (we made the Secret again) leaves the write.
    const newer = mine && !atLeast(s.metadata?.resourceVersion, mine.metadata?.resourceVersion);
    if (!newer) written.delete(key);
  });

  async function read(namespace: string, name: string): Promise<V1Secret | undefined> {
    const key = keyOf(namespace, name);
    const keep = options.watched(namespace);
    const mark = { changed: false };
    if (keep) reading.set(key, mark);
    try {
      const secret = await options.get(namespace, name);
      if (keep && !mark.changed && !(secret && isOwn(secret))) users.set(key, secret && kept(secret));
      else users.delete(key);
      return secret;
    } finally {
      if (reading.get(key) === mark) reading.delete(key);
    }
  }

  return {
    async lookup(namespace, name, lookupOptions) {
      if (lookupOptions?.fresh) return read(namespace, name);
      const key = keyOf(namespace, name);
      const cached = options.informer.get(name, namespace);
      const mine = written.get(key);
      if (mine) {
        if (!cached || !atLeast(cached.metadata?.resourceVersion, mine.metadata?.resourceVersion))
          return mine;
        written.delete(key);
      }
      if (cached) return cached;
      if (users.has(key)) return users.get(key);
      if (lookupOptions?.toCreate) {
        const known = await namesOf(namespace);
        if (known && !known.has(name)) return undefined;
      }
      return read(namespace, name);
    },
    wrote(secret) {
      const key = keyOf(secret.metadata?.namespace ?? "", secret.metadata?.name ?? "");
      const cached = options.informer.get(secret.metadata?.name ?? "", secret.metadata?.namespace);
      users.delete(key);
      if (cached && atLeast(cached.metadata?.resourceVersion, secret.metadata?.resourceVersion)) return;
      written.set(key, secret);
    },
    changed(change) {
      const listed = names.get(change.namespace);
      if (listed && !change.deleted) listed.known.add(change.name);
      // A deletion older than the list may describe a name made again since: it stays.
      else if (listed?.listedAt !== undefined && atLeast(change.resourceVersion, listed.listedAt))
        listed.known.delete(change.name);
      const key = keyOf(change.namespace, change.name);
      const mark = reading.get(key);
      if (mark) mark.changed = true;
      if (!users.has(key)) return;
      const held = users.get(key);
      if (change.deleted || !held || held.metadata?.resourceVersion !== change.resourceVersion)
        users.delete(key);
    },
  };
}
