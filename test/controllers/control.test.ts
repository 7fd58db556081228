/**
 * On-demand control end to end (docs/control.md), on the real kube-apiserver with the emulator over
 * real HTTP: datatrails.ai/refresh-requested-at is one token request per value, on a BearerToken and
 * through an integration to its token; spec.suspend makes no DataTrails request and no Secret write
 * over a rotate request and a due refresh, shows in status and the SUSPENDED column, and resuming
 * does what waited, once; deletion waits while suspended unless deletionPolicy is Orphan; and the
 * client secret expiry gauge is on /metrics.
 */
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { refreshAnnotation, rotateAnnotation } from "../../src/api/v1alpha1/index.ts";
import { startTestEnv, type TestEnv } from "../support/env.ts";
import { kubectl, kubectlOk, waitForCondition } from "../support/kubectl.ts";
import {
  bearerTokenManifest,
  dataTrailsIssuer,
  defaultAdminSecretName,
  integrationManifest,
} from "../support/manifests.ts";
import { metricSum, waitForQuietController } from "../tokens/support.ts";

const ns = "it-control";
let env: TestEnv;

beforeAll(async () => {
  // The default resync (10 min): no periodic check of the connection or the integrations makes a
  // request while a test counts them.
  env = await startTestEnv([ns]);
});
// A case that shortens tokens gives them back their hour, pass or fail.
afterEach(() => env.emulator.control.setTokenTtlSeconds(3600));
afterAll(async () => {
  if (process.env["DUMP_LOGS"])
    (await import("node:fs")).writeFileSync("/tmp/control-logs.txt", env.logs.join("\n"));
  await env?.stop();
});

interface Obj {
  metadata: { uid: string; generation: number; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
  status?: {
    conditions?: { type: string; status: string; reason: string; observedGeneration?: number }[];
    lastRefreshRequest?: string;
    lastRotateRequest?: string;
    secretValidUntil?: string;
    tokenExpiresAt?: string;
  };
}

async function get(kind: string, name: string): Promise<Obj> {
  return JSON.parse(await kubectlOk(["get", kind, name, "-n", ns, "-o", "json"])) as Obj;
}
const condition = (o: Obj, type: string) => o.status?.conditions?.find((c) => c.type === type);
async function secretVersion(name: string): Promise<string> {
  return (await env.core.readNamespacedSecret({ name, namespace: ns })).metadata?.resourceVersion ?? "";
}
/** Every request the emulator has answered, on any route. */
const dataTrailsRequests = () =>
  Object.values(env.emulator.control.counters()).reduce((sum, n) => sum + n, 0);
const reconciles = (controller: string) =>
  metricSum(env.operator.metricsPort, "datatrails_reconcile_duration_seconds_count", { controller });
/** Waits until `controller` has handled at least one more key than `since`, and is quiet. */
async function settleAfter(controller: string, since: number): Promise<void> {
  await waitForQuietController(env.operator.metricsPort, controller, since + 1);
}
async function ready(kind: string, name: string): Promise<void> {
  await waitForCondition(ns, `${kind}/${name}`, "Ready");
}
async function annotate(kind: string, name: string, annotation: string): Promise<void> {
  await kubectlOk(["annotate", "-n", ns, kind, name, annotation, "--overwrite"]);
}
async function patchSpec(kind: string, name: string, spec: Record<string, unknown>): Promise<void> {
  await kubectlOk(["patch", "-n", ns, kind, name, "--type=merge", "-p", JSON.stringify({ spec })]);
}

describe("datatrails.ai/refresh-requested-at", () => {
  it("on a BearerToken is exactly one token request per value, recorded in status", async () => {
    const name = "refresh-bt";
    await kubectlOk(
      ["apply", "-f", "-"],
      bearerTokenManifest(ns, name, {
        dataTrails: dataTrailsIssuer(defaultAdminSecretName, env.emulator.url),
      }),
    );
    await ready("bearertoken", name);
    await waitForQuietController(env.operator.metricsPort, "bearertoken", 1);
    const tokens = env.emulator.control.count("token");
    const version = await secretVersion(`${name}-token`);

    let since = await reconciles("bearertoken");
    await annotate("bearertoken", name, `${refreshAnnotation}=2026-12-01T10:00:00Z`);
    await expect
      .poll(async () => (await get("bearertoken", name)).status?.lastRefreshRequest)
      .toBe("2026-12-01T10:00:00Z");
    await settleAfter("bearertoken", since);
    expect(env.emulator.control.count("token") - tokens).toBe(1);
    expect(await secretVersion(`${name}-token`)).not.toBe(version);

    // The same value again (with some other change that wakes the object): nothing.
    since = await reconciles("bearertoken");
    await annotate("bearertoken", name, "example.com/touched=1");
    await settleAfter("bearertoken", since);
    expect(env.emulator.control.count("token") - tokens).toBe(1);
  });

  it("on an integration reaches its token: one token request, recorded on the child", async () => {
    const name = "refresh-int";
    await kubectlOk(["apply", "-f", "-"], integrationManifest(ns, name));
    await ready("datatrailsintegration", name);
    await ready("bearertoken", name);
    await waitForQuietController(env.operator.metricsPort, "datatrailsintegration", 1);
    await waitForQuietController(env.operator.metricsPort, "bearertoken", 1);
    const tokens = env.emulator.control.count("token");

    await annotate("datatrailsintegration", name, `${refreshAnnotation}=r1`);
    await expect.poll(async () => (await get("bearertoken", name)).status?.lastRefreshRequest).toBe("r1");
    expect((await get("bearertoken", name)).metadata.annotations?.[refreshAnnotation]).toBe("r1");
    await waitForQuietController(env.operator.metricsPort, "datatrailsintegration", 1);
    await waitForQuietController(env.operator.metricsPort, "bearertoken", 1);
    expect(env.emulator.control.count("token") - tokens).toBe(1);
  });
});

describe("spec.suspend", () => {
  it("makes no DataTrails request and no Secret write over a rotate request and a due refresh; resuming does each once", async () => {
    const name = "suspend-int";
    // Only this test's objects may talk to DataTrails while it counts: the others go first.
    await kubectlOk(["delete", "datatrailsintegrations,bearertokens", "--all", "-n", ns, "--timeout=60s"]);
    env.emulator.control.setTokenTtlSeconds(20);
    await kubectlOk(["apply", "-f", "-"], integrationManifest(ns, name));
    await ready("datatrailsintegration", name);
    await ready("bearertoken", name);

    await patchSpec("datatrailsintegration", name, { suspend: true });
    await expect
      .poll(async () => condition(await get("bearertoken", name), "Suspended")?.status, { timeout: 30_000 })
      .toBe("True");
    const suspended = await get("datatrailsintegration", name);
    expect(condition(suspended, "Suspended")).toMatchObject({
      status: "True",
      reason: "Suspended",
      observedGeneration: suspended.metadata.generation,
    });
    expect((await get("bearertoken", name)).spec["suspend"]).toBe(true);
    await waitForQuietController(env.operator.metricsPort, "datatrailsintegration", 1);
    await waitForQuietController(env.operator.metricsPort, "bearertoken", 1);

    const requests = dataTrailsRequests();
    const versions = [await secretVersion(`${name}-credentials`), await secretVersion(`${name}-token`)];
    const expiresAt = Date.parse((await get("bearertoken", name)).status?.tokenExpiresAt ?? "");
    const since = await reconciles("datatrailsintegration");
    await annotate("datatrailsintegration", name, `${rotateAnnotation}=rot-1`);
    await annotate("datatrailsintegration", name, `${refreshAnnotation}=ref-1`);
    await settleAfter("datatrailsintegration", since);
    // Past the token's expiry, so a refresh was due (and more), with the operator looking again.
    await expect.poll(() => Date.now(), { timeout: 30_000, interval: 1000 }).toBeGreaterThan(expiresAt);
    const later = await reconciles("bearertoken");
    await annotate("bearertoken", name, "example.com/touched=1");
    await settleAfter("bearertoken", later);

    expect(dataTrailsRequests()).toBe(requests);
    expect([await secretVersion(`${name}-credentials`), await secretVersion(`${name}-token`)]).toEqual(
      versions,
    );
    const columns = await kubectlOk(["get", "datatrailsintegration", name, "-n", ns]);
    expect(columns.split("\n")[0]).toMatch(/SUSPENDED/);
    expect(columns.split("\n")[1]).toMatch(/\btrue\b/);
    expect(await kubectlOk(["get", "bearertoken", name, "-n", ns])).toMatch(/SUSPENDED[\s\S]*\btrue\b/);
    const waiting = await get("datatrailsintegration", name);
    expect(waiting.status?.lastRotateRequest).toBeUndefined();

    // Resume: the rotation and the refresh that waited happen, once each.
    const regenerations = env.emulator.control.count("applications.regenerateSecret");
    await patchSpec("datatrailsintegration", name, { suspend: false });
    await expect
      .poll(async () => (await get("datatrailsintegration", name)).status?.lastRotateRequest, {
        timeout: 30_000,
      })
      .toBe("rot-1");
    await expect
      .poll(async () => (await get("bearertoken", name)).status?.lastRefreshRequest, { timeout: 30_000 })
      .toBe("ref-1");
    await ready("datatrailsintegration", name);
    expect(env.emulator.control.count("applications.regenerateSecret") - regenerations).toBe(1);
    const resumed = await get("datatrailsintegration", name);
    expect(condition(resumed, "Suspended")).toBeUndefined();
    expect(condition(await get("bearertoken", name), "Suspended")).toBeUndefined();
    expect(await secretVersion(`${name}-credentials`)).not.toBe(versions[0]);
    expect(await secretVersion(`${name}-token`)).not.toBe(versions[1]);
  });

  it("holds a deletion while suspended, and an Orphan deletion goes on leaving the application", async () => {
    const name = "suspend-delete";
    await kubectlOk(["apply", "-f", "-"], integrationManifest(ns, name));
    await ready("datatrailsintegration", name);
    await patchSpec("datatrailsintegration", name, { suspend: true });
    await expect
      .poll(async () => condition(await get("datatrailsintegration", name), "Suspended")?.status)
      .toBe("True");

    await kubectlOk(["delete", "datatrailsintegration", name, "-n", ns, "--wait=false"]);
    await expect
      .poll(async () => condition(await get("datatrailsintegration", name), "Ready")?.reason)
      .toBe("DeleteSuspended");
    expect(env.emulator.control.applications().filter((a) => a.displayName === name)).toHaveLength(1);

    await patchSpec("datatrailsintegration", name, { deletionPolicy: "Orphan" });
    await expect
      .poll(async () => (await kubectl(["get", "datatrailsintegration", name, "-n", ns])).status, {
        timeout: 30_000,
      })
      .not.toBe(0);
    expect(env.emulator.control.applications().filter((a) => a.displayName === name)).toHaveLength(1);
  });
});

describe("datatrails_client_secret_valid_until_timestamp_seconds and _rotation_due_", () => {
  it("shows each integration's valid_until and rotation due time on /metrics, and goes with the integration", async () => {
    const name = "gauge-int";
    await kubectlOk(["apply", "-f", "-"], integrationManifest(ns, name));
    await ready("datatrailsintegration", name);
    const validUntil = Date.parse((await get("datatrailsintegration", name)).status?.secretValidUntil ?? "");
    expect(validUntil).toBeGreaterThan(Date.now());
    const gauge = () =>
      metricSum(env.operator.metricsPort, "datatrails_client_secret_valid_until_timestamp_seconds", {
        namespace: ns,
        name,
      });
    await expect.poll(gauge).toBe(validUntil / 1000);
    const due = () =>
      metricSum(env.operator.metricsPort, "datatrails_client_secret_rotation_due_timestamp_seconds", {
        namespace: ns,
        name,
      });
    // BeforeExpiry by default: rotation due renewBeforeDays (30) before valid_until.
    await expect.poll(due).toBe(validUntil / 1000 - 30 * 86_400);

    // Never: the rotation-due series goes, valid_until stays.
    await patchSpec("datatrailsintegration", name, { secretRotation: { policy: "Never" } });
    await expect.poll(due).toBe(0);
    expect(await gauge()).toBe(validUntil / 1000);

    await kubectlOk(["delete", "datatrailsintegration", name, "-n", ns, "--timeout=60s"]);
    await expect.poll(gauge).toBe(0);
  });
});

describe("examples/control.yaml", () => {
  it("stays suspended with nothing in DataTrails, then does what waited, once each", async () => {
    const name = "traffic-light-102";
    const example = join(import.meta.dirname, "..", "..", "examples", "control.yaml");
    const creates = env.emulator.control.count("applications.create");
    await kubectlOk(["apply", "-n", ns, "-f", example]);
    await expect
      .poll(async () => condition(await get("datatrailsintegration", name), "Suspended")?.status)
      .toBe("True");
    await waitForQuietController(env.operator.metricsPort, "datatrailsintegration", 1);
    expect(env.emulator.control.count("applications.create")).toBe(creates);
    expect((await kubectl(["get", "secret", `${name}-credentials`, "-n", ns])).status).not.toBe(0);

    await patchSpec("datatrailsintegration", name, { suspend: false });
    await ready("datatrailsintegration", name);
    expect(env.emulator.control.count("applications.create") - creates).toBe(1);
    const integration = await get("datatrailsintegration", name);
    // The first secret answers the rotate request: no regenerate on top of the create.
    expect(integration.status?.lastRotateRequest).toBe("2026-12-01T09:00:00Z");
    expect(condition(integration, "Suspended")).toBeUndefined();
    await expect
      .poll(async () => (await get("bearertoken", name)).status?.lastRefreshRequest)
      .toBe("2026-12-01T09:00:00Z");
  });
});
