/**
 * Leader election on a coordination.k8s.io/v1 Lease, the way client-go's leaderelection does it:
 *
 * - A candidate takes the lease when it is free (no holder, e.g. released) or expired, and updates it
 *   with the resourceVersion it read, so two candidates cannot both win (the loser gets 409).
 * - Expiry is judged from when *this* process last saw the lease change (its resourceVersion), plus the
 *   holder's leaseDurationSeconds, never from the timestamps in it: clocks on two nodes may disagree.
 * - The leader renews every retry period. If no renewal has succeeded within the renew deadline, or it
 *   sees another holder, it calls `onStoppedLeading` at once; the caller then exits so that all work
 *   stops. Because renewDeadline < leaseDuration, that happens before anyone else may take the lease.
 * - `stop()` releases a held lease (holder cleared) so a successor starts at once instead of waiting a
 *   full lease duration. It does not call `onStoppedLeading`: the caller is already shutting down,
 *   and must have stopped its work before calling `stop()`.
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

/** Options for {@link startLeaderElection}. */
export interface LeaderElectionOptions {
  kubeConfig: KubeConfig;
  /** Namespace of the Lease. */
  namespace: string;
  /** Name of the Lease. */
  name: string;
  /** This process's identity (pod name + random suffix), written as holderIdentity. */
  identity: string;
  /**
   * An owner for the Lease, in its namespace (in a pod: its ServiceAccount, see service-account.ts),
   * so that the garbage collector removes the Lease with what installed the operator. Set when the
   * Lease is created, and added to a Lease that has no owner yet.
   */
  owner?: V1OwnerReference;
  /** How long a lease stays valid without renewal; default 15 s. */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before giving up leadership; default 10 s. */
  renewDeadlineMs?: number;
  /** Pause between attempts to acquire or renew; default 2 s. */
  retryPeriodMs?: number;
  clock: Clock;
  logger: Logger;
  metrics?: Metrics;
  /** Random source in [0, 1) for jittering acquire attempts; default Math.random. */
  random?: () => number;
  /** Called once when this process becomes the leader. */
  onStartedLeading: () => void;
  /** Called once when leadership is lost (not on `stop()`); the caller should exit. */
  onStoppedLeading: () => void;
}

/** A running election. */
export interface LeaderElection {
  /** True while this process holds the lease. */
  isLeader(): boolean;
  /** Stops campaigning and releases the lease if held, so a successor starts at once. */
  stop(): Promise<void>;
}

/** The parts of a Lease the decision reads. */
export interface LeaseRecord {
  holderIdentity: string;
  leaseDurationSeconds: number | undefined;
  resourceVersion: string;
}

/** When this process last saw the lease change, by its resourceVersion. */
export interface LeaseObservation {
  resourceVersion: string;
  observedAtMs: number;
}

/** How a candidate sees a lease. */
export type LeaseVerdict = "free" | "expired" | "held-by-us" | "held-by-other";

/** Records a new observation when the lease changed since the last one; otherwise keeps the old one. */
export function observeLease(
  record: LeaseRecord,
  previous: LeaseObservation | undefined,
  nowMs: number,
): LeaseObservation {
  return previous?.resourceVersion === record.resourceVersion
    ? previous
    : { resourceVersion: record.resourceVersion, observedAtMs: nowMs };
}

/**
 * Decides whether `identity` may take the lease: free when nobody holds it, expired when it has not
 * changed for the holder's lease duration (or ours, when it gives none) since we observed it.
 */
export function leaseVerdict(
  record: LeaseRecord,
  observation: LeaseObservation,
  identity: string,
  nowMs: number,
  leaseDurationMs: number,
): LeaseVerdict {
  if (record.holderIdentity === "") return "free";
  if (record.holderIdentity === identity) return "held-by-us";
  const durationMs = record.leaseDurationSeconds ? record.leaseDurationSeconds * 1000 : leaseDurationMs;
  return observation.observedAtMs + durationMs <= nowMs ? "expired" : "held-by-other";
}

function recordOf(lease: V1Lease): LeaseRecord {
  return {
    holderIdentity: lease.spec?.holderIdentity ?? "",
    leaseDurationSeconds: lease.spec?.leaseDurationSeconds,
    resourceVersion: lease.metadata?.resourceVersion ?? "",
  };
}

type Attempt = "acquired" | "renewed" | "held-by-other" | "failed";

/** Starts campaigning for the lease in the background and returns a handle. */
export function startLeaderElection(options: LeaderElectionOptions): LeaderElection {
  const { namespace, name, identity, clock, logger, metrics, owner } = options;
  // A Lease keeps the owners it has; one without any gets ours.
  const ownerReferencesFor = (current: V1Lease) => {
    const refs = current.metadata?.ownerReferences ?? [];
    if (refs.length > 0) return { ownerReferences: refs };
    return owner ? { ownerReferences: [owner] } : {};
  };
  const leaseDurationMs = options.leaseDurationMs ?? 15_000;
  const renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
  const retryPeriodMs = options.retryPeriodMs ?? 2_000;
  const random = options.random ?? Math.random;
  if (!(renewDeadlineMs < leaseDurationMs))
    throw new Error("renewDeadlineMs must be shorter than leaseDurationMs");
  if (!(retryPeriodMs < renewDeadlineMs))
    throw new Error("retryPeriodMs must be shorter than renewDeadlineMs");
  const leaseDurationSeconds = Math.max(1, Math.ceil(leaseDurationMs / 1000));
  const api = options.kubeConfig.makeApiClient(CoordinationV1Api);
  const log = logger.child({ lease: `${namespace}/${name}`, identity });

  let observation: LeaseObservation | undefined;
  let leading = false;
  let stopped = false;
  let deadlineTimer: TimerHandle | undefined;
  const abort = new AbortController();

  const setLeading = (value: boolean) => {
    leading = value;
    metrics?.leaderElectionIsLeader.labels({ name }).set(value ? 1 : 0);
  };

  const lose = (why: string) => {
    if (!leading) return;
    setLeading(false);
    if (deadlineTimer !== undefined) clock.clearTimeout(deadlineTimer);
    log.warn({ why }, "lost the leader lease");
    options.onStoppedLeading();
  };

  const armDeadline = (renewStartedMs: number) => {
    if (deadlineTimer !== undefined) clock.clearTimeout(deadlineTimer);
    deadlineTimer = clock.setTimeout(
      () => lose(`no renewal succeeded within ${renewDeadlineMs} ms`),
      renewStartedMs + renewDeadlineMs - clock.now(),
    );
  };

  const desiredSpec = (nowMs: number, current: V1Lease | undefined) => {
    const ours = current?.spec?.holderIdentity === identity;
    const transitions = current?.spec?.leaseTransitions ?? 0;
    return {
      holderIdentity: identity,
      leaseDurationSeconds,
      // MicroTime must have six fractional digits; V1MicroTime serializes that way.
      renewTime: new V1MicroTime(nowMs),
      acquireTime: ours && current.spec?.acquireTime ? current.spec.acquireTime : new V1MicroTime(nowMs),
      leaseTransitions: ours || current === undefined ? transitions : transitions + 1,
    };
  };

  const tryAcquireOrRenew = async (): Promise<Attempt> => {
    const nowMs = clock.now();
    let current: V1Lease;
    try {
      current = await api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (!isNotFound(err)) {
        log.debug({ err: toKubeError(err, "read lease") }, "cannot read the lease");
        return "failed";
      }
      try {
        const created = await api.createNamespacedLease({
          namespace,
          body: {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: { name, namespace, ...(owner ? { ownerReferences: [owner] } : {}) },
            spec: desiredSpec(nowMs, undefined),
          },
        });
        observation = observeLease(recordOf(created), observation, nowMs);
        return "acquired";
      } catch (createErr) {
        log.debug({ err: toKubeError(createErr, "create lease") }, "cannot create the lease");
        return "failed";
      }
    }
    observation = observeLease(recordOf(current), observation, nowMs);
    const verdict = leaseVerdict(recordOf(current), observation, identity, nowMs, leaseDurationMs);
    if (verdict === "held-by-other") return "held-by-other";
    try {
      const updated = await api.replaceNamespacedLease({
        name,
        namespace,
        body: {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: {
            name,
            namespace,
            resourceVersion: current.metadata?.resourceVersion ?? "",
            ...(current.metadata?.labels ? { labels: current.metadata.labels } : {}),
            ...(current.metadata?.annotations ? { annotations: current.metadata.annotations } : {}),
            ...ownerReferencesFor(current),
          },
          spec: desiredSpec(nowMs, current),
        },
      });
      observation = observeLease(recordOf(updated), observation, nowMs);
      return verdict === "held-by-us" ? "renewed" : "acquired";
    } catch (err) {
      log.debug({ err: toKubeError(err, "update lease") }, "cannot update the lease");
      return "failed";
    }
  };

  // A request that hangs must not hold the loop past the renew deadline: it counts as a failure.
  const attempt = async (): Promise<Attempt> => {
    let timer: TimerHandle | undefined;
    const timeout = new Promise<Attempt>((resolve) => {
      timer = clock.setTimeout(() => resolve("failed"), renewDeadlineMs);
    });
    try {
      return await Promise.race([tryAcquireOrRenew(), timeout]);
    } finally {
      if (timer !== undefined) clock.clearTimeout(timer);
    }
  };

  const pause = async (ms: number) => {
    try {
      await sleep(clock, ms, abort.signal);
    } catch {
      // stop() aborted the pause; the loop checks `stopped` next.
    }
  };

  const campaign = async () => {
    while (!stopped) {
      const startedMs = clock.now();
      const result = await attempt();
      if (stopped) return;
      if (result === "acquired" || result === "renewed") {
        setLeading(true);
        armDeadline(startedMs);
        log.info("became the leader");
        options.onStartedLeading();
        break;
      }
      await pause(retryPeriodMs * (1 + 1.2 * random()));
    }
    while (!stopped && leading) {
      await pause(retryPeriodMs);
      if (stopped || !leading) return;
      const startedMs = clock.now();
      const result = await attempt();
      if (stopped || !leading) return;
      if (result === "renewed" || result === "acquired") armDeadline(startedMs);
      else if (result === "held-by-other") lose("another candidate holds the lease");
    }
  };

  const running = campaign().catch((err: unknown) => {
    log.error({ err }, "leader election loop failed");
    lose("the election loop failed");
  });

  const release = async () => {
    try {
      const current = await api.readNamespacedLease({ name, namespace });
      if (current.spec?.holderIdentity !== identity) return;
      const nowMs = clock.now();
      await api.replaceNamespacedLease({
        name,
        namespace,
        body: {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name, namespace, resourceVersion: current.metadata?.resourceVersion ?? "" },
          spec: {
            holderIdentity: "",
            leaseDurationSeconds: 1,
            renewTime: new V1MicroTime(nowMs),
            acquireTime: new V1MicroTime(nowMs),
            leaseTransitions: current.spec.leaseTransitions ?? 0,
          },
        },
      });
      log.info("released the leader lease");
    } catch (err) {
      log.warn(
        { err: toKubeError(err, "release lease") },
        "could not release the leader lease; it will expire",
      );
    }
  };

  return {
    isLeader: () => leading,
    async stop() {
      if (stopped) return;
      stopped = true;
      abort.abort();
      await running;
      if (deadlineTimer !== undefined) clock.clearTimeout(deadlineTimer);
      setLeading(false);
      // Also when not leading: an acquire that was in flight when stop() began may have succeeded.
      await release();
    },
  };
}
