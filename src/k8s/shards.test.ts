import { describe, expect, it } from "vitest";
import {
  fairShare,
  fnv1a32,
  gateIsOpen,
  memberLeaseName,
  needsShardLabel,
  objectShard,
  planShards,
  preferenceOrder,
  rootKeyOf,
  shardLabel,
  shardLabels,
  shardOf,
  type ShardLeaseState,
} from "./shards.ts";

const integration = (uid: string, labels?: Record<string, string>) => ({
  apiVersion: "datatrails.ai/v1alpha1",
  kind: "DataTrailsIntegration",
  metadata: { namespace: "team-a", name: "app", uid, ...(labels ? { labels } : {}) },
});

describe("fnv1a32", () => {
  it.each([
    { name: "the empty string", text: "", hash: 0x811c9dc5 },
    { name: "a", text: "a", hash: 0xe40c292c },
    { name: "foobar", text: "foobar", hash: 0xbf9cf968 },
  ])("matches the published FNV-1a test vector for $name", ({ text, hash }) => {
    expect(fnv1a32(text)).toBe(hash);
  });
});

describe("shardOf", () => {
  it("puts everything in shard 0 with one shard", () => {
    expect(shardOf("team-a/1234", 1)).toBe(0);
  });

  it("spreads 3,000 uids over 3 shards within 10 % of a third each", () => {
    const counts = [0, 0, 0];
    for (let i = 0; i < 3000; i++) {
      const k = shardOf(`team-${i % 7}/${i.toString(16).padStart(8, "0")}-uid`, 3);
      counts[k] = (counts[k] ?? 0) + 1;
    }
    for (const n of counts) expect(Math.abs(n - 1000)).toBeLessThan(100);
  });
});

describe("rootKeyOf", () => {
  it.each([
    { name: "an integration is its own root", obj: integration("u-1"), root: "team-a/u-1" },
    {
      name: "a BearerToken an integration controls has the integration as its root",
      obj: {
        kind: "BearerToken",
        metadata: {
          namespace: "team-a",
          uid: "t-1",
          ownerReferences: [
            { apiVersion: "v", kind: "DataTrailsIntegration", name: "app", uid: "u-1", controller: true },
          ],
        },
      },
      root: "team-a/u-1",
    },
    {
      name: "an owner that is not the controller does not make a root",
      obj: {
        kind: "BearerToken",
        metadata: {
          namespace: "team-a",
          uid: "t-1",
          ownerReferences: [{ apiVersion: "v", kind: "DataTrailsIntegration", name: "app", uid: "u-1" }],
        },
      },
      root: "team-a/t-1",
    },
    { name: "a cluster-scoped object hashes /uid", obj: { metadata: { uid: "c-1" } }, root: "/c-1" },
    { name: "no uid yet", obj: { metadata: { name: "x" } }, root: undefined },
  ])("$name", ({ obj, root }) => {
    expect(rootKeyOf(obj)).toBe(root);
  });
});

describe("needsShardLabel", () => {
  const shard = objectShard(integration("u-9"), 3) ?? -1;
  it.each([
    { name: "no label", labels: undefined, needs: true },
    { name: "the right label", labels: { [shardLabel]: String(shard) }, needs: false },
    { name: "a label from another N", labels: { [shardLabel]: String((shard + 1) % 3) }, needs: true },
  ])("$name", ({ labels, needs }) => {
    expect(needsShardLabel(integration("u-9", labels), 3)).toBe(needs);
  });
});

describe("shardLabels", () => {
  const child = {
    metadata: {
      namespace: "team-a",
      uid: "child-uid",
      ownerReferences: [
        {
          apiVersion: "datatrails.ai/v1alpha1",
          kind: "DataTrailsIntegration",
          name: "app",
          uid: "u-9",
          controller: true,
        },
      ],
    },
  };
  it.each([
    { name: "one shard: none", obj: integration("u-9"), shards: 1, labels: {} },
    { name: "no uid yet: none", obj: { metadata: { namespace: "team-a" } }, shards: 3, labels: {} },
    {
      name: "an object of its own: its shard",
      obj: integration("u-9"),
      shards: 3,
      labels: { [shardLabel]: String(shardOf("team-a/u-9", 3)) },
    },
    {
      name: "a child: its root's shard",
      obj: child,
      shards: 3,
      labels: { [shardLabel]: String(shardOf("team-a/u-9", 3)) },
    },
  ])("$name", ({ obj, shards, labels }) => {
    expect(shardLabels(obj, shards)).toEqual(labels);
  });
});

describe("fairShare", () => {
  it.each([
    { shards: 3, live: 3, share: 1 },
    { shards: 3, live: 2, share: 2 },
    { shards: 3, live: 1, share: 3 },
    { shards: 4, live: 3, share: 2 },
    { shards: 3, live: 0, share: 3 },
  ])("$shards shards over $live live replicas: $share each", ({ shards, live, share }) => {
    expect(fairShare(shards, live)).toBe(share);
  });
});

describe("memberLeaseName", () => {
  it("is a valid object name whatever the identity holds", () => {
    expect(memberLeaseName("op", "pod-1_abcd")).toMatch(/^op-member-[0-9a-f]{8}$/);
  });
});

describe("planShards", () => {
  const leases = (entries: [number, ShardLeaseState][]) => new Map(entries);
  const me = "me";
  const order = preferenceOrder(me, 3);

  it("alone, takes every free shard", () => {
    expect(planShards({ shards: 3, identity: me, liveMembers: 1, leases: leases([]) })).toEqual({
      keep: [],
      release: [],
      acquire: order,
    });
  });

  it("one of three, takes only its most preferred free shard", () => {
    expect(planShards({ shards: 3, identity: me, liveMembers: 3, leases: leases([]) }).acquire).toEqual([
      order[0],
    ]);
  });

  it("above its share, keeps the most preferred and releases the rest", () => {
    const all = leases(order.map((k) => [k, { holder: me, expired: false }]));
    expect(planShards({ shards: 3, identity: me, liveMembers: 2, leases: all })).toEqual({
      keep: order.slice(0, 2),
      release: order.slice(2),
      acquire: [],
    });
  });

  it("never takes a shard another replica renews, and takes an expired one", () => {
    const view = leases([
      [0, { holder: "b", expired: false }],
      [1, { holder: "c", expired: true }],
      [2, { holder: "b", expired: false }],
    ]);
    expect(planShards({ shards: 3, identity: me, liveMembers: 2, leases: view })).toEqual({
      keep: [],
      release: [],
      acquire: [1],
    });
  });

  it("takes a released shard (empty holder)", () => {
    const others = order
      .filter((k) => k !== 2)
      .map((k): [number, ShardLeaseState] => [k, { holder: "b", expired: false }]);
    const view = leases([[2, { holder: "", expired: false }], ...others]);
    expect(planShards({ shards: 3, identity: me, liveMembers: 3, leases: view }).acquire).toEqual([2]);
  });

  it("at its share, keeps what it holds and takes nothing", () => {
    const view = leases([
      [order[0] ?? 0, { holder: me, expired: false }],
      [order[1] ?? 1, { holder: "", expired: false }],
    ]);
    expect(planShards({ shards: 3, identity: me, liveMembers: 3, leases: view })).toEqual({
      keep: [order[0]],
      release: [],
      acquire: [],
    });
  });
});

describe("gateIsOpen", () => {
  it.each([
    { name: "never renewed", renewed: undefined, now: 0, open: false },
    { name: "just renewed", renewed: 1000, now: 1000, open: true },
    { name: "just before the deadline", renewed: 1000, now: 10_999, open: true },
    { name: "at the deadline", renewed: 1000, now: 11_000, open: false },
    { name: "long after (a paused process)", renewed: 1000, now: 60_000, open: false },
  ])("$name", ({ renewed, now, open }) => {
    expect(gateIsOpen(renewed, now, 10_000)).toBe(open);
  });
});
