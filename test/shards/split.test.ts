/**
 * Real operator processes with --shards=3 on one namespace: three replicas hold one shard each and
 * every integration is worked by its shard's holder only (one application each, the shard label
 * stamped on the integration, and applied with the child BearerToken: no stamp of the child); a
 * SIGKILLed replica's shard is taken over within lease + renew, and the hand-over of settled objects
 * asks DataTrails nothing at all (no token, no admin token, no read). Going from one shard to three,
 * or from three to two (labels naming the wrong shard or none), re-shards with no BearerToken refresh
 * and no DataTrails write.
 */
import { describe, expect, it, vi } from "vitest";
import { crashHarness } from "../crash/harness.ts";
import { waitForCondition } from "../crash/support.ts";
import { kubectlOk } from "../support/kubectl.ts";
import { integrationManifest } from "../support/manifests.ts";
import { startOperatorProcess } from "../support/operator-process.ts";
import { sumMetric } from "../support/metrics-text.ts";
import {
  callsSince,
  expectChildrenUnstamped,
  expectNoWriteSince,
  expectOneApplicationEach,
  leaseDurationMs,
  metricsText,
  oneEach,
  replica,
  retryPeriodMs,
  shardOfIntegration,
  sumOver,
  takeoverBoundMs,
  waitForHolders,
  waitForShardLabels,
} from "./support.ts";

const { newCase } = crashHarness();
const shards = 3;

describe("three replicas with --shards=3", () => {
  it("split the shards, work each object once, and take over a SIGKILLed replica's shard without a token request", async () => {
    const c = await newCase("shards-split");
    const procs = ["a", "b", "c"].map((x) => replica({ ...c, identity: `${c.leaseName}-${x}`, shards }));
    await Promise.all(procs.map((p) => p.started));
    const identities = procs.map((p) => p.identity);
    const holders = await waitForHolders(c.namespace, c.leaseName, shards, oneEach(identities));

    const names = Array.from({ length: 12 }, (_, i) => `shards-split-${i}`);
    await kubectlOk(
      ["apply", "-f", "-"],
      names.map((n) => integrationManifest(c.namespace, n)),
    );
    await waitForCondition(c.namespace, names, "Ready", 120);
    await expectOneApplicationEach(c.emulator, c.namespace, names);
    expect(c.emulator.control.count("applications.create"), "one create per integration").toBe(names.length);
    await waitForShardLabels(c.namespace, names, shards, true);
    // The children came with their label, from the integration's apply: none was stamped.
    await expectChildrenUnstamped(c.namespace, names);

    // Each holder counts exactly the integrations of its shard, and nobody else's.
    const shardOf = new Map<string, number>();
    for (const n of names) shardOf.set(n, await shardOfIntegration(c.namespace, n, shards));
    const perShard = (k: number) => names.filter((n) => shardOf.get(n) === k).length;
    await vi.waitFor(
      async () => {
        for (const p of procs) {
          const text = await metricsText(p);
          const k = holders.indexOf(p.identity);
          expect(sumMetric(text, "datatrails_shard_lease_held", { shard: String(k) })).toBe(1);
          expect(sumMetric(text, "datatrails_shard_lease_held")).toBe(1);
          expect(sumMetric(text, "datatrails_shard_objects", { kind: "DataTrailsIntegration" })).toBe(
            perShard(k),
          );
        }
      },
      { timeout: 15_000, interval: 250 },
    );

    // Kill the holder of the fullest shard without a chance to release it.
    const victimShard = [0, 1, 2].sort((x, y) => perShard(y) - perShard(x))[0] ?? 0;
    const victim = procs.find((p) => p.identity === holders[victimShard]);
    if (!victim) throw new Error(`no replica holds shard ${victimShard}`);
    const survivors = procs.filter((p) => p !== victim);
    const callsBefore = c.emulator.control.counters();
    const reconcilesBefore = await sumOver(survivors, "datatrails_reconcile_duration_seconds_count", {
      controller: "bearertoken",
    });
    const integrationReconcilesBefore = await sumOver(
      survivors,
      "datatrails_reconcile_duration_seconds_count",
      { controller: "datatrailsintegration" },
    );
    const refreshesBefore = await sumOver(survivors, "datatrails_token_refresh_total");
    expect(refreshesBefore, "the survivors refreshed their own shards' tokens").toBeGreaterThan(0);
    const killedAt = Date.now();
    victim.kill("SIGKILL");
    expect((await victim.exitedWithin(10_000)).signal).toBe("SIGKILL");
    const after = await waitForHolders(
      c.namespace,
      c.leaseName,
      shards,
      (h) => expect(survivors.map((p) => p.identity)).toContain(h[victimShard]),
      takeoverBoundMs + 10_000,
    );
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs, "no takeover before the lease could expire").toBeGreaterThanOrEqual(
      leaseDurationMs - 2 * retryPeriodMs,
    );
    expect(takeoverMs, `takeover within lease + renew + slack (${takeoverBoundMs} ms)`).toBeLessThan(
      takeoverBoundMs,
    );
    expect(after.filter((h) => h === victim.identity)).toEqual([]);

    // The new holder rebuilt the shard's schedules from the Secrets and status, as after a
    // restart: a reconcile per BearerToken and per integration, nothing left queued, and no
    // reconcile since the last look (none in flight)...
    let last = "";
    await vi.waitFor(
      async () => {
        const reconciles = (controller: string) =>
          sumOver(survivors, "datatrails_reconcile_duration_seconds_count", { controller });
        const tokens = await reconciles("bearertoken");
        const integrations = await reconciles("datatrailsintegration");
        const seen = last;
        last = `${tokens}/${integrations}`;
        expect(tokens).toBeGreaterThanOrEqual(reconcilesBefore + perShard(victimShard));
        expect(integrations).toBeGreaterThanOrEqual(integrationReconcilesBefore + perShard(victimShard));
        expect(await sumOver(survivors, "datatrails_shard_queue_depth")).toBe(0);
        expect(last, "quiet since the last look").toBe(seen);
      },
      { timeout: 30_000, interval: 250 },
    );
    // ...and asked DataTrails nothing: no BearerToken's token, no admin token, no application read
    // (a settled integration's first look waits its turn to be checked, as after a restart).
    expect(await sumOver(survivors, "datatrails_token_refresh_total"), "no BearerToken refresh").toBe(
      refreshesBefore,
    );
    expect(callsSince(c.emulator, callsBefore), "DataTrails calls of the hand-over").toEqual({});

    // The survivors carry on: new integrations become Ready, still one application each.
    const late = Array.from({ length: 4 }, (_, i) => `shards-split-late-${i}`);
    await kubectlOk(
      ["apply", "-f", "-"],
      late.map((n) => integrationManifest(c.namespace, n)),
    );
    await waitForCondition(c.namespace, late, "Ready", 120);
    await expectOneApplicationEach(c.emulator, c.namespace, [...names, ...late]);
    expect(c.emulator.control.count("applications.create")).toBe(names.length + late.length);
    await expectChildrenUnstamped(c.namespace, late);
  }, 300_000);

  it("going from one shard to three re-shards with no token request and no DataTrails write", async () => {
    const c = await newCase("shards-grow");
    const single = startOperatorProcess({
      watchNamespaces: [c.namespace],
      leaseName: c.leaseName,
      leaseNamespace: c.namespace,
      leaderElection: true,
      identity: `${c.leaseName}-single`,
      flags: ["--max-backoff-ms=2000"],
    });
    await single.started;
    const names = Array.from({ length: 6 }, (_, i) => `shards-grow-${i}`);
    await kubectlOk(
      ["apply", "-f", "-"],
      names.map((n) => integrationManifest(c.namespace, n)),
    );
    await waitForCondition(c.namespace, names, "Ready", 120);
    single.kill("SIGTERM");
    expect((await single.exitedWithin(30_000)).code).toBe(0);
    const callsBefore = c.emulator.control.counters();

    const procs = ["a", "b", "c"].map((x) => replica({ ...c, identity: `${c.leaseName}-${x}`, shards }));
    await Promise.all(procs.map((p) => p.started));
    await waitForHolders(c.namespace, c.leaseName, shards, oneEach(procs.map((p) => p.identity)));
    // Secrets written before the move keep no shard label until their next write.
    await waitForShardLabels(c.namespace, names, shards, false);
    // Every BearerToken is in its holder's cache and was reconciled there.
    await vi.waitFor(
      async () => {
        expect(await sumOver(procs, "datatrails_shard_objects", { kind: "BearerToken" })).toBe(names.length);
        expect(
          await sumOver(procs, "datatrails_reconcile_duration_seconds_count", { controller: "bearertoken" }),
        ).toBeGreaterThanOrEqual(names.length);
        expect(await sumOver(procs, "datatrails_shard_queue_depth")).toBe(0);
      },
      { timeout: 30_000, interval: 250 },
    );
    // No BearerToken refresh, and no DataTrails write. An integration whose first look finds its
    // child in neither cache (between the unlabelled one and its shard's, being stamped) is checked:
    // a read, and the connection's admin token once per replica.
    expect(await sumOver(procs, "datatrails_token_refresh_total"), "no BearerToken refresh").toBe(0);
    expectNoWriteSince(c.emulator, callsBefore, procs.length);
    await expectOneApplicationEach(c.emulator, c.namespace, names);
  }, 300_000);

  it("going from three shards to two hands every object on by its label, with no refresh and no DataTrails write", async () => {
    const c = await newCase("shards-shrink");
    const three = ["a", "b", "c"].map((x) => replica({ ...c, identity: `${c.leaseName}-${x}`, shards }));
    await Promise.all(three.map((p) => p.started));
    await waitForHolders(c.namespace, c.leaseName, shards, oneEach(three.map((p) => p.identity)));
    const names = Array.from({ length: 8 }, (_, i) => `shards-shrink-${i}`);
    await kubectlOk(
      ["apply", "-f", "-"],
      names.map((n) => integrationManifest(c.namespace, n)),
    );
    await waitForCondition(c.namespace, names, "Ready", 120);
    await waitForShardLabels(c.namespace, names, shards, true);
    for (const p of three) p.kill("SIGTERM");
    for (const p of three) expect((await p.exitedWithin(30_000)).code).toBe(0);
    const callsBefore = c.emulator.control.counters();

    // Labels 0 and 1 now name the wrong shard for some objects, label 2 no shard at all.
    const two = ["d", "e"].map((x) => replica({ ...c, identity: `${c.leaseName}-${x}`, shards: 2 }));
    await Promise.all(two.map((p) => p.started));
    await waitForHolders(c.namespace, c.leaseName, 2, oneEach(two.map((p) => p.identity)));
    await waitForShardLabels(c.namespace, names, 2, false);
    await vi.waitFor(
      async () => {
        expect(await sumOver(two, "datatrails_shard_objects", { kind: "DataTrailsIntegration" })).toBe(
          names.length,
        );
        expect(await sumOver(two, "datatrails_shard_objects", { kind: "BearerToken" })).toBe(names.length);
        expect(await sumOver(two, "datatrails_shard_queue_depth")).toBe(0);
      },
      { timeout: 30_000, interval: 250 },
    );
    expect(await sumOver(two, "datatrails_token_refresh_total"), "no BearerToken refresh").toBe(0);
    expectNoWriteSince(c.emulator, callsBefore, two.length);
    await expectOneApplicationEach(c.emulator, c.namespace, names);
  }, 300_000);
});
