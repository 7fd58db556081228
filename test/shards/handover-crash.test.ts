/**
 * The crash protocol under shard moves: one replica holds both shards, a second joins and is handed
 * one (the first releases it at its fair share), and the newcomer is SIGKILLed right after it
 * created an application in DataTrails, before it recorded it. The first replica takes the shard
 * back once the lease expires and recovers the create by display name: one application per
 * integration, one create each, no orphan.
 */
import { describe, expect, it } from "vitest";
import { crashHarness } from "../crash/harness.ts";
import { waitForCondition } from "../crash/support.ts";
import { kubectlOk } from "../support/kubectl.ts";
import { integrationManifest } from "../support/manifests.ts";
import {
  expectOneApplicationEach,
  oneEach,
  replica,
  shardOfIntegration,
  takeoverBoundMs,
  waitForHolders,
} from "./support.ts";

const { newCase } = crashHarness();
const shards = 2;

describe("a SIGKILL during a shard hand-over", () => {
  it("leaves no duplicate and no orphan application", async () => {
    const c = await newCase("shards-handover");
    const first = replica({ ...c, identity: `${c.leaseName}-first`, shards });
    await first.started;
    await waitForHolders(c.namespace, c.leaseName, shards, (h) =>
      expect(h).toEqual([first.identity, first.identity]),
    );
    const joiner = replica({
      ...c,
      identity: `${c.leaseName}-joiner`,
      shards,
      crashAt: "after:CreateApplication",
    });
    await joiner.started;
    const holders = await waitForHolders(
      c.namespace,
      c.leaseName,
      shards,
      oneEach([first.identity, joiner.identity]),
    );
    const shardOfJoiner = holders.indexOf(joiner.identity);

    // One at a time until one lands in the joiner's shard: that one's create kills it.
    const names: string[] = [];
    for (let i = 0; i < 20; i++) {
      const name = `shards-handover-${i}`;
      await kubectlOk(["apply", "-f", "-"], integrationManifest(c.namespace, name));
      names.push(name);
      if ((await shardOfIntegration(c.namespace, name, shards)) === shardOfJoiner) break;
    }
    const exit = await joiner.exitedWithin(60_000);
    expect(exit.signal, `the joiner dies by its crash point:\n${joiner.tail()}`).toBe("SIGKILL");

    await waitForHolders(
      c.namespace,
      c.leaseName,
      shards,
      (h) => expect(h).toEqual([first.identity, first.identity]),
      takeoverBoundMs + 10_000,
    );
    await waitForCondition(c.namespace, names, "Ready", 120);
    await expectOneApplicationEach(c.emulator, c.namespace, names);
    expect(c.emulator.control.count("applications.create"), "never a second create").toBe(names.length);
  }, 300_000);
});
