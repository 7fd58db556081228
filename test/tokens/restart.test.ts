/**
 * Invariant 4: a restart costs nothing. 100 BearerTokens hold valid tokens; a new operator process
 * rebuilds the schedule from the token Secrets and status alone: no token request, no application
 * write, no Secret rewritten, the same refresh times.
 */
import { CustomObjectsApi, type V1Secret } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEnv, type TestEnv } from "../support/env.ts";
import { kubectlOk, waitForCondition } from "../support/kubectl.ts";
import {
  conditionOf,
  createApplication,
  listBearerTokens,
  metricSum,
  restartOperator,
  waitForQuietController,
  type BearerTokenObject,
} from "./support.ts";
import {
  bearerTokenManifest,
  clientSecretManifest,
  dataTrailsIssuer,
  integrationManifest,
} from "../support/manifests.ts";

const ns = "it-tokens-restart";
const count = 100;
let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv([ns]);
});
afterAll(async () => {
  await env?.stop();
});

const names = Array.from({ length: count }, (_, i) => `restart-${String(i).padStart(3, "0")}`);

async function readyCount(): Promise<number> {
  return (await listBearerTokens(env, ns)).filter(
    (t) =>
      conditionOf(t, "Ready")?.status === "True" && t.status?.observedGeneration === t.metadata.generation,
  ).length;
}

/** resourceVersion of every Secret in the namespace. */
async function secretVersions(): Promise<Record<string, string>> {
  const list = await env.core.listNamespacedSecret({ namespace: ns });
  return Object.fromEntries(
    list.items.map((s: V1Secret) => [s.metadata?.name ?? "", s.metadata?.resourceVersion ?? ""]),
  );
}

/** resourceVersion of every DataTrailsIntegration and BearerToken in the namespace. */
async function objectVersions(): Promise<Record<string, string>> {
  const api = env.kubeConfig.makeApiClient(CustomObjectsApi);
  const versions: Record<string, string> = {};
  for (const plural of ["datatrailsintegrations", "bearertokens"]) {
    const list = (await api.listNamespacedCustomObject({
      group: "datatrails.ai",
      version: "v1alpha1",
      namespace: ns,
      plural,
    })) as { items: { metadata: { name: string; resourceVersion: string } }[] };
    for (const o of list.items) versions[`${plural}/${o.metadata.name}`] = o.metadata.resourceVersion;
  }
  return versions;
}

async function tokenSecretVersions(): Promise<Record<string, string>> {
  const list = await env.core.listNamespacedSecret({ namespace: ns });
  return Object.fromEntries(
    list.items
      .filter((s: V1Secret) => s.metadata?.name?.endsWith("-token"))
      .map((s: V1Secret) => [s.metadata?.name ?? "", s.metadata?.resourceVersion ?? ""]),
  );
}

describe("an operator restart", () => {
  it(`asks for no token and writes nothing for ${count} BearerTokens that are not due`, async () => {
    // One application made with the App Registrations API; its credentials in a user-made Secret.
    const app = await createApplication(env.emulator, "restart-shared");
    await kubectlOk(
      ["apply", "-f", "-"],
      [
        clientSecretManifest(ns, app, "shared-credentials"),
        ...names.map((n) =>
          bearerTokenManifest(ns, n, {
            dataTrails: dataTrailsIssuer("shared-credentials", env.emulator.url),
          }),
        ),
      ],
    );
    await expect.poll(readyCount, { timeout: 60_000, interval: 500 }).toBe(count);
    // The first operator has finished its own follow-up reconciles (those its Secret writes trigger).
    await waitForQuietController(env.operator.metricsPort, "bearertoken", count);
    const before = await listBearerTokens(env, ns);
    const secretsBefore = await tokenSecretVersions();
    expect(Object.keys(secretsBefore)).toHaveLength(count);

    const control = env.emulator.control;
    control.resetCounters();
    await restartOperator(env);
    await expect.poll(() => env.operator.isReady(), { timeout: 30_000 }).toBe(true);
    // Every BearerToken reconciled at least once by the new process, and nothing left to do.
    const handled = await waitForQuietController(env.operator.metricsPort, "bearertoken", count);

    expect(control.count("token")).toBe(0);
    expect(control.count("applications.create")).toBe(0);
    expect(control.count("applications.update")).toBe(0);
    expect(control.count("applications.regenerateSecret")).toBe(0);
    expect(await metricSum(env.operator.metricsPort, "datatrails_token_refresh_total")).toBe(0);
    expect(await tokenSecretVersions()).toEqual(secretsBefore);
    const after = await listBearerTokens(env, ns);
    const byName = (list: BearerTokenObject[], field: (t: BearerTokenObject) => unknown) =>
      Object.fromEntries(list.map((t) => [t.metadata.name, field(t)]));
    // The same schedule, rebuilt from the Secrets, and not even a status write.
    expect(byName(after, (t) => t.status?.nextRefreshAt)).toEqual(
      byName(before, (t) => t.status?.nextRefreshAt),
    );
    expect(byName(after, (t) => t.metadata.resourceVersion)).toEqual(
      byName(before, (t) => t.metadata.resourceVersion),
    );
    const calls = Object.entries(control.counters()).filter(([, n]) => n > 0);
    console.log(
      `restart: ${count} BearerTokens, ${handled} reconciles by the new process; emulator calls: ` +
        (calls.length ? calls.map(([route, n]) => `${route}=${n}`).join(", ") : "none"),
    );
  }, 240_000); // 100 objects twice over, on a two-core machine shared with other test files

  it(`writes nothing to DataTrails nor to any Secret for ${count} DataTrailsIntegrations`, async () => {
    const integrations = Array.from({ length: count }, (_, i) => `app-${String(i).padStart(3, "0")}`);
    await kubectlOk(
      ["apply", "-f", "-"],
      integrations.map((n) => integrationManifest(ns, n)),
    );
    await waitForCondition(
      ns,
      integrations.map((n) => `datatrailsintegration/${n}`),
      "Ready",
      120,
    );
    await waitForQuietController(env.operator.metricsPort, "datatrailsintegration", count);
    await waitForQuietController(env.operator.metricsPort, "bearertoken", count);
    const control = env.emulator.control;
    const apps = () =>
      control
        .applications()
        .map((a) => `${a.identity} ${a.secretSha256} ${a.displayName}`)
        .sort();
    const appsBefore = apps();
    const secretsBefore = await secretVersions();
    const objectsBefore = await objectVersions();

    control.resetCounters();
    await restartOperator(env);
    await expect.poll(() => env.operator.isReady(), { timeout: 30_000 }).toBe(true);
    const integrationReconciles = await waitForQuietController(
      env.operator.metricsPort,
      "datatrailsintegration",
      count,
    );
    // The integrations' BearerTokens, and any other case's left in the namespace.
    const tokenCount = (await listBearerTokens(env, ns)).length;
    const tokenReconciles = await waitForQuietController(env.operator.metricsPort, "bearertoken", tokenCount);

    for (const write of [
      "applications.create",
      "applications.update",
      "applications.regenerateSecret",
      "applications.delete",
    ] as const)
      expect(control.count(write), write).toBe(0);
    expect(apps()).toEqual(appsBefore);
    // No BearerToken asked for a token (the metric counts the BearerToken controller's requests only).
    expect(await metricSum(env.operator.metricsPort, "datatrails_token_refresh_total")).toBe(0);
    expect(await secretVersions()).toEqual(secretsBefore);
    expect(await objectVersions()).toEqual(objectsBefore);
    // Not even a read of an application (the first look at a settled integration is no drift check).
    expect(control.count("applications.get"), "applications.get").toBe(0);
    expect(control.count("applications.list"), "applications.list").toBe(0);
    const calls = Object.entries(control.counters()).filter(([, n]) => n > 0);
    // Settled integrations are checked against DataTrails later, spread over the resync interval:
    // the restart itself makes no call at all, not even a read or an admin token.
    expect(calls).toEqual([]);
    console.log(
      `restart: ${count} DataTrailsIntegrations (${tokenCount} BearerTokens in the namespace), ` +
        `${integrationReconciles} + ${tokenReconciles} reconciles by the new process; emulator calls: ` +
        (calls.length ? calls.map(([route, n]) => `${route}=${n}`).join(", ") : "none"),
    );
  }, 240_000); // 100 objects twice over, on a two-core machine shared with other test files
});
