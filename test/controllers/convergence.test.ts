/**
 * Writes to DataTrails converge or stop, against the emulator playing a server that normalises what
 * it stores (empty lists left out, lists sorted, behaviours rewritten) and one that answers PATCHes
 * without applying them. DataTrails records an Event on every asset a policy write matches, so the
 * counts of writes are what these cases assert.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RouteName } from "../../src/emulator/route-names.ts";
import { startTestEnv, type TestEnv } from "../support/env.ts";
import { kubectlOk, waitForCondition } from "../support/kubectl.ts";
import { sumMetric } from "../support/metrics-text.ts";
import { integrationManifest, type IntegrationSpecInput } from "../support/manifests.ts";

const ns = "it-convergence";
const resyncMs = 1000;
let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv([ns], [`--resync-interval-ms=${resyncMs}`], { seedAssets: true });
});
afterAll(async () => {
  await env?.stop();
});

const writes: RouteName[] = [
  "applications.create",
  "applications.update",
  "applications.delete",
  "applications.regenerateSecret",
  "accessPolicies.create",
  "accessPolicies.update",
  "accessPolicies.delete",
];
const writeCount = () => writes.reduce((sum, route) => sum + env.emulator.control.count(route), 0);

const integration = (name: string, spec: Partial<IntegrationSpecInput>) =>
  integrationManifest(ns, name, { displayName: `conv-${name}`, ...spec });

const policy = (filters: string[][]) => ({
  name: "lights",
  filters,
  permissions: {
    assetAttributesRead: ["arc_display_type", "arc_display_name"],
    eventTypesRead: ["*"],
    behaviours: ["Attachments", "RecordEvidence"],
  },
});

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

async function conditionOf(name: string, type: string): Promise<Condition | undefined> {
  const obj = JSON.parse(await kubectlOk(["get", "datatrailsintegration", name, "-n", ns, "-o", "json"])) as {
    status?: { conditions?: Condition[] };
  };
  return obj.status?.conditions?.find((c) => c.type === type);
}

async function waitReady(name: string): Promise<void> {
  await waitForCondition(ns, `datatrailsintegration/${name}`, "Ready");
}

/** Ten resync intervals and a little more: every integration is looked at about ten times. */
const tenResyncs = () => new Promise((resolve) => setTimeout(resolve, 10 * resyncMs + 1500));

describe("a server that normalises access policies", () => {
  it("is settled with zero writes to DataTrails over ten resyncs", async () => {
    env.emulator.control.setNormalisePolicies(true);
    try {
      await kubectlOk(
        ["apply", "-f", "-"],
        integration("normalised", {
          accessPolicies: [
            policy([["attributes.arc_display_type=Traffic Light", "attributes.arc_display_type=Camera"]]),
          ],
        }),
      );
      await waitReady("normalised");
      // The first looks after Ready may still be settling the child token; start counting then.
      await new Promise((resolve) => setTimeout(resolve, 2 * resyncMs));
      const before = writeCount();
      await tenResyncs();
      expect(writeCount() - before).toBe(0);
      expect((await conditionOf("normalised", "Ready"))?.status).toBe("True");
    } finally {
      env.emulator.control.setNormalisePolicies(false);
    }
  });
});

describe("a server that never keeps a correction", () => {
  it("gets the same access-policy write three times for a generation, then none, with ConvergenceFailed", async () => {
    await kubectlOk(
      ["apply", "-f", "-"],
      integration("ignored-policy", {
        accessPolicies: [policy([["attributes.arc_display_type=Traffic Light"]])],
      }),
    );
    await waitReady("ignored-policy");
    env.emulator.control.setIgnoreUpdates({ accessPolicies: true });
    try {
      const before = env.emulator.control.count("accessPolicies.update");
      await kubectlOk(
        ["apply", "-f", "-"],
        integration("ignored-policy", { accessPolicies: [policy([["attributes.arc_display_type=Camera"]])] }),
      );
      await expect
        .poll(async () => (await conditionOf("ignored-policy", "AccessPoliciesReady"))?.reason, {
          timeout: 30_000,
        })
        .toBe("ConvergenceFailed");
      await tenResyncs();
      expect(env.emulator.control.count("accessPolicies.update") - before).toBe(3);
      const c = await conditionOf("ignored-policy", "AccessPoliciesReady");
      expect(c?.message).toContain("accessPolicy/lights correction after 3 tries");
      expect((await conditionOf("ignored-policy", "Ready"))?.status).toBe("False");
      const stopped = sumMetric(
        await env.metrics.registry.metrics(),
        "datatrails_corrections_stopped_total",
        {
          namespace: ns,
          target: "accessPolicy/lights",
        },
      );
      expect(stopped).toBeGreaterThanOrEqual(1);
    } finally {
      env.emulator.control.setIgnoreUpdates({ accessPolicies: false });
    }
    // A spec change is a new generation: the operator tries again, and now the write sticks.
    await kubectlOk(
      ["apply", "-f", "-"],
      integration("ignored-policy", {
        accessPolicies: [policy([["attributes.arc_display_type=Shipping Container"]])],
      }),
    );
    await expect
      .poll(async () => (await conditionOf("ignored-policy", "AccessPoliciesReady"))?.reason, {
        timeout: 30_000,
      })
      .toBe("Ready");
  });

  it("gets the same application PATCH three times for a generation, then none, with ConvergenceFailed", async () => {
    await kubectlOk(["apply", "-f", "-"], integration("ignored-app", { customClaims: { site: "a" } }));
    await waitReady("ignored-app");
    env.emulator.control.setIgnoreUpdates({ applications: true });
    try {
      const before = env.emulator.control.count("applications.update");
      await kubectlOk(["apply", "-f", "-"], integration("ignored-app", { customClaims: { site: "b" } }));
      await expect
        .poll(async () => (await conditionOf("ignored-app", "CredentialsReady"))?.reason, { timeout: 30_000 })
        .toBe("ConvergenceFailed");
      await tenResyncs();
      expect(env.emulator.control.count("applications.update") - before).toBe(3);
      expect((await conditionOf("ignored-app", "CredentialsReady"))?.message).toContain(
        "application correction after 3 tries",
      );
    } finally {
      env.emulator.control.setIgnoreUpdates({ applications: false });
    }
  });
});
