/**
 * The informer survives a kube-apiserver restart. Plain client-node informers stop for good when the
 * reconnect after the restart is refused; this one restarts with backoff, counts it, and keeps
 * delivering events. The informer and the requests go through a PooledKubeConfig, as in the
 * operator, so the pooled connections are shown to recover too. The test runs its own control plane
 * because it restarts the API server.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CoreV1Api, type V1Secret } from "@kubernetes/client-node";
import { startControlPlane, type ControlPlane } from "../../src/envtest/control-plane.ts";
import { PooledKubeConfig } from "../../src/k8s/pooled-kube-config.ts";
import { createResilientInformer, type ResilientInformer } from "../../src/k8s/informer.ts";
import { createMetrics, type Metrics } from "../../src/observability/metrics.ts";
import { capturingLogger } from "./support.ts";

const namespace = "informer-restart";
const selector = "app.kubernetes.io/managed-by=datatrails-operator";

describe("createResilientInformer across an API server restart", () => {
  let plane: ControlPlane;
  let pooled: PooledKubeConfig;
  let informer: ResilientInformer<V1Secret>;
  let metrics: Metrics;
  const { logger, lines } = capturingLogger("warn");
  const seen: string[] = [];

  beforeAll(async () => {
    plane = await startControlPlane();
    pooled = PooledKubeConfig.from(plane.kubeConfig);
    const core = pooled.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    metrics = createMetrics({ defaultMetrics: false });
    informer = createResilientInformer<V1Secret>({
      name: "secrets",
      kubeConfig: pooled,
      path: `/api/v1/namespaces/${namespace}/secrets`,
      listFn: () => core.listNamespacedSecret({ namespace, labelSelector: selector }),
      labelSelector: selector,
      logger,
      metrics,
      initialBackoffMs: 200,
      maxBackoffMs: 1000,
    });
    for (const event of ["add", "update", "delete"] as const) {
      informer.on(event, (s) => seen.push(`${event} ${s.metadata?.name}`));
    }
    await informer.start();
  }, 120_000);

  afterAll(async () => {
    await informer.stop();
    await pooled.close();
    await plane.stop();
  });

  const managed = (name: string, value: string): V1Secret => ({
    metadata: { name, labels: { "app.kubernetes.io/managed-by": "datatrails-operator" } },
    stringData: { key: value },
  });

  /** Makes `before`, then restarts the API server, once for the whole file: each case may go first. */
  let restarted: Promise<void> | undefined;
  const restartOnce = () =>
    (restarted ??= (async () => {
      const core = pooled.makeApiClient(CoreV1Api);
      await core.createNamespacedSecret({ namespace, body: managed("before", "1") });
      await expect.poll(() => seen).toContain("add before");
      await plane.restartApiServer();
    })());

  it("restarts after the connection breaks and keeps delivering events", async () => {
    const core = pooled.makeApiClient(CoreV1Api);
    await restartOnce();

    await core.createNamespacedSecret({ namespace, body: managed("after", "1") });
    await core.replaceNamespacedSecret({ name: "before", namespace, body: managed("before", "2") });
    await expect
      .poll(() => seen, { timeout: 30_000 })
      .toEqual(expect.arrayContaining(["add after", "update before"]));

    expect(informer.restarts()).toBeGreaterThanOrEqual(1);
    const counted = (await metrics.informerRestartsTotal.get()).values[0]?.value ?? 0;
    expect(counted).toBe(informer.restarts());
    const warnings = lines().filter((l) => l["msg"] === "informer stopped on an error; restarting");
    expect(warnings.length).toBe(informer.restarts());
    expect(warnings[0]).toMatchObject({ level: "warn", informer: "secrets", err: { type: "KubeError" } });
    expect(
      informer
        .list()
        .map((s) => s.metadata?.name)
        .sort(),
    ).toEqual(["after", "before"]);
  });

  it("still sees deletions after the restart", async () => {
    const core = pooled.makeApiClient(CoreV1Api);
    await restartOnce();
    // A Secret of its own, made after the restart.
    await core.createNamespacedSecret({ namespace, body: managed("doomed", "1") });
    await expect.poll(() => seen, { timeout: 30_000 }).toContain("add doomed");
    await core.deleteNamespacedSecret({ name: "doomed", namespace });
    await expect.poll(() => seen).toContain("delete doomed");
    expect(informer.get("doomed", namespace)).toBeUndefined();
  });
});
