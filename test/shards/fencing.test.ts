/**
 * Fencing: a replica SIGSTOPped past its lease writes nothing after SIGCONT until it holds a shard
 * again. Two replicas, two shards, tokens of 20 s: while one is paused the other takes its shard and
 * refreshes its tokens; when the paused one resumes, its refresh timers are long overdue, yet its
 * Kubernetes traffic (counted by a proxy of its own) holds no write but its Leases' until its loop
 * has taken a shard again. No token ever expires, and every integration keeps one application.
 */
import { describe, expect, inject, it, vi } from "vitest";
import { crashHarness } from "../crash/harness.ts";
import { waitForCondition } from "../crash/support.ts";
import { startCountingProxy } from "../support/counting-proxy.ts";
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

const { newCase } = crashHarness({ tokenTtlSeconds: 20 });
const shards = 2;

/** Whether a counted request writes something other than a Lease. */
const isWorkWrite = (kind: string) => !/^(GET|LIST|WATCH) /.test(kind) && !kind.endsWith(" leases");

/** expires_at of each integration's token Secret, in epoch ms. */
async function tokenExpiries(namespace: string, names: readonly string[]): Promise<number[]> {
  return Promise.all(
    names.map(async (n) => {
      const secret = JSON.parse(
        await kubectlOk(["get", "secret", `${n}-token`, "-n", namespace, "-o", "json"]),
      ) as { data?: Record<string, string> };
      return Date.parse(Buffer.from(secret.data?.["expires_at"] ?? "", "base64").toString());
    }),
  );
}

describe("a replica paused past its lease", () => {
  it("writes nothing after SIGCONT until it holds a shard again", async () => {
    const c = await newCase("shards-fence");
    const proxy = await startCountingProxy(inject("kubeconfigPath"));
    try {
      const a = replica({ ...c, identity: `${c.leaseName}-a`, shards, kubeconfigPath: proxy.kubeconfigPath });
      const b = replica({ ...c, identity: `${c.leaseName}-b`, shards });
      await Promise.all([a.started, b.started]);
      const holders = await waitForHolders(
        c.namespace,
        c.leaseName,
        shards,
        oneEach([a.identity, b.identity]),
      );
      const shardOfA = holders.indexOf(a.identity);

      const names = Array.from({ length: 8 }, (_, i) => `shards-fence-${i}`);
      await kubectlOk(
        ["apply", "-f", "-"],
        names.map((n) => integrationManifest(c.namespace, n)),
      );
      await waitForCondition(c.namespace, names, "Ready", 120);
      const inA: string[] = [];
      for (const n of names) if ((await shardOfIntegration(c.namespace, n, shards)) === shardOfA) inA.push(n);
      expect(inA.length, "the paused replica's shard holds integrations").toBeGreaterThan(0);

      // Pause a; b takes its shard once the lease expires, then refreshes its tokens when due.
      const pausedAt = c.emulator.control.now();
      a.kill("SIGSTOP");
      await waitForHolders(
        c.namespace,
        c.leaseName,
        shards,
        (h) => expect(h).toEqual([b.identity, b.identity]),
        takeoverBoundMs + 10_000,
      );
      // Every token was issued after the pause (a token lives 20 s), so a's timers for them are overdue.
      await vi.waitFor(
        async () => {
          for (const expiry of await tokenExpiries(c.namespace, inA))
            expect(expiry).toBeGreaterThan(pausedAt + 20_000);
        },
        { timeout: 60_000, interval: 250 },
      );

      // Resume a: its timers are overdue and its gates shut; it must not write until it re-acquires.
      const resumedAt = Date.now();
      a.kill("SIGCONT");
      const reacquired = await vi.waitFor(
        () => {
          const line = a.logs.find((l) => l.msg === "holding a shard" && Date.parse(l.time) > resumedAt);
          expect(line, "a takes a shard again once b releases one").toBeDefined();
          return line ?? { time: "" };
        },
        { timeout: 60_000, interval: 100 },
      );
      const reacquiredAt = Date.parse(reacquired.time);
      const writes = proxy
        .answered()
        .filter((r) => r.atMs >= resumedAt && r.atMs < reacquiredAt && isWorkWrite(r.kind));
      expect(writes, "no write between SIGCONT and the re-acquire").toEqual([]);
      expect(
        proxy.answered().some((r) => r.atMs >= resumedAt && r.kind.endsWith(" leases")),
        "a's Lease loop ran after SIGCONT (its requests went through the proxy)",
      ).toBe(true);

      // Nothing was lost or duplicated, and no token expired on the way.
      await waitForHolders(c.namespace, c.leaseName, shards, oneEach([a.identity, b.identity]));
      await expectOneApplicationEach(c.emulator, c.namespace, names);
      const now = c.emulator.control.now();
      for (const expiry of await tokenExpiries(c.namespace, names)) expect(expiry).toBeGreaterThan(now);
    } finally {
      await proxy.close();
    }
  }, 300_000);
});
