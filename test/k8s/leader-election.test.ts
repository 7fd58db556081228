/**
 * Leader election on a real Lease: one leader at a time, a prompt hand-over when the leader stops,
 * and a leader that can no longer renew (its API server is unreachable, or another holder took the
 * lease by force) gives up within the renew deadline, before anyone else can take over.
 * Timings are shrunk to lease 4 s / renew deadline 2.5 s / retry 0.25 s: short enough for a test,
 * long enough that a loaded two-core CI machine does not miss a renewal and lose leadership.
 * Leaders are counted per Lease, so a test that fails cannot disturb the next one.
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

const leaseDurationMs = 4000;
const renewDeadlineMs = 2500;
const retryPeriodMs = 250;

interface Candidate {
  identity: string;
  lease: string;
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
  // Leadership transitions per Lease, in order, to check that two leaders never overlap.
  const leaders = new Map<string, { now: number; max: number }>();
  const leadersOf = (lease: string) => {
    let entry = leaders.get(lease);
    if (!entry) leaders.set(lease, (entry = { now: 0, max: 0 }));
    return entry;
  };
  const maxLeaders = (lease: string) => leadersOf(lease).max;

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
      lease,
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
        const count = leadersOf(lease);
        count.now++;
        count.max = Math.max(count.max, count.now);
        c.startedAt.push(Date.now());
      },
      onStoppedLeading: () => {
        leadersOf(lease).now--;
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
    if (wasLeader) leadersOf(c.lease).now--;
  };
  const readLease = (name: string) => leases.readNamespacedLease({ name, namespace });

  it("elects exactly one of two candidates, which keeps renewing the Lease", async () => {
    const lease = uniqueName("pair");
    const a = candidate(lease, "pod-a_1111");
    const b = candidate(lease, "pod-b_2222");
    await expect.poll(() => [a, b].filter((c) => c.election.isLeader()).length, { timeout: 10_000 }).toBe(1);
    const leader = a.election.isLeader() ? a : b;
    const follower = leader === a ? b : a;

    const first = await readLease(lease);
    expect(first.spec).toMatchObject({
      holderIdentity: leader.identity,
      leaseDurationSeconds: leaseDurationMs / 1000,
    });
    // MicroTime must reach the server with six fractional digits.
    expect(String(first.spec?.renewTime as unknown)).toMatch(/\.\d{6}Z$/);

    const seenVersions = new Set<string>();
    await expect
      .poll(
        async () => {
          const current = await readLease(lease);
          seenVersions.add(current.metadata?.resourceVersion ?? "");
          expect(current.spec?.holderIdentity).toBe(leader.identity);
          expect([leader.election.isLeader(), follower.election.isLeader()]).toEqual([true, false]);
          return seenVersions.size;
        },
        { timeout: 15_000, interval: 100 },
      )
      .toBeGreaterThanOrEqual(5);
    expect(maxLeaders(lease)).toBe(1);
    expect(follower.startedAt).toEqual([]);

    await stop(follower);
    await stop(leader);
  });

  it("hands over at once when the leader stops (it releases the Lease)", async () => {
    const lease = uniqueName("handover");
    const a = candidate(lease, "pod-a_3333");
    await expect.poll(() => a.election.isLeader(), { timeout: 10_000 }).toBe(true);
    const b = candidate(lease, "pod-b_4444");

    const stoppedAt = Date.now();
    await stop(a);
    await expect.poll(() => b.election.isLeader(), { timeout: 10_000 }).toBe(true);

    const takeoverMs = (b.startedAt[0] ?? Infinity) - stoppedAt;
    expect(takeoverMs).toBeLessThan(leaseDurationMs + 2.2 * retryPeriodMs);
    // Released rather than expired: far sooner than a lease duration.
    expect(takeoverMs).toBeLessThan(leaseDurationMs / 2);
    expect(a.stoppedAt).toEqual([]);
    const after = await readLease(lease);
    expect(after.spec).toMatchObject({ holderIdentity: "pod-b_4444", leaseTransitions: 1 });
    expect(maxLeaders(lease)).toBe(1);
    await stop(b);
  });

  it("a leader cut off from the API server stops within the renew deadline, before the successor starts", async () => {
    const lease = uniqueName("cutoff");
    const proxy = await startTcpProxy(kc);
    try {
      const a = candidate(lease, "pod-a_5555", kubeConfigVia(kc, proxy.url));
      await expect.poll(() => a.election.isLeader(), { timeout: 10_000 }).toBe(true);
      const b = candidate(lease, "pod-b_6666");
      await expect
        .poll(async () => (await readLease(lease)).spec?.holderIdentity, { timeout: 10_000 })
        .toBe("pod-a_5555");

      const cutAt = Date.now();
      await proxy.cut();

      await expect.poll(() => a.stoppedAt.length, { timeout: 10_000 }).toBe(1);
      await expect.poll(() => b.election.isLeader(), { timeout: 15_000 }).toBe(true);

      const aStopped = a.stoppedAt[0] ?? Infinity;
      const bStarted = b.startedAt[0] ?? -Infinity;
      // It gives up once its renew deadline passes (plus a retry period and scheduling slack).
      expect(aStopped - cutAt).toBeLessThanOrEqual(renewDeadlineMs + retryPeriodMs + 1000);
      expect(aStopped).toBeLessThan(bStarted);
      // The successor waited for the lease to expire (judged from its own observations).
      expect(bStarted - cutAt).toBeGreaterThanOrEqual(leaseDurationMs - retryPeriodMs - 300);
      expect(a.election.isLeader()).toBe(false);
      expect(maxLeaders(lease)).toBe(1);
      await stop(a);
      await stop(b);
    } finally {
      await proxy.close();
    }
  });

  it("a leader whose Lease was taken over by force stops within the renew deadline", async () => {
    const lease = uniqueName("forced");
    const a = candidate(lease, "pod-a_7777");
    await expect.poll(() => a.election.isLeader(), { timeout: 10_000 }).toBe(true);

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

    await expect.poll(() => a.stoppedAt.length, { timeout: 10_000 }).toBe(1);
    expect((a.stoppedAt[0] ?? Infinity) - takenAt).toBeLessThanOrEqual(renewDeadlineMs);
    expect(a.election.isLeader()).toBe(false);
    // It does not fight back: the intruder still holds the lease.
    expect((await readLease(lease)).spec?.holderIdentity).toBe("intruder");
    await a.election.stop();
    expect((await readLease(lease)).spec?.holderIdentity).toBe("intruder");
  });
});
