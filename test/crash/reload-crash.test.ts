/**
 * spec.reload across a SIGKILL, with the real operator binary: a crash between the new client
 * secret and the roll loses no roll, and a crash right after the roll (before anything is recorded)
 * makes no second one. The Deployment's generation counts the rolls: each change of its pod
 * template bumps it, and nothing else changes it here (no kube-controller-manager runs).
 */
import { AppsV1Api, KubeConfig } from "@kubernetes/client-node";
import { describe, expect, inject, it } from "vitest";
import { kubectlOk } from "../support/kubectl.ts";
import { integrationManifest, workloadManifest } from "../support/manifests.ts";
import { crashHarness, type CrashCase } from "./harness.ts";
import { uniqueName } from "./support.ts";

const { newCase, operator, crashAt } = crashHarness();
const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(inject("kubeconfigPath"));
const apps = kubeConfig.makeApiClient(AppsV1Api);

interface Reloading {
  status?: {
    reload?: { version: string; rolledAt?: string };
    pendingRotation?: unknown;
    conditions?: { type: string; status: string }[];
  };
}

const integrationOf = async (c: CrashCase, name: string) =>
  JSON.parse(
    await kubectlOk(["get", "datatrailsintegration", name, "-n", c.namespace, "-o", "json"]),
  ) as Reloading;

async function deployment(c: CrashCase, name: string) {
  const d = await apps.readNamespacedDeployment({ name, namespace: c.namespace });
  return {
    generation: d.metadata?.generation ?? 0,
    annotations: d.spec?.template.metadata?.annotations ?? {},
  };
}

/** Waits until status.reload holds a version other than `not` and ReloadReady is True. */
async function recorded(c: CrashCase, name: string, not?: string): Promise<string> {
  let version = "";
  await expect
    .poll(
      async () => {
        const s = (await integrationOf(c, name)).status;
        version = s?.reload?.version ?? "";
        const ready = s?.conditions?.find((x) => x.type === "ReloadReady")?.status === "True";
        return ready && version !== "" && version !== not;
      },
      { timeout: 60_000, interval: 250 },
    )
    .toBe(true);
  return version;
}

/** An integration naming a Deployment, settled under a first operator that is then stopped. */
async function settledCase(prefix: string) {
  const c = await newCase(prefix);
  const name = uniqueName("reload");
  await kubectlOk(["apply", "-f", "-"], workloadManifest(c.namespace, "Deployment", "consumer"));
  const first = await operator(c);
  await kubectlOk(
    ["apply", "-f", "-"],
    integrationManifest(c.namespace, name, {
      token: { enabled: false },
      reload: { targets: [{ kind: "Deployment", name: "consumer" }] },
    }),
  );
  const version = await recorded(c, name);
  await first.stop();
  return { c, name, version, before: await deployment(c, "consumer") };
}

const rotate = (c: CrashCase, name: string) =>
  kubectlOk(["annotate", "-n", c.namespace, `datatrailsintegration/${name}`, "datatrails.ai/rotate=1"]);

describe("spec.reload across a SIGKILL", () => {
  it("rolls once after a crash between writing the new secret and the roll", async () => {
    const { c, name, version, before } = await settledCase("crash-reload-write");
    await crashAt(c, "after:WriteCredentials", () => rotate(c, name));
    // The new secret is written, nothing is rolled yet.
    expect((await deployment(c, "consumer")).generation).toBe(before.generation);
    expect((await integrationOf(c, name)).status?.reload?.version).toBe(version);

    await operator(c);
    const next = await recorded(c, name, version);
    const after = await deployment(c, "consumer");
    expect(after.generation).toBe(before.generation + 1);
    expect(after.annotations[`integration.reload.datatrails.ai/${name}`]).toBe(next);
  });

  it("does not roll again after a crash right after the roll", async () => {
    const { c, name, version, before } = await settledCase("crash-reload-roll");
    await crashAt(c, "after:RollWorkload", () => rotate(c, name));
    // Rolled, not yet recorded.
    const rolled = await deployment(c, "consumer");
    expect(rolled.generation).toBe(before.generation + 1);
    expect((await integrationOf(c, name)).status?.reload?.version).toBe(version);

    await operator(c);
    const next = await recorded(c, name, version);
    const after = await deployment(c, "consumer");
    expect(after.annotations[`integration.reload.datatrails.ai/${name}`]).toBe(next);
    expect(after.generation).toBe(before.generation + 1);
  });
});
