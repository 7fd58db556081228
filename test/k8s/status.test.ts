/**
 * patchStatus against the real API server: it writes through the /status subresource (spec and
 * generation untouched), writes nothing when status is unchanged, and removes fields it dropped.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ApiextensionsV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { KubeError } from "../../src/k8s/errors.ts";
import { rfc3339, setCondition } from "../../src/api/v1alpha1/index.ts";
import { patchStatus } from "../../src/k8s/status.ts";
import { createNamespace, sharedKubeConfig, uniqueName } from "./support.ts";

const group = "k8s-status.test.datatrails.ai";
const version = "v1";

interface Widget {
  metadata: { name: string; generation: number; resourceVersion: string };
  spec: Record<string, unknown>;
  status?: Record<string, unknown>;
}

describe("patchStatus", () => {
  const kc = sharedKubeConfig();
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const namespace = uniqueName("k8s-status");
  let deleteNamespace: () => Promise<void>;

  const crd = (plural: string, kind: string, scope: "Namespaced" | "Cluster") => ({
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope,
      names: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List` },
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                // The typed client names OpenAPI extensions in snake case; it drops the dashed keys.
                spec: { type: "object", x_kubernetes_preserve_unknown_fields: true },
                status: { type: "object", x_kubernetes_preserve_unknown_fields: true },
              },
            },
          },
        },
      ],
    },
  });

  beforeAll(async () => {
    deleteNamespace = await createNamespace(kc, namespace);
    for (const body of [crd("widgets", "Widget", "Namespaced"), crd("gizmos", "Gizmo", "Cluster")]) {
      await ext.createCustomResourceDefinition({ body });
      await vi.waitFor(
        async () => {
          const got = await ext.readCustomResourceDefinition({ name: body.metadata.name });
          expect(got.status?.conditions?.find((c) => c.type === "Established")?.status).toBe("True");
        },
        { timeout: 10_000, interval: 50 },
      );
    }
  });

  afterAll(async () => {
    await deleteNamespace();
    await ext.deleteCustomResourceDefinition({ name: `widgets.${group}` });
    await ext.deleteCustomResourceDefinition({ name: `gizmos.${group}` });
  });

  const createWidget = async (name: string): Promise<Widget> =>
    (await custom.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: "widgets",
      body: { apiVersion: `${group}/${version}`, kind: "Widget", metadata: { name }, spec: { size: 1 } },
    })) as Widget;
  const readWidget = async (name: string): Promise<Widget> =>
    (await custom.getNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: "widgets",
      name,
    })) as Widget;
  const target = (name: string) => ({ kubeConfig: kc, group, version, plural: "widgets", namespace, name });

  const now = Date.UTC(2025, 5, 1, 10, 0, 0);
  const ready = setCondition(
    [],
    { type: "Ready", status: "True", reason: "Ready", message: "ok", observedGeneration: 1 },
    new Date(now),
  );

  it("writes status through the subresource without touching spec or generation", async () => {
    const created = await createWidget("a");
    const status = { observedGeneration: 1, clientId: "client-1", conditions: ready };

    expect(await patchStatus({ ...target("a"), status })).toBe(true);

    const widget = await readWidget("a");
    expect(widget.status).toEqual(status);
    expect(widget.spec).toEqual({ size: 1 });
    expect(widget.metadata.generation).toBe(created.metadata.generation);
  });

  it("writes nothing when only lastTransitionTime would differ", async () => {
    await createWidget("b");
    const status = { observedGeneration: 1, conditions: ready };
    await patchStatus({ ...target("b"), status });
    const before = await readWidget("b");

    const sameButLater = {
      observedGeneration: 1,
      conditions: ready.map((c) => ({ ...c, lastTransitionTime: rfc3339(now + 60_000) })),
    };
    expect(await patchStatus({ ...target("b"), status: sameButLater, previous: before.status ?? {} })).toBe(
      false,
    );

    expect((await readWidget("b")).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it("removes a field the new status no longer has", async () => {
    await createWidget("c");
    await patchStatus({
      ...target("c"),
      status: { nextRefreshAt: "2025-06-01T10:40:00Z", tokenExpiresAt: "2025-06-01T11:00:00Z" },
    });
    const before = await readWidget("c");

    await patchStatus({
      ...target("c"),
      status: { tokenExpiresAt: "2025-06-01T12:00:00Z" },
      previous: before.status ?? {},
    });

    expect((await readWidget("c")).status).toEqual({ tokenExpiresAt: "2025-06-01T12:00:00Z" });
  });

  it("writes status of a cluster-scoped object", async () => {
    const name = uniqueName("gizmo");
    await custom.createClusterCustomObject({
      group,
      version,
      plural: "gizmos",
      body: { apiVersion: `${group}/${version}`, kind: "Gizmo", metadata: { name }, spec: {} },
    });
    try {
      await patchStatus({
        kubeConfig: kc,
        group,
        version,
        plural: "gizmos",
        name,
        status: { observedGeneration: 1 },
      });
      const gizmo = (await custom.getClusterCustomObject({
        group,
        version,
        plural: "gizmos",
        name,
      })) as Widget;
      expect(gizmo.status).toEqual({ observedGeneration: 1 });
    } finally {
      await custom.deleteClusterCustomObject({ group, version, plural: "gizmos", name });
    }
  });

  it("fails with a NotFound KubeError for an object that does not exist", async () => {
    const attempt = patchStatus({ ...target("missing"), status: { observedGeneration: 1 } });
    await expect(attempt).rejects.toBeInstanceOf(KubeError);
    await expect(attempt).rejects.toMatchObject({ code: "NotFound" });
  });
});
