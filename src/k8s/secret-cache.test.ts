/**
 * The shared Secret look-up (secret-cache.ts) at its seam: an in-memory store that counts reads and
 * a Secret informer that lags until told to catch up. Each case says where an answer comes from
 * and how many GETs it cost.
 */
import { describe, expect, it } from "vitest";
import { managedByLabel, managedByValue } from "../api/v1alpha1/index.ts";
import { FakeSecretInformer } from "../controllers/testing/fake-secret-informer.ts";
import { FakeSecretStore } from "../controllers/testing/fake-secret-store.ts";
import { atLeast, createSecretCache, type SecretCache } from "./secret-cache.ts";

const ns = "team-a";
const own = { [managedByLabel]: managedByValue };

function world(watched = true) {
  const store = new FakeSecretStore();
  const informer = new FakeSecretInformer();
  const cache: SecretCache = createSecretCache({
    informer,
    get: (namespace, name) => store.get(namespace, name),
    watched: () => watched,
  });
  store.onWritten = (s) => cache.wrote(s);
  const value = async (name: string) => (await cache.lookup(ns, name))?.data?.["k"];
  const user = (name: string, v: string): string =>
    store.put({ metadata: { name, namespace: ns }, data: { k: v } });
  const write = (name: string, v: string) =>
    store.apply({ namespace: ns, name, labels: own, data: { k: v } });
  return { store, informer, cache, value, user, write };
}

const b64 = (v: string) => Buffer.from(v).toString("base64");

describe("Secret cache", () => {
  it("answers the operator's own Secret from the informer, with no GET", async () => {
    const w = world();
    await w.write("tl-token", "one");
    w.informer.catchUp(w.store);
    expect(await w.value("tl-token")).toBe(b64("one"));
    expect(w.store.reads).toEqual([]);
  });

  it("answers with its own last write until the informer shows it", async () => {
    const w = world();
    await w.write("tl-token", "one");
    w.informer.catchUp(w.store);
    await w.write("tl-token", "two");
    expect(await w.value("tl-token")).toBe(b64("two"));
    w.informer.catchUp(w.store);
    expect(await w.value("tl-token")).toBe(b64("two"));
    expect(w.store.reads).toEqual([]);
  });

  it("takes a later version from the informer over its own older write", async () => {
    const w = world();
    await w.write("tl-token", "mine");
    w.store.put({ metadata: { name: "tl-token", namespace: ns, labels: own }, data: { k: b64("edited") } });
    w.informer.catchUp(w.store);
    expect((await w.cache.lookup(ns, "tl-token"))?.data?.["k"]).toBe(b64("edited"));
  });

  it("forgets its own write when the informer reports the Secret deleted after it", async () => {
    const w = world();
    await w.write("tl-token", "one");
    w.informer.catchUp(w.store);
    const rv = await w.write("tl-token", "two");
    w.informer.deleted({
      metadata: { name: "tl-token", namespace: ns, resourceVersion: String(Number(rv) + 1) },
    });
    await w.cache.lookup(ns, "tl-token");
    expect(w.store.reads).toEqual(["team-a/tl-token"]);
  });

  it("keeps its own write when the informer reports an older version deleted", async () => {
    const w = world();
    const rv = await w.write("tl-token", "one");
    w.informer.catchUp(w.store);
    await w.write("tl-token", "two");
    w.informer.deleted({ metadata: { name: "tl-token", namespace: ns, resourceVersion: rv } });
    expect(await w.value("tl-token")).toBe(b64("two"));
    expect(w.store.reads).toEqual([]);
  });

  it("reads a user's Secret once, and again only after the watch reports a new version", async () => {
    const w = world();
    w.user("creds", b64("one"));
    expect(await w.value("creds")).toBe(b64("one"));
    expect(await w.value("creds")).toBe(b64("one"));
    expect(w.store.reads).toEqual(["team-a/creds"]);
    const rv = w.user("creds", b64("two"));
    w.cache.changed({ namespace: ns, name: "creds", resourceVersion: rv });
    expect(await w.value("creds")).toBe(b64("two"));
    expect(w.store.reads).toHaveLength(2);
  });

  it("keeps a user's Secret when the watch replays the version it holds", async () => {
    const w = world();
    const rv = w.user("creds", b64("one"));
    await w.value("creds");
    w.cache.changed({ namespace: ns, name: "creds", resourceVersion: rv });
    await w.value("creds");
    expect(w.store.reads).toHaveLength(1);
  });

  it("keeps a Secret's absence until the watch sees it appear", async () => {
    const w = world();
    expect(await w.cache.lookup(ns, "later")).toBeUndefined();
    expect(await w.cache.lookup(ns, "later")).toBeUndefined();
    expect(w.store.reads).toHaveLength(1);
    const rv = w.user("later", b64("here"));
    w.cache.changed({ namespace: ns, name: "later", resourceVersion: rv });
    expect(await w.value("later")).toBe(b64("here"));
  });

  it("forgets a user's Secret the watch reports deleted", async () => {
    const w = world();
    const rv = w.user("creds", b64("one"));
    await w.value("creds");
    w.cache.changed({ namespace: ns, name: "creds", resourceVersion: rv, deleted: true });
    await w.value("creds");
    expect(w.store.reads).toHaveLength(2);
  });

  it("does not keep what a GET returned when the watch reported a change while it was in flight", async () => {
    const w = world();
    w.user("creds", b64("one"));
    const reading = w.cache.lookup(ns, "creds");
    w.cache.changed({ namespace: ns, name: "creds", resourceVersion: "999" });
    await reading;
    await w.value("creds");
    expect(w.store.reads).toHaveLength(2);
  });

  it("always reads a user's Secret in a namespace the watch does not cover", async () => {
    const w = world(false);
    w.user("admin", b64("one"));
    await w.value("admin");
    await w.value("admin");
    expect(w.store.reads).toHaveLength(2);
  });

  it("reads from the API when asked for a fresh copy, and keeps that", async () => {
    const w = world();
    w.user("creds", b64("one"));
    await w.value("creds");
    w.user("creds", b64("two")); // the watch has not said so yet
    expect((await w.cache.lookup(ns, "creds", { fresh: true }))?.data?.["k"]).toBe(b64("two"));
    expect(await w.value("creds")).toBe(b64("two"));
    expect(w.store.reads).toHaveLength(2);
  });
});

describe("a name to create (toCreate)", () => {
  /** A world whose namespace holds the Secrets `existing` names, listed at resourceVersion 100. */
  function listed(existing: string[], watched = true) {
    const w = world(watched);
    const lists: string[] = [];
    const cache = createSecretCache({
      informer: w.informer,
      get: (namespace, name) => w.store.get(namespace, name),
      watched: () => watched,
      listNames: (namespace) => {
        lists.push(namespace);
        return Promise.resolve({ names: [...existing], resourceVersion: "100" });
      },
    });
    for (const name of existing) w.user(name, b64("theirs"));
    w.store.reads.length = 0;
    const lookup = (name: string) => cache.lookup(ns, name, { toCreate: true });
    return { ...w, cache, lists, lookup };
  }

  it("answers a name no Secret of the namespace has as absent, with one list and no GET", async () => {
    const w = listed(["other"]);
    expect(await w.lookup("tl-token")).toBeUndefined();
    expect(await w.lookup("tl2-token")).toBeUndefined();
    expect(w.lists).toEqual([ns]);
    expect(w.store.reads).toEqual([]);
  });

  it("reads a name the list shows (a user's Secret may hold it)", async () => {
    const w = listed(["tl-token"]);
    expect((await w.lookup("tl-token"))?.data?.["k"]).toBe(b64("theirs"));
    expect(w.store.reads).toEqual(["team-a/tl-token"]);
  });

  it("reads a name the watch reported after the list", async () => {
    const w = listed([]);
    await w.lookup("first");
    const rv = w.user("late", b64("theirs"));
    w.cache.changed({ namespace: ns, name: "late", resourceVersion: rv });
    expect(await w.lookup("late")).toBeDefined();
    expect(w.store.reads).toEqual(["team-a/late"]);
  });

  it.each([
    { name: "a deletion newer than the list frees the name", deletedAt: "101", reads: 0 },
    { name: "a deletion older than the list leaves the name taken", deletedAt: "99", reads: 1 },
  ])("$name", async ({ deletedAt, reads }) => {
    const w = listed(["gone"]);
    await w.lookup("first");
    w.cache.changed({ namespace: ns, name: "gone", resourceVersion: deletedAt, deleted: true });
    await w.lookup("gone");
    expect(w.store.reads).toHaveLength(reads);
  });

  it("reads as any look-up does in a namespace the watch does not cover", async () => {
    const w = listed([], false);
    await w.lookup("tl-token");
    expect(w.lists).toEqual([]);
    expect(w.store.reads).toEqual(["team-a/tl-token"]);
  });
});

describe("atLeast", () => {
  const cases: [string | undefined, string | undefined, boolean][] = [
    ["10", "9", true],
    ["9", "10", false],
    ["12", "12", true],
    ["abc", "abc", true],
    ["abc", "abd", false],
    [undefined, "1", false],
  ];
  it.each(cases)("%s ≥ %s is %s", (a, b, want) => expect(atLeast(a, b)).toBe(want));
});
