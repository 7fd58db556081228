/**
 * Leader election on a real Lease: one leader at a time, a prompt hand-over when the leader stops,
 * and a leader that can no longer renew (its API server is unreachable, or another holder took the
 * lease by force) gives up within the renew deadline, before anyone else can take over.
 * Timings are shrunk to lease 2 s / renew deadline 1 s / retry 0.2 s.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CoordinationV1Api, V1MicroTime, type KubeConfig } from "@kubernetes/client-node";
import { createRealClock } from "../../src/k8s/clock.ts";
import { startLeaderElection, type LeaderElection } from "../../src/k8s/leader-election.ts";
import { createMetrics } from "../../src/observability/metrics.ts";
import {
  capturingLogger,
  createNamespace,
  kubeConfigVia,
  sharedKubeConfig,
  startTcpProxy,
  uniqueName,
} from "./support.ts";

const leaseDurationMs = 2000;
const renewDeadlineMs = 1000;
const retryPeriodMs = 200;

interface Candidate {
  identity: string;
  election: LeaderElection;
  startedAt: number[];
  stoppedAt: number[];
}

describe("startLeaderElection", () => {
  const kc = sharedKubeConfig();
  const leases = kc.makeApiClient(CoordinationV1Api);
  const namespace = uniqueName("k8s-leader");
  let deleteNamespace: () => Promise<void>;
  const running: Candidate[] = [];
  // Everyone's leadership transitions in order, to check that two never overlap.
  let leaders = 0;
  let maxLeaders = 0;

  beforeAll(async () => {
    deleteNamespace = await createNamespace(kc, namespace);
  });
  afterAll(async () => {
    await Promise.all(running.map((c) => c.election.stop()));
    await deleteNamespace();
  });

  const candidate = (lease: string, identity: string, kubeConfig: KubeConfig = kc): Candidate => {
    const { logger } = capturingLogger("warn");
    const c: Candidate = {
      identity,
      startedAt: [],
      stoppedAt: [],
      election: undefined as unknown as LeaderElection,
    };
    c.election = startLeaderElection({
      kubeConfig,
      namespace,
      name: lease,
      identity,
      leaseDurationMs,
      renewDeadlineMs,
      retryPeriodMs,
      clock: createRealClock(),
      logger,
      metrics: createMetrics({ defaultMetrics: false }),
      onStartedLeading: () => {
        leaders++;
        maxLeaders = Math.max(maxLeaders, leaders);
        c.startedAt.push(Date.now());
      },
      onStoppedLeading: () => {
        leaders--;
        c.stoppedAt.push(Date.now());
      },
    });
    running.push(c);
    return c;
  };
  const stop = async (c: Candidate) => {
    const wasLeader = c.election.isLeader();
    await c.election.stop();
    // stop() does not call onStoppedLeading (the caller is shutting down), so account for it here.
    if (wasLeader) leaders--;
  };
  const readLease = (name: string) => leases.readNamespacedLease({ name, namespace });

  it("elects exactly one of two candidates, which keeps renewing the Lease", async () => {
    const lease = uniqueName("pair");
    leaders = 0;
    maxLeaders = 0;
    const a = candidate(lease, "pod-a_1111");
    const b = candidate(lease, "pod-b_2222");
    await expect.poll(() => [a, b].filter((c) => c.election.isLeader()).length).toBe(1);
    const leader = a.election.isLeader() ? a : b;
    const follower = leader === a ? b : a;

    const first = await readLease(lease);
    expect(first.spec).toMatchObject({ holderIdentity: leader.identity, leaseDurationSeconds: 2 });
    // MicroTime must reach the server with six fractional digits.
    expect(String(first.spec?.renewTime as unknown)).toMatch(/\.\d{6}Z$/);

    const seenVersions = new Set<string>();
    await expect
      .poll(async () => {
        const current = await readLease(lease);
        seenVersions.add(current.metadata?.resourceVersion ?? "");
        expect(current.spec?.holderIdentity).toBe(leader.identity);
        expect([leader.election.isLeader(), follower.election.isLeader()]).toEqual([true, false]);
        return seenVersions.size;
      })
      .toBeGreaterThanOrEqual(5);
    expect(maxLeaders).toBe(1);
    expect(follower.startedAt).toEqual([]);

    await stop(follower);
    await stop(leader);
  });

  it("hands over at once when the leader stops (it releases the Lease)", async () => {
    const lease = uniqueName("handover");
    leaders = 0;
    maxLeaders = 0;
    const a = candidate(lease, "pod-a_3333");
    await expect.poll(() => a.election.isLeader()).toBe(true);
    const b = candidate(lease, "pod-b_4444");

    const stoppedAt = Date.now();
    await stop(a);
    await expect.poll(() => b.election.isLeader()).toBe(true);

    const takeoverMs = (b.startedAt[0] ?? Infinity) - stoppedAt;
    expect(takeoverMs).toBeLessThan(leaseDurationMs + 2.2 * retryPeriodMs);
    // Released rather than expired: far sooner than a lease duration.
    expect(takeoverMs).toBeLessThan(leaseDurationMs / 2);
    expect(a.stoppedAt).toEqual([]);
    const after = await readLease(lease);
    expect(after.spec).toMatchObject({ holderIdentity: "pod-b_4444", leaseTransitions: 1 });
    expect(maxLeaders).toBe(1);
    await stop(b);
  });

  it("a leader cut off from the API server stops within the renew deadline, before the successor starts", async () => {
    const lease = uniqueName("cutoff");
    leaders = 0;
    maxLeaders = 0;
    const proxy = await startTcpProxy(kc);
    try {
      const a = candidate(lease, "pod-a_5555", kubeConfigVia(kc, proxy.url));
      await expect.poll(() => a.election.isLeader()).toBe(true);
      const b = candidate(lease, "pod-b_6666");
      await expect.poll(async () => (await readLease(lease)).spec?.holderIdentity).toBe("pod-a_5555");

      const cutAt = Date.now();
      await proxy.cut();

      await expect.poll(() => a.stoppedAt.length, { timeout: 5000 }).toBe(1);
      await expect.poll(() => b.election.isLeader(), { timeout: 10_000 }).toBe(true);

      const aStopped = a.stoppedAt[0] ?? Infinity;
      const bStarted = b.startedAt[0] ?? -Infinity;
      expect(aStopped - cutAt).toBeLessThanOrEqual(renewDeadlineMs + 250);
      expect(aStopped).toBeLessThan(bStarted);
      // The successor waited for the lease to expire (judged from its own observations).
      expect(bStarted - cutAt).toBeGreaterThanOrEqual(leaseDurationMs - retryPeriodMs - 300);
      expect(a.election.isLeader()).toBe(false);
      expect(maxLeaders).toBe(1);
      await stop(a);
      await stop(b);
    } finally {
      await proxy.close();
    }
  });

  it("a leader whose Lease was taken over by force stops within the renew deadline", async () => {
    const lease = uniqueName("forced");
    leaders = 0;
    const a = candidate(lease, "pod-a_7777");
    await expect.poll(() => a.election.isLeader()).toBe(true);

    const current = await readLease(lease);
    const takenAt = Date.now();
    await leases.replaceNamespacedLease({
      name: lease,
      namespace,
      body: {
        ...current,
        spec: { ...current.spec, holderIdentity: "intruder", renewTime: new V1MicroTime(Date.now()) },
      },
    });

    await expect.poll(() => a.stoppedAt.length, { timeout: 5000 }).toBe(1);
    expect((a.stoppedAt[0] ?? Infinity) - takenAt).toBeLessThanOrEqual(renewDeadlineMs);
    expect(a.election.isLeader()).toBe(false);
    // It does not fight back: the intruder still holds the lease.
    expect((await readLease(lease)).spec?.holderIdentity).toBe("intruder");
    await a.election.stop();
    expect((await readLease(lease)).spec?.holderIdentity).toBe("intruder");
  });
});
