import { describe, expect, it } from "vitest";
import type { DataTrailsIntegration } from "../../api/v1alpha1/index.ts";
import { ownWrites } from "./own-writes.ts";

function integration(change: Partial<DataTrailsIntegration["metadata"]> = {}, status?: object) {
  return {
    metadata: { name: "tl", namespace: "ns", uid: "u", generation: 1, ...change },
    spec: {},
    ...(status ? { status } : {}),
  } as unknown as DataTrailsIntegration;
}

function world() {
  let cached: DataTrailsIntegration | undefined = integration();
  let server: DataTrailsIntegration | undefined = integration();
  const gets: string[] = [];
  const own = ownWrites({
    cached: () => cached && structuredClone(cached),
    fetch: (ns, name) => {
      gets.push(`${ns}/${name}`);
      return Promise.resolve(server && structuredClone(server));
    },
  });
  return {
    own,
    gets,
    setCache: (o: DataTrailsIntegration | undefined) => (cached = o),
    setServer: (o: DataTrailsIntegration | undefined) => (server = o),
  };
}

describe("the integration a reconcile acts on", () => {
  it("is the cached copy when this process has written nothing to it", async () => {
    const w = world();
    expect(await w.own.read("ns", "tl")).toBeDefined();
    expect(w.gets).toEqual([]);
  });

  it("is read from the API server while the cache does not show the last write, then the cache again", async () => {
    const w = world();
    const written = integration({ finalizers: ["f"] }, { clientId: "c" });
    await w.own.track("ns", "tl", { finalizers: ["f"] }, () => Promise.resolve());
    await w.own.track("ns", "tl", { status: { clientId: "c" } }, () => Promise.resolve());
    w.setServer(written);
    expect((await w.own.read("ns", "tl"))?.status?.clientId).toBe("c");
    expect(w.gets).toHaveLength(1);
    // The cache has the finalizer but not yet the status: still behind.
    w.setCache(integration({ finalizers: ["f"] }));
    await w.own.read("ns", "tl");
    expect(w.gets).toHaveLength(2);
    w.setCache(written);
    expect((await w.own.read("ns", "tl"))?.status?.clientId).toBe("c");
    expect(await w.own.read("ns", "tl")).toBeDefined();
    expect(w.gets).toHaveLength(2);
  });

  it("is read from the API server after a write that failed", async () => {
    const w = world();
    await expect(
      w.own.track("ns", "tl", { status: { clientId: "c" } }, () => Promise.reject(new Error("409"))),
    ).rejects.toThrow("409");
    await w.own.read("ns", "tl");
    expect(w.gets).toHaveLength(1);
    // The GET's answer is what the cache must show next; it does (nothing changed).
    await w.own.read("ns", "tl");
    expect(w.gets).toHaveLength(1);
  });

  it("is gone when the API server no longer has it, whatever the cache still holds", async () => {
    const w = world();
    await w.own.track("ns", "tl", { finalizers: [] }, () => Promise.resolve());
    w.setCache(integration({ finalizers: ["f"] }));
    w.setServer(undefined);
    expect(await w.own.read("ns", "tl")).toBeUndefined();
  });
});
