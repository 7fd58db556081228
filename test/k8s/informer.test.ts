/**
 * The resilient informer against the real API server: it syncs, delivers add/update/delete, sees
 * only Secrets matching its label selector, retries a failing first list until it succeeds (counting
 * and logging each restart), survives a callback that throws, and with a cache shape keeps only what
 * the shape keeps, from the first list and from watch events alike.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CoreV1Api, type V1Secret } from "@kubernetes/client-node";
import { lastAppliedAnnotation, secretCacheShape } from "../../src/k8s/cache-shape.ts";
import { createResilientInformer } from "../../src/k8s/informer.ts";
import { createMetrics } from "../../src/observability/metrics.ts";
import { capturingLogger, createNamespace, sharedKubeConfig, uniqueName } from "./support.ts";

const selector = "k8s-test=informer";

describe("createResilientInformer", () => {
  const kc = sharedKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const namespace = uniqueName("k8s-informer");
  let deleteNamespace: () => Promise<void>;

  beforeAll(async () => {
    deleteNamespace = await createNamespace(kc, namespace);
    // Every case's informer starts on these: one it must list, one its selector leaves out.
    await core.createNamespacedSecret({ namespace, body: secret("pre-labelled", true) });
    await core.createNamespacedSecret({ namespace, body: secret("pre-unlabelled", false) });
  });
  afterAll(async () => {
    await deleteNamespace();
  });

  const secret = (name: string, labelled: boolean, value = "v"): V1Secret => ({
    metadata: { name, ...(labelled ? { labels: { "k8s-test": "informer" } } : {}) },
    stringData: { key: value },
  });
  const secretsInformer = (
    overrides: { listFn?: () => Promise<{ items: V1Secret[] }>; shaped?: boolean } = {},
  ) => {
    const { logger, lines } = capturingLogger("warn");
    const metrics = createMetrics({ defaultMetrics: false });
    const informer = createResilientInformer<V1Secret>({
      name: "secrets",
      kubeConfig: kc,
      path: `/api/v1/namespaces/${namespace}/secrets`,
      listFn: overrides.listFn ?? (() => core.listNamespacedSecret({ namespace, labelSelector: selector })),
      labelSelector: selector,
      ...(overrides.shaped ? { cacheShape: secretCacheShape } : {}),
      logger,
      metrics,
      initialBackoffMs: 50,
    });
    const seen: string[] = [];
    for (const event of ["add", "update", "delete"] as const) {
      informer.on(event, (s) => seen.push(`${event} ${s.metadata?.name}`));
    }
    return { informer, seen, lines, metrics };
  };

  it("syncs the labelled Secrets, then delivers add, update and delete for them only", async () => {
    const { informer, seen } = secretsInformer();
    try {
      expect(informer.hasSynced()).toBe(false);
      await informer.start();
      expect(informer.hasSynced()).toBe(true);
      expect(informer.list().map((s) => s.metadata?.name)).toEqual(["pre-labelled"]);
      expect(informer.get("pre-labelled", namespace)?.metadata?.name).toBe("pre-labelled");
      expect(informer.get("pre-unlabelled", namespace)).toBeUndefined();

      await core.createNamespacedSecret({ namespace, body: secret("live", true) });
      await core.createNamespacedSecret({ namespace, body: secret("ignored", false) });
      await expect.poll(() => seen).toContain("add live");
      await core.replaceNamespacedSecret({ name: "live", namespace, body: secret("live", true, "changed") });
      await expect.poll(() => seen).toContain("update live");
      await core.deleteNamespacedSecret({ name: "live", namespace });
      await expect.poll(() => seen).toContain("delete live");

      expect(seen.filter((s) => s.includes("unlabelled") || s.includes("ignored"))).toEqual([]);
      expect(informer.restarts()).toBe(0);
    } finally {
      await informer.stop();
    }
  });

  it("retries a failing first list until it succeeds, counting and logging each restart", async () => {
    let calls = 0;
    const { informer, lines, metrics } = secretsInformer({
      listFn: async () => {
        calls++;
        // A real failed list: the API server answers an invalid label selector with 400.
        if (calls <= 2) return core.listNamespacedSecret({ namespace, labelSelector: "bad selector ===" });
        return core.listNamespacedSecret({ namespace, labelSelector: selector });
      },
    });
    try {
      await informer.start();
      expect(informer.hasSynced()).toBe(true);
      expect(informer.list().map((s) => s.metadata?.name)).toContain("pre-labelled");
      expect(informer.restarts()).toBe(2);
      expect((await metrics.informerRestartsTotal.get()).values).toEqual([
        { labels: { informer: "secrets" }, value: 2 },
      ]);
      const warnings = lines().filter((l) => l["msg"] === "informer stopped on an error; restarting");
      expect(warnings).toHaveLength(2);
      expect(warnings[0]).toMatchObject({
        level: "warn",
        informer: "secrets",
        err: { code: "BadRequest", status: 400 },
      });
      expect(JSON.stringify(warnings)).not.toContain("Body");
    } finally {
      await informer.stop();
    }
  });

  it("rejects a pending start when stopped before the first list", async () => {
    const { informer } = secretsInformer({
      listFn: () => core.listNamespacedSecret({ namespace, labelSelector: "still bad ===" }),
    });
    const starting = informer.start();
    await expect.poll(() => informer.restarts()).toBeGreaterThan(0);
    await informer.stop();
    await expect(starting).rejects.toThrow(/stopped before its first list/);
    expect(informer.hasSynced()).toBe(false);
  });

  it("keeps delivering to other callbacks when one throws", async () => {
    const { informer, seen } = secretsInformer();
    informer.on("add", () => {
      throw new Error("callback bug");
    });
    try {
      await informer.start();
      await core.createNamespacedSecret({ namespace, body: secret("after-throw-1", true) });
      await core.createNamespacedSecret({ namespace, body: secret("after-throw-2", true) });
      await expect
        .poll(() => seen)
        .toEqual(expect.arrayContaining(["add after-throw-1", "add after-throw-2"]));
      expect(informer.restarts()).toBe(0);
    } finally {
      await informer.stop();
    }
  });

  it("with a cache shape, caches Secrets without managed fields or kubectl's copy, from the list and the watch", async () => {
    const annotated = (name: string): V1Secret => ({
      ...secret(name, true, "value"),
      metadata: {
        name,
        labels: { "k8s-test": "informer", team: "a" },
        annotations: { [lastAppliedAnnotation]: "{}", "datatrails.ai/holder": `BearerToken/${name}` },
      },
    });
    await core.createNamespacedSecret({ namespace, body: annotated("shaped-listed") });
    const { informer } = secretsInformer({ shaped: true });
    const handed: V1Secret[] = [];
    informer.on("add", (s) => handed.push(s));
    informer.on("update", (s) => handed.push(s));
    try {
      await informer.start();
      await core.createNamespacedSecret({ namespace, body: annotated("shaped-watched") });
      await expect.poll(() => informer.get("shaped-watched", namespace)).toBeDefined();
      for (const name of ["shaped-listed", "shaped-watched"]) {
        const cached = informer.get(name, namespace);
        // The API server did send them: the object as read directly has both.
        const live = await core.readNamespacedSecret({ name, namespace });
        expect(live.metadata?.managedFields?.length).toBeGreaterThan(0);
        expect(live.metadata?.annotations?.[lastAppliedAnnotation]).toBe("{}");
        expect(cached?.metadata?.managedFields).toBeUndefined();
        expect(cached?.metadata?.annotations).toEqual({ "datatrails.ai/holder": `BearerToken/${name}` });
        expect(cached?.metadata?.labels).toEqual({ "k8s-test": "informer", team: "a" });
        expect(cached?.metadata?.resourceVersion).toBe(live.metadata?.resourceVersion);
        expect(cached?.metadata?.uid).toBe(live.metadata?.uid);
        expect(Buffer.from(cached?.data?.["key"] ?? "", "base64").toString()).toBe("value");
        expect(cached?.type).toBe("Opaque");
        // Handlers get the object the cache holds, not the full one.
        expect(handed.find((s) => s.metadata?.name === name)).toBe(cached);
      }
    } finally {
      await informer.stop();
    }
  });
});
