/**
 * The shard Lease loop (docs/design.md, "Shards"): every retry period one LIST of the install's Leases
 * (label datatrails.ai/lease-group), a renew of this replica's membership Lease, then what planShards
 * decides: renew the shards kept, release the ones above the fair share (after their running work has
 * drained), take free or expired ones. Every take or renew is a replace with the resourceVersion just
 * read, so two replicas never both win a shard; expiry is judged from this replica's own observation of
 * each Lease's resourceVersion (leader-election.ts), never from the timestamps in it.
 */
import {
  CoordinationV1Api,
  V1MicroTime,
  type KubeConfig,
  type V1Lease,
  type V1OwnerReference,
} from "@kubernetes/client-node";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import { sleep, type Clock, type TimerHandle } from "./clock.ts";
import { isNotFound, toKubeError } from "./errors.ts";
import { leaseVerdict, observeLease, type LeaseObservation } from "./leader-election.ts";
import type { ShardGate } from "./shard-gate.ts";
import {
  leaseGroupLabel,
  leaseGroupOf,
  memberLeaseName,
  planShards,
  shardLeaseName,
  type ShardLeaseState,
} from "./shards.ts";

/** Options of {@link startShardLeases}. */
export interface ShardLeasesOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  /** The base name: shard Leases are `<name>-shard-<k>`, members `<name>-member-<hash>`. */
  leaseName: string;
  identity: string;
  shards: number;
  owner?: V1OwnerReference;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  gate: ShardGate;
  clock: Clock;
  logger: Logger;
  metrics?: Metrics;
  /** Called when a shard's gate opens (taken, or renewed again after it shut): enqueue its objects. */
  onGained(shard: number): void;
  /** Called when a shard is lost or released: drop its caches. */
  onLost(shard: number): void;
}

/** The running loop. */
export interface ShardLeases {
  /** Shards whose Lease this replica holds and whose gate is open. */
  held(): number[];
  /** Stops the loop and releases every held shard and the membership Lease (work must have stopped). */
  stop(): Promise<void>;
}

const shardPattern = /-shard-(\d+)$/;

/** Starts the loop in the background. */
export function startShardLeases(options: ShardLeasesOptions): ShardLeases {
  const { namespace, leaseName, identity, shards, gate, clock, logger, metrics, owner } = options;
  const api = options.kubeConfig.makeApiClient(CoordinationV1Api);
  const log = logger.child({ leaseGroup: leaseName, identity });
  const group = leaseGroupOf(leaseName);
  const leaseDurationSeconds = Math.max(1, Math.ceil(options.leaseDurationMs / 1000));
  const memberName = memberLeaseName(leaseName, identity);
  const observations = new Map<string, LeaseObservation>();
  const open = new Set<number>();
  const abort = new AbortController();
  let stopped = false;

  const setHeld = (shard: number, held: boolean) => {
    metrics?.shardLeaseHeld.labels({ shard: String(shard) }).set(held ? 1 : 0);
  };
  for (let k = 0; k < shards; k++) setHeld(k, false);

  const leaseBody = (name: string, current: V1Lease | undefined, holder: string, nowMs: number): V1Lease => {
    const ours = current?.spec?.holderIdentity === holder && holder !== "";
    const transitions = current?.spec?.leaseTransitions ?? 0;
    const refs = current?.metadata?.ownerReferences ?? (owner ? [owner] : []);
    return {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: {
        name,
        namespace,
        ...(current?.metadata?.resourceVersion ? { resourceVersion: current.metadata.resourceVersion } : {}),
        labels: { ...current?.metadata?.labels, [leaseGroupLabel]: group },
        ...(refs.length > 0 ? { ownerReferences: refs } : {}),
      },
      spec: {
        holderIdentity: holder,
        leaseDurationSeconds: holder === "" ? 1 : leaseDurationSeconds,
        renewTime: new V1MicroTime(nowMs),
        acquireTime: ours && current?.spec?.acquireTime ? current.spec.acquireTime : new V1MicroTime(nowMs),
        leaseTransitions: ours || current === undefined ? transitions : transitions + 1,
      },
    };
  };

  /** Creates or replaces `name` for `holder`; true when the API server took the write. */
  const write = async (name: string, current: V1Lease | undefined, holder: string): Promise<boolean> => {
    const nowMs = clock.now();
    try {
      const written = current
        ? await api.replaceNamespacedLease({ name, namespace, body: leaseBody(name, current, holder, nowMs) })
        : await api.createNamespacedLease({ namespace, body: leaseBody(name, undefined, holder, nowMs) });
      observations.set(name, observeLease(recordOf(written), observations.get(name), clock.now()));
      return true;
    } catch (err) {
      log.debug({ err: toKubeError(err, `write lease ${name}`) }, "cannot write a shard lease");
      return false;
    }
  };

  const removeStaleMember = async (lease: V1Lease) => {
    const name = lease.metadata?.name ?? "";
    try {
      await api.deleteNamespacedLease({
        name,
        namespace,
        body: { preconditions: { resourceVersion: lease.metadata?.resourceVersion ?? "" } },
      });
      observations.delete(name);
    } catch (err) {
      log.debug({ err: toKubeError(err, `delete lease ${name}`) }, "could not remove a stale member lease");
    }
  };

  const lose = (shard: number, why: string) => {
    gate.close(shard);
    if (open.delete(shard)) {
      setHeld(shard, false);
      log.warn({ shard, why }, "lost a shard");
      options.onLost(shard);
    }
  };

  const round = async () => {
    const startedMs = clock.now();
    const list = await api.listNamespacedLease({ namespace, labelSelector: `${leaseGroupLabel}=${group}` });
    const nowMs = clock.now();
    const byName = new Map(list.items.map((l) => [l.metadata?.name ?? "", l]));
    const leases = new Map<number, ShardLeaseState>();
    let liveMembers = 1;
    const stale: V1Lease[] = [];
    for (const [name, lease] of byName) {
      const record = recordOf(lease);
      const observation = observeLease(record, observations.get(name), nowMs);
      observations.set(name, observation);
      const verdict = leaseVerdict(record, observation, identity, nowMs, options.leaseDurationMs);
      const shard = shardPattern.exec(name)?.[1];
      if (shard !== undefined) {
        const k = Number(shard);
        if (k < shards) leases.set(k, { holder: record.holderIdentity, expired: verdict === "expired" });
      } else if (name !== memberName && verdict === "held-by-other") liveMembers++;
      else if (name !== memberName && verdict === "expired") stale.push(lease);
    }
    // A replica that died leaves its membership Lease behind; whoever sees it expired removes it.
    for (const lease of stale) await removeStaleMember(lease);
    await write(memberName, byName.get(memberName), identity);

    const plan = planShards({ shards, identity, liveMembers, leases });
    for (const k of open)
      if (!plan.keep.includes(k) && !plan.release.includes(k)) lose(k, "another replica holds it");
    for (const k of plan.keep) {
      const name = shardLeaseName(leaseName, k);
      const wasOpen = gate.isOpen(k);
      if (await write(name, byName.get(name), identity)) {
        gate.renewed(k, startedMs);
        if (!open.has(k) || !wasOpen) gained(k);
      }
    }
    for (const k of plan.release) await release(k, byName.get(shardLeaseName(leaseName, k)));
    for (const k of plan.acquire) {
      const name = shardLeaseName(leaseName, k);
      if (await write(name, byName.get(name), identity)) {
        gate.renewed(k, startedMs);
        gained(k);
      }
    }
  };

  const gained = (shard: number) => {
    open.add(shard);
    setHeld(shard, true);
    log.info({ shard }, "holding a shard");
    options.onGained(shard);
  };

  // The gate shuts first, then running work drains, then the Lease is given up for the next holder.
  const release = async (shard: number, current: V1Lease | undefined) => {
    gate.close(shard);
    open.delete(shard);
    setHeld(shard, false);
    await gate.drained(shard);
    if (current?.spec?.holderIdentity === identity) {
      await write(shardLeaseName(leaseName, shard), current, "");
      log.info({ shard }, "released a shard");
    }
    options.onLost(shard);
  };

  // A request that hangs must not hold the loop past the renew deadline.
  const boundedRound = async () => {
    let timer: TimerHandle | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = clock.setTimeout(resolve, options.renewDeadlineMs);
    });
    try {
      await Promise.race([round(), timeout]);
    } catch (err) {
      log.debug({ err: toKubeError(err, "list shard leases") }, "shard lease round failed");
    } finally {
      if (timer !== undefined) clock.clearTimeout(timer);
    }
  };

  const running = (async () => {
    while (!stopped) {
      await boundedRound();
      try {
        await sleep(clock, options.retryPeriodMs, abort.signal);
      } catch {
        // stop() aborted the pause.
      }
    }
  })();

  return {
    held: () => [...open].filter((k) => gate.isOpen(k)).sort((a, b) => a - b),
    async stop() {
      if (stopped) return;
      stopped = true;
      abort.abort();
      await running;
      for (const k of [...open]) {
        const name = shardLeaseName(leaseName, k);
        try {
          await release(k, await api.readNamespacedLease({ name, namespace }));
        } catch (err) {
          if (!isNotFound(err))
            log.warn({ err: toKubeError(err, "release shard") }, "could not release a shard");
        }
      }
      try {
        await api.deleteNamespacedLease({ name: memberName, namespace });
      } catch (err) {
        if (!isNotFound(err))
          log.debug({ err: toKubeError(err, "delete member lease") }, "member lease left to expire");
      }
    },
  };
}

function recordOf(lease: V1Lease) {
  return {
    holderIdentity: lease.spec?.holderIdentity ?? "",
    leaseDurationSeconds: lease.spec?.leaseDurationSeconds,
    resourceVersion: lease.metadata?.resourceVersion ?? "",
  };
}
