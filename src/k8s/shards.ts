/**
 * Shards: which shard an object belongs to, and what a replica does with the shard Leases it sees.
 * Pure functions only (docs/design.md, "Shards"); shard-leases.ts runs them in a loop against the API
 * server, shard-gate.ts fences the writes.
 *
 * An object's shard is FNV-1a of `namespace/uid` of its root, mod N. The root of a BearerToken or a
 * Secret an integration made is that integration (its controller ownerReference), so one replica owns
 * the whole tree.
 */
import type { KubernetesObject } from "@kubernetes/client-node";

/** The label that records an object's shard, `datatrails.ai/shard: "<k>"`. */
export const shardLabel = "datatrails.ai/shard";

/** The label every shard and member Lease of one operator install carries. */
export const leaseGroupLabel = "datatrails.ai/lease-group";

/** FNV-1a, 32 bit, of the UTF-8 bytes of `text`: stable across processes, versions and platforms. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, "utf8")) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The shard of a root key (`namespace/uid`) among `shards` shards. */
export function shardOf(rootKey: string, shards: number): number {
  return shards <= 1 ? 0 : fnv1a32(rootKey) % shards;
}

// The kinds whose objects are the root of the tree below them.
const rootKinds = new Set(["DataTrailsIntegration"]);

/**
 * `namespace/uid` of the object's root: its controller owner when that is a DataTrailsIntegration,
 * else the object itself. Undefined without a uid (not yet created).
 */
export function rootKeyOf(obj: KubernetesObject): string | undefined {
  const namespace = obj.metadata?.namespace ?? "";
  const owner = (obj.metadata?.ownerReferences ?? []).find(
    (o) => o.controller === true && rootKinds.has(o.kind),
  );
  const uid = owner?.uid ?? obj.metadata?.uid;
  return uid ? `${namespace}/${uid}` : undefined;
}

/** The object's shard, or undefined when it has no uid yet. */
export function objectShard(obj: KubernetesObject, shards: number): number | undefined {
  const root = rootKeyOf(obj);
  return root === undefined ? undefined : shardOf(root, shards);
}

/**
 * The shard label an object is written with among `shards` shards: none with one shard (a
 * single-shard install writes exactly what it wrote before sharding), none without a uid yet.
 */
export function shardLabels(obj: KubernetesObject, shards: number): Record<string, string> {
  const shard = shards > 1 ? objectShard(obj, shards) : undefined;
  return shard === undefined ? {} : { [shardLabel]: String(shard) };
}

/** Whether the object's shard label is missing or no longer says its shard (after N changed). */
export function needsShardLabel(obj: KubernetesObject, shards: number): boolean {
  const shard = objectShard(obj, shards);
  return shard !== undefined && obj.metadata?.labels?.[shardLabel] !== String(shard);
}

/** Most shards one replica should hold: ceil(shards / live replicas). */
export function fairShare(shards: number, liveMembers: number): number {
  return Math.ceil(shards / Math.max(1, liveMembers));
}

/** Name of shard k's Lease. */
export function shardLeaseName(leaseName: string, shard: number): string {
  return `${leaseName}-shard-${shard}`;
}

/** Name of a replica's membership Lease (identities may hold characters names may not). */
export function memberLeaseName(leaseName: string, identity: string): string {
  return `${leaseName}-member-${fnv1a32(identity).toString(16).padStart(8, "0")}`;
}

/** The value of {@link leaseGroupLabel}: the lease name, or its hash when too long for a label. */
export function leaseGroupOf(leaseName: string): string {
  return leaseName.length <= 63 ? leaseName : `h-${fnv1a32(leaseName).toString(16)}`;
}

/** How this replica sees one shard's Lease. */
export interface ShardLeaseState {
  /** Empty when released; the Lease may also not exist yet (then the shard is absent from the map). */
  holder: string;
  /** Unchanged for the holder's lease duration since this replica saw it change. */
  expired: boolean;
}

/** What {@link planShards} decides from. */
export interface ShardView {
  shards: number;
  identity: string;
  /** Replicas whose membership Lease is live, this one included. */
  liveMembers: number;
  /** Shard Leases by shard; a shard without a Lease is free. */
  leases: ReadonlyMap<number, ShardLeaseState>;
}

/** What to do this round: renew `keep`, release `release`, try to take `acquire`. */
export interface ShardPlan {
  keep: number[];
  release: number[];
  acquire: number[];
}

/**
 * This replica's order of preference among shards: a hash of identity and shard, so that replicas
 * starting at once reach for different shards instead of all racing for shard 0.
 */
export function preferenceOrder(identity: string, shards: number): number[] {
  return Array.from({ length: shards }, (_, k) => k).sort(
    (a, b) => fnv1a32(`${identity}#${a}`) - fnv1a32(`${identity}#${b}`) || a - b,
  );
}

/**
 * Keeps what this replica holds up to its fair share and releases the rest (least preferred first);
 * below its share it takes free or expired shards, most preferred first. A shard another live holder
 * renews is never taken: a replica over its share releases it instead.
 */
export function planShards(view: ShardView): ShardPlan {
  const order = preferenceOrder(view.identity, view.shards);
  const share = fairShare(view.shards, view.liveMembers);
  const held = order.filter((k) => view.leases.get(k)?.holder === view.identity);
  const keep = held.slice(0, share);
  const release = held.slice(share);
  const takeable = order.filter((k) => {
    const lease = view.leases.get(k);
    return lease === undefined || lease.holder === "" || (lease.holder !== view.identity && lease.expired);
  });
  const acquire = takeable.slice(0, Math.max(0, share - keep.length));
  return { keep, release, acquire };
}

/**
 * Whether work for a shard may write at `nowMs`: only before the last successful renew's start plus
 * the renew deadline. Others count the lease duration (longer) from when they saw that renew, so the
 * gate shuts before any of them may take the shard.
 */
export function gateIsOpen(
  renewStartedMs: number | undefined,
  nowMs: number,
  renewDeadlineMs: number,
): boolean {
  return renewStartedMs !== undefined && nowMs < renewStartedMs + renewDeadlineMs;
}
