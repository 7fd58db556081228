/**
 * Two real operator processes with leader election on one Lease and one namespace: only the leader
 * works, ten integrations created at once get exactly one application each, and when the leader is
 * SIGKILLed the other takes over within the lease protocol's bound and carries on, still without a
 * duplicate. Lease 3 s / renew deadline 2 s / retry 0.5 s.
 */
import { CoordinationV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { startEmulator, type RunningEmulator } from "../../src/emulator/index.ts";
import { reportFigures } from "../chaos/support.ts";
import { installCrds, kubectlOk } from "../support/kubectl.ts";
import {
  killOperatorProcesses,
  startOperatorProcess,
  type OperatorProcess,
} from "../support/operator-process.ts";
import {
  applicationsOwnedBy,
  createNamespaceWithConnection,
  deleteNamespace,
  expectRecovered,
  getIntegration,
  uniqueName,
  waitForCondition,
} from "./support.ts";
import { integrationManifest } from "../support/manifests.ts";

const leaseDurationMs = 3000;
const renewDeadlineMs = 2000;
const retryPeriodMs = 500;
// A candidate sees the old leader's lease expire at most leaseDuration after its last renewal and
// tries every retryPeriod × (1 + 1.2 × jitter); the slack covers API calls and a loaded machine.
const takeoverBoundMs = leaseDurationMs + 3 * retryPeriodMs + 5000;
// It cannot take over sooner: it last saw the leader renew at most one (jittered) retry before the kill.
const takeoverFloorMs = leaseDurationMs - 3 * retryPeriodMs;

const namespace = uniqueName("crash-leader");
const leaseName = uniqueName("crash-leader-lease");
let emulator: RunningEmulator;

beforeAll(async () => {
  await installCrds();
  emulator = await startEmulator();
  await createNamespaceWithConnection(namespace, emulator);
});
afterAll(async () => {
  await killOperatorProcesses();
  await emulator?.close();
  await deleteNamespace(namespace);
});

function candidate(identity: string): OperatorProcess {
  return startOperatorProcess({
    watchNamespaces: [namespace],
    leaseName,
    leaseNamespace: namespace,
    leaderElection: true,
    identity,
    flags: [
      `--lease-duration-ms=${leaseDurationMs}`,
      `--renew-deadline-ms=${renewDeadlineMs}`,
      `--retry-period-ms=${retryPeriodMs}`,
      "--max-backoff-ms=2000",
    ],
  });
}

async function leaseHolder(): Promise<string | undefined> {
  const kc = new KubeConfig();
  kc.loadFromFile(inject("kubeconfigPath"));
  const lease = await kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: leaseName, namespace });
  return lease.spec?.holderIdentity;
}

/** Every integration has exactly one application (by claim and by name) and a working secret. */
async function expectOneApplicationEach(names: string[]): Promise<void> {
  for (const name of names) await expectRecovered(emulator, namespace, name);
  const uids = await Promise.all(names.map(async (n) => (await getIntegration(namespace, n)).metadata.uid));
  expect(uids.flatMap((uid) => applicationsOwnedBy(emulator, uid))).toHaveLength(names.length);
  // Everything but the seeded admin integration is one of ours.
  expect(emulator.control.applications()).toHaveLength(names.length + 1);
  expect(emulator.control.count("applications.create"), "one create per integration, never two").toBe(
    names.length,
  );
}

describe("two operator processes with leader election", () => {
  it("only the leader works, and a SIGKILLed leader's successor takes over and carries on", async () => {
    const a = candidate("crash-leader-a");
    const b = candidate("crash-leader-b");
    await Promise.all([a.started, b.started]);
    const leader = await vi.waitFor(
      () => {
        const leaders = [a, b].filter((p) => p.findLog("controllers started"));
        expect(leaders).toHaveLength(1);
        return leaders[0] as OperatorProcess;
      },
      { timeout: 30_000, interval: 100 },
    );
    const follower = leader === a ? b : a;
    expect(await leaseHolder()).toBe(leader.identity);

    // Ten at once, while both run.
    const names = Array.from({ length: 10 }, (_, i) => `crash-leader-${i}`);
    await kubectlOk(
      ["apply", "-f", "-"],
      names.map((n) => integrationManifest(namespace, n)),
    );
    await waitForCondition(namespace, names, "Ready", 120);
    await expectOneApplicationEach(names);
    expect(follower.findLog("controllers started"), "the follower never started its controllers").toBe(
      undefined,
    );
    expect(follower.findLog("became the leader")).toBe(undefined);
    expect(await leaseHolder()).toBe(leader.identity);

    // Kill the leader without a chance to release the lease: the follower must wait for it to expire.
    const killedAt = Date.now();
    leader.kill("SIGKILL");
    expect((await leader.exitedWithin(10_000)).signal).toBe("SIGKILL");
    const takeover = await follower.waitForLog("controllers started", takeoverBoundMs + 10_000);
    const takeoverMs = Date.parse(takeover.time) - killedAt;
    expect(takeoverMs, `no takeover before the lease expired (${takeoverFloorMs} ms)`).toBeGreaterThanOrEqual(
      takeoverFloorMs,
    );
    expect(takeoverMs, `takeover within lease + retries + slack (${takeoverBoundMs} ms)`).toBeLessThan(
      takeoverBoundMs,
    );
    expect(await leaseHolder()).toBe(follower.identity);

    // The new leader works: a new integration becomes Ready, and still nothing is duplicated.
    const late = "crash-leader-late";
    await kubectlOk(["apply", "-f", "-"], integrationManifest(namespace, late));
    await waitForCondition(namespace, [late], "Ready", 60);
    await expectOneApplicationEach([...names, late]);
    expect(follower.findLog("lost the leader lease")).toBe(undefined);
    reportFigures("leader-takeover", undefined, {
      leaseDurationMs,
      takeoverMs,
      takeoverFloorMs,
      takeoverBoundMs,
      integrations: names.length + 1,
      creates: emulator.control.count("applications.create"),
      applications: emulator.control.applications().length - 1,
    });
  }, 180_000);
});
