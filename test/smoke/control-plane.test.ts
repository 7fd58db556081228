/**
 * Proves the test control plane is a real kube-apiserver: it serves its version, validates a CRD's
 * OpenAPI schema and CEL rule at admission, and streams a watch to @kubernetes/client-node.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  VersionApi,
  Watch,
  type V1Secret,
} from "@kubernetes/client-node";

const group = "smoke.datatrails.ai";
const plural = "widgets";
const namespace = "smoke";

describe("the test control plane", () => {
  const kc = new KubeConfig();
  kc.loadFromFile(inject("kubeconfigPath"));
  const core = kc.makeApiClient(CoreV1Api);
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);

  beforeAll(async () => {
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await ext.createCustomResourceDefinition({
      body: {
        metadata: { name: `${plural}.${group}` },
        spec: {
          group,
          scope: "Namespaced",
          names: { plural, singular: "widget", kind: "Widget", listKind: "WidgetList" },
          versions: [
            {
              name: "v1",
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: "object",
                  properties: {
                    spec: {
                      type: "object",
                      required: ["size"],
                      properties: { size: { type: "integer" }, max: { type: "integer" } },
                      // The typed client names OpenAPI extensions in snake case; it drops the dashed keys.
                      x_kubernetes_validations: [
                        { rule: "self.size <= self.max", message: "spec.size must not exceed spec.max" },
                      ],
                    },
                  },
                },
              },
            },
          ],
        },
      },
    });
    await vi.waitFor(
      async () => {
        const crd = await ext.readCustomResourceDefinition({ name: `${plural}.${group}` });
        expect(crd.status?.conditions?.find((c) => c.type === "Established")?.status).toBe("True");
      },
      { timeout: 10_000, interval: 50 },
    );
  });

  afterAll(async () => {
    await ext.deleteCustomResourceDefinition({ name: `${plural}.${group}` });
    await core.deleteNamespace({ name: namespace });
  });

  it("reports the version it was built as", async () => {
    const version = await kc.makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toMatch(/^v1\.\d+\.\d+$/);
    expect(version.major).toBe("1");
  });

  it("accepts an object that satisfies the CEL rule", async () => {
    const created = (await custom.createNamespacedCustomObject({
      group,
      version: "v1",
      namespace,
      plural,
      body: {
        apiVersion: `${group}/v1`,
        kind: "Widget",
        metadata: { name: "fits" },
        spec: { size: 2, max: 3 },
      },
    })) as { metadata: { uid: string } };
    expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("rejects an object that breaks the CEL rule, with the rule's message", async () => {
    const attempt = custom.createNamespacedCustomObject({
      group,
      version: "v1",
      namespace,
      plural,
      body: {
        apiVersion: `${group}/v1`,
        kind: "Widget",
        metadata: { name: "too-big" },
        spec: { size: 5, max: 3 },
      },
    });
    await expect(attempt).rejects.toMatchObject({ code: 422 });
    await expect(attempt).rejects.toThrow(/spec\.size must not exceed spec\.max/);
  });

  it("rejects an object that breaks the OpenAPI schema", async () => {
    const attempt = custom.createNamespacedCustomObject({
      group,
      version: "v1",
      namespace,
      plural,
      body: { apiVersion: `${group}/v1`, kind: "Widget", metadata: { name: "no-size" }, spec: { max: 3 } },
    });
    await expect(attempt).rejects.toThrow(/spec\.size: Required value/);
  });

  it("streams a Secret through a watch", async () => {
    const seen: string[] = [];
    const watch = new Watch(kc);
    const request = await watch.watch(
      `/api/v1/namespaces/${namespace}/secrets`,
      { labelSelector: "smoke=yes" },
      (phase: string, secret: V1Secret) => seen.push(`${phase} ${secret.metadata?.name}`),
      () => undefined,
    );
    try {
      await core.createNamespacedSecret({
        namespace,
        body: { metadata: { name: "watched", labels: { smoke: "yes" } }, stringData: { k: "v" } },
      });
      await core.createNamespacedSecret({ namespace, body: { metadata: { name: "unlabelled" } } });
      await expect.poll(() => seen).toContain("ADDED watched");
      expect(seen.some((s) => s.includes("unlabelled"))).toBe(false);
    } finally {
      request.abort();
    }
  });

  it("answers kubectl with the generated kubeconfig", () => {
    const kubectl = join(inject("controlPlaneBinDir"), "kubectl");
    const out = execFileSync(
      kubectl,
      ["--kubeconfig", inject("kubeconfigPath"), "get", "namespace", namespace, "-o", "name"],
      {
        encoding: "utf8",
      },
    );
    expect(out.trim()).toBe(`namespace/${namespace}`);
  });
});
