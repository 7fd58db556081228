/**
 * What the shard tests share: operator processes with --shards (lease 3 s / renew deadline 2 s /
 * retry 0.5 s), the holders of the shard Leases as the API server has them, each process's /metrics,
 * and the shard an integration belongs to by the operator's own hash.
 */
import { CoordinationV1Api, KubeConfig } from "@kubernetes/client-node";
import { expect, inject, vi } from "vitest";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { fieldManager } from "../../src/api/v1alpha1/index.ts";
import { objectShard, shardLabel, shardLeaseName } from "../../src/k8s/shards.ts";
import { applicationsOwnedBy, expectRecovered, getIntegration } from "../crash/support.ts";
import { kubectlOk } from "../support/kubectl.ts";
import { sumMetric } from "../support/metrics-text.ts";
import { startOperatorProcess, type OperatorProcess } from "../support/operator-process.ts";

export const leaseDurationMs = 3000;
export const renewDeadlineMs = 2000;
export const retryPeriodMs = 500;
/**
 * A replica sees a dead holder's Lease expire at most a lease duration after it last changed, and
 * looks every retry period; the slack covers API calls and a loaded machine.
 */
export const takeoverBoundMs = leaseDurationMs + renewDeadlineMs + 3 * retryPeriodMs + 5000;

/** How to start one sharded replica. */
export interface ReplicaOptions {
  namespace: string;
  leaseName: string;
  identity: string;
  shards: number;
  /** Another kubeconfig (a counting proxy's); the control plane's when absent. */
  kubeconfigPath?: string;
  crashAt?: string;
}

/** Starts `node src/main.ts run --shards=N` on the namespace; await `started` before relying on it. */
export function replica(o: ReplicaOptions): OperatorProcess {
  return startOperatorProcess({
    watchNamespaces: [o.namespace],
    leaseName: o.leaseName,
    leaseNamespace: o.namespace,
    leaderElection: true,
    identity: o.identity,
    ...(o.crashAt !== undefined ? { crashAt: o.crashAt } : {}),
    flags: [
      `--shards=${o.shards}`,
      `--lease-duration-ms=${leaseDurationMs}`,
      `--renew-deadline-ms=${renewDeadlineMs}`,
      `--retry-period-ms=${retryPeriodMs}`,
      "--max-backoff-ms=2000",
      "--log-level=debug",
      ...(o.kubeconfigPath ? [`--kubeconfig=${o.kubeconfigPath}`] : []),
    ],
  });
}

function coordination(): CoordinationV1Api {
  const kc = new KubeConfig();
  kc.loadFromFile(inject("kubeconfigPath"));
  return kc.makeApiClient(CoordinationV1Api);
}

/** The holderIdentity of each shard's Lease ("" when released or not created yet). */
export async function shardHolders(namespace: string, leaseName: string, shards: number): Promise<string[]> {
  const api = coordination();
  return Promise.all(
    Array.from({ length: shards }, async (_, k) => {
      try {
        const lease = await api.readNamespacedLease({ name: shardLeaseName(leaseName, k), namespace });
        return lease.spec?.holderIdentity ?? "";
      } catch {
        return "";
      }
    }),
  );
}

/** Waits until the shard Leases are held as `check` wants; returns the holders. */
export async function waitForHolders(
  namespace: string,
  leaseName: string,
  shards: number,
  check: (holders: string[]) => void,
  timeoutMs = 60_000,
): Promise<string[]> {
  return vi.waitFor(
    async () => {
      const holders = await shardHolders(namespace, leaseName, shards);
      check(holders);
      return holders;
    },
    { timeout: timeoutMs, interval: 100 },
  );
}

/** Each of `identities` holds exactly one of the shards (one shard each, all held). */
export function oneEach(identities: readonly string[]) {
  return (holders: string[]) => expect([...holders].sort()).toEqual([...identities].sort());
}

/** The /metrics text of a started replica. */
export async function metricsText(proc: OperatorProcess): Promise<string> {
  const port = Number((await proc.started)["metricsPort"]);
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  return res.text();
}

/** The shard of an integration, by the operator's hash of its namespace/uid. */
export async function shardOfIntegration(namespace: string, name: string, shards: number): Promise<number> {
  const obj = await getIntegration(namespace, name);
  const shard = objectShard({ metadata: { namespace, uid: obj.metadata.uid } }, shards);
  if (shard === undefined) throw new Error(`${namespace}/${name} has no uid`);
  return shard;
}

/** The DataTrails routes that write. */
export const dataTrailsWrites = [
  "applications.create",
  "applications.update",
  "applications.delete",
  "applications.regenerateSecret",
] as const;

/** Every named integration has exactly one application and a working secret; no application else. */
export async function expectOneApplicationEach(
  emulator: RunningEmulator,
  namespace: string,
  names: readonly string[],
): Promise<void> {
  for (const name of names) await expectRecovered(emulator, namespace, name);
  const uids = await Promise.all(names.map(async (n) => (await getIntegration(namespace, n)).metadata.uid));
  expect(uids.flatMap((uid) => applicationsOwnedBy(emulator, uid))).toHaveLength(names.length);
  // Everything but the seeded admin integration is one of ours: no orphan.
  expect(emulator.control.applications()).toHaveLength(names.length + 1);
}

/** The `datatrails.ai/shard` label of an object, as kubectl reads it. */
export async function shardLabelOf(
  namespace: string,
  kind: string,
  name: string,
): Promise<string | undefined> {
  const obj = JSON.parse(await kubectlOk(["get", kind, name, "-n", namespace, "-o", "json"])) as {
    metadata: { labels?: Record<string, string> };
  };
  return obj.metadata.labels?.[shardLabel];
}

/**
 * Waits until every integration and its BearerToken carry the shard label the hash gives, and with
 * `secrets` the credentials and token Secrets too (written by a sharded replica).
 */
export async function waitForShardLabels(
  namespace: string,
  names: readonly string[],
  shards: number,
  secrets: boolean,
) {
  await vi.waitFor(
    async () => {
      for (const name of names) {
        const expected = String(await shardOfIntegration(namespace, name, shards));
        expect(await shardLabelOf(namespace, "datatrailsintegration", name), name).toBe(expected);
        expect(await shardLabelOf(namespace, "bearertoken", name), `${name}'s BearerToken`).toBe(expected);
        if (secrets) {
          expect(await shardLabelOf(namespace, "secret", `${name}-credentials`)).toBe(expected);
          expect(await shardLabelOf(namespace, "secret", `${name}-token`)).toBe(expected);
        }
      }
    },
    { timeout: 60_000, interval: 250 },
  );
}

/** Sums a metric over replicas' /metrics. */
export async function sumOver(
  procs: readonly OperatorProcess[],
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const texts = await Promise.all(procs.map(metricsText));
  return texts.reduce((sum, text) => sum + sumMetric(text, name, labels), 0);
}

/** The emulator's calls since `before` (a snapshot of its counters), by route; none: `{}`. */
export function callsSince(
  emulator: RunningEmulator,
  before: Readonly<Record<string, number>>,
): Record<string, number> {
  return Object.fromEntries(
    Object.entries(emulator.control.counters())
      .map(([route, n]) => [route, n - (before[route] ?? 0)] as const)
      .filter(([, n]) => n !== 0),
  );
}

/** No DataTrails write since `before`, and at most `tokens` token requests (admin tokens). */
export function expectNoWriteSince(
  emulator: RunningEmulator,
  before: Readonly<Record<string, number>>,
  tokens: number,
): void {
  const calls = callsSince(emulator, before);
  expect(dataTrailsWrites.filter((route) => calls[route] !== undefined)).toEqual([]);
  expect(calls["token"] ?? 0).toBeLessThanOrEqual(tokens);
}

/**
 * Every named integration's BearerToken got its shard label from the integration's own apply: the
 * label's only manager is the operator's apply (a stamp would be a merge patch, an Update).
 */
export async function expectChildrenUnstamped(namespace: string, names: readonly string[]) {
  for (const name of names) {
    const obj = JSON.parse(
      await kubectlOk(["get", "bearertoken", name, "-n", namespace, "--show-managed-fields", "-o", "json"]),
    ) as {
      metadata: {
        managedFields?: { manager?: string; operation?: string; fieldsV1?: { "f:metadata"?: FieldsV1 } }[];
      };
    };
    const labelManagers = (obj.metadata.managedFields ?? [])
      .filter((f) => f.fieldsV1?.["f:metadata"]?.["f:labels"]?.[`f:${shardLabel}`] !== undefined)
      .map((f) => `${f.manager ?? ""} ${f.operation ?? ""}`);
    expect(labelManagers, `${name}'s BearerToken shard label`).toEqual([`${fieldManager} Apply`]);
  }
}

type FieldsV1 = { "f:labels"?: Record<string, unknown> };
