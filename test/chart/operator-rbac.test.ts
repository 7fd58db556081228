/**
 * The chart's RBAC is enough for the real operator, and the chart's configuration is what it runs
 * on: the chart is installed with helm, the operator starts in-process with the Deployment's own
 * environment and the ServiceAccount's own token (`kubectl create token`), leader election on. An
 * integration is created against the emulator, made Ready (credentials and token Secrets, status,
 * finalizer, Events, child BearerToken), has its token turned off (BearerToken deleted), and is
 * deleted (finalizer removed), and with workloadReload.enabled a Deployment that an integration and
 * a BearerToken name is rolled when the secret rotates — and the operator never hears "Forbidden".
 * Both RBAC scopes.
 */
import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { AuthenticationV1Api, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { parseConfig } from "../../src/config.ts";
import { startEmulator, type RunningEmulator } from "../../src/emulator/index.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createMetrics, type Metrics } from "../../src/observability/metrics.ts";
import { startOperator, type Operator } from "../../src/operator.ts";
import { runHealthCheck } from "../argocd/lua.ts";
import { createConnection } from "../support/env.ts";
import { findLeaks } from "../support/hygiene.ts";
import { installCrds, kubectl, kubectlOk } from "../support/kubectl.ts";
import {
  bearerTokenManifest,
  dataTrailsIssuer,
  integrationManifest,
  workloadManifest,
} from "../support/manifests.ts";
import { chartDir, helm, helmOk, objectsOf, operatorContainer, podEnv, valueArgs } from "./helm.ts";

/** A KubeConfig for the test cluster that authenticates with `token` only. */
function tokenKubeConfig(token: string): KubeConfig {
  const admin = new KubeConfig();
  admin.loadFromFile(inject("kubeconfigPath"));
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error("the test kubeconfig has no current cluster");
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: "operator", token }],
    contexts: [{ name: "operator", cluster: cluster.name, user: "operator" }],
    currentContext: "operator",
  });
  return kc;
}

describe.each([
  ["cluster", {}],
  ["namespaces", { "rbac.scope": "namespaces" }],
])("the operator as the chart's ServiceAccount, rbac.scope=%s", (scope, scopeValues) => {
  const suffix = randomBytes(3).toString("hex");
  // Release names differ per scope and from the other chart tests: cluster-scoped objects carry them.
  const release = {
    name: `dto-${scope === "cluster" ? "c" : "n"}`,
    namespace: `chart-op-${scope}-${suffix}`,
  };
  const appNs = `chart-op-${scope}-app-${suffix}`;
  const leaseName = `${release.name}-datatrails-operator`;
  const logs: string[] = [];
  let emulator: RunningEmulator;
  let operator: Operator | undefined;
  let metrics: Metrics;
  let kubeConfig: KubeConfig;
  let identity: string;
  let lostLeadership = false;

  beforeAll(async () => {
    await installCrds();
    await kubectlOk(["create", "namespace", appNs]);
    await helmOk(
      [
        "install",
        release.name,
        chartDir,
        "--namespace",
        release.namespace,
        "--create-namespace",
        ...valueArgs({ ...scopeValues, watchNamespaces: [appNs], "workloadReload.enabled": true }),
      ],
      { withCluster: true },
    );
    const manifest = objectsOf(
      await helmOk(["get", "manifest", release.name, "--namespace", release.namespace], {
        withCluster: true,
      }),
    );
    const container = operatorContainer(manifest);
    // Ports 0 and loopback only: several operators share this machine. Everything else is the chart's.
    const config = parseConfig({
      argv: [...container.args.slice(1), "--health-port=0", "--metrics-port=0", "--bind-address=127.0.0.1"],
      env: podEnv(container, `${leaseName}-5f7d8-${suffix}`, release.namespace),
    });
    identity = config.identity;
    expect(config.leaderElection).toBe(true);
    expect(config.watchNamespaces).toEqual([appNs]);

    const token = (
      await kubectlOk(["create", "token", leaseName, "-n", release.namespace, "--duration=1h"])
    ).trim();
    kubeConfig = tokenKubeConfig(token);
    // The token is the ServiceAccount's, not an admin's.
    const review = await kubeConfig.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({
      body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
    });
    expect(review.status?.userInfo?.username).toBe(`system:serviceaccount:${release.namespace}:${leaseName}`);

    emulator = await startEmulator({});
    await createConnection(appNs, emulator);
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        logs.push(...chunk.toString().split("\n").filter(Boolean));
        done();
      },
    });
    metrics = createMetrics({ defaultMetrics: false });
    const started = startOperator({
      config,
      kubeConfig,
      logger: createLogger({ level: "debug", destination }),
      metrics,
      onLostLeadership: () => {
        lostLeadership = true;
      },
    });
    // startOperator waits for the informers' first list; one the RBAC forbids would retry for ever.
    const tooLong = new Promise<never>((_resolve, reject) =>
      setTimeout(() => {
        const forbidden = logs
          .filter((l) => /forbidden/i.test(l))
          .slice(0, 3)
          .map((l) => (JSON.parse(l) as { err?: { message?: string } }).err?.message ?? l);
        reject(
          new Error(`the operator did not start within 30 s; Forbidden in its log:\n${forbidden.join("\n")}`),
        );
      }, 30_000).unref(),
    );
    operator = await Promise.race([started, tooLong]);
  }, 180_000);

  afterAll(async () => {
    await operator?.stop();
    await emulator?.close();
    await helm(["uninstall", release.name, "--namespace", release.namespace], { withCluster: true });
    for (const ns of [appNs, release.namespace]) await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });

  it("syncs its informers and wins the Lease", async () => {
    await expect.poll(() => operator?.isReady(), { timeout: 30_000 }).toBe(true);
    await expect
      .poll(
        async () =>
          (
            await kubectl([
              "get",
              "lease",
              leaseName,
              "-n",
              release.namespace,
              "-o",
              "jsonpath={.spec.holderIdentity}",
            ])
          ).stdout,
        { timeout: 30_000 },
      )
      .toBe(identity);
  });

  /** Applies an integration (idempotent) and waits until it and its BearerToken are Ready. */
  async function readyIntegration(name: string, displayName: string): Promise<void> {
    await kubectlOk(["apply", "-f", "-"], integrationManifest(appNs, name, { displayName }));
    await kubectlOk([
      "wait",
      `datatrailsintegration/${name}`,
      `bearertoken/${name}`,
      "-n",
      appNs,
      "--for=condition=Ready",
      "--timeout=60s",
    ]);
  }

  it("makes an integration Ready, with its Secrets, its BearerToken and Events", async () => {
    await readyIntegration("traffic-light-101", `TrafficLight101-${scope}-${suffix}`);
    const core = new KubeConfig();
    core.loadFromFile(inject("kubeconfigPath"));
    const secrets = await core.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: appNs });
    // Other cases of this file make objects of their own in the namespace; these are this one's.
    const names = secrets.items
      .map((s) => s.metadata?.name ?? "")
      .filter((n) => n === "datatrails-admin" || n.startsWith("traffic-light-101"))
      .sort();
    expect(names).toEqual(["datatrails-admin", "traffic-light-101-credentials", "traffic-light-101-token"]);
    await expect
      .poll(async () => {
        const events = JSON.parse(
          await kubectlOk(["get", "events.events.k8s.io", "-n", appNs, "-o", "json"]),
        ) as { items: { reportingController?: string; reason?: string }[] };
        return events.items.filter((e) => e.reportingController === "datatrails.ai/operator").length;
      })
      .toBeGreaterThan(0);
  });

  it("is Healthy for Argo CD's health check (deploy/argocd/health.lua) on the live objects", async () => {
    await readyIntegration("traffic-light-101", `TrafficLight101-${scope}-${suffix}`);
    for (const kind of ["datatrailsintegration", "bearertoken"]) {
      const live = JSON.parse(
        await kubectlOk(["get", kind, "traffic-light-101", "-n", appNs, "-o", "json"]),
      ) as unknown;
      expect((await runHealthCheck(live)).status, kind).toBe("Healthy");
    }
  });

  it("deletes the BearerToken when tokens are turned off, and the integration with its finalizer", async () => {
    const displayName = `TokensOff-${scope}-${suffix}`;
    await readyIntegration("tokens-off", displayName);
    await kubectlOk([
      "patch",
      "datatrailsintegration",
      "tokens-off",
      "-n",
      appNs,
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { token: { enabled: false } } }),
    ]);
    await kubectlOk(["wait", "bearertoken/tokens-off", "-n", appNs, "--for=delete", "--timeout=60s"]);
    await kubectlOk(["delete", "datatrailsintegration", "tokens-off", "-n", appNs, "--timeout=60s"]);
    expect(emulator.control.applications().filter((a) => a.displayName === displayName)).toEqual([]);
  });

  it("rolls a Deployment an integration and a BearerToken name when the client secret rotates", async () => {
    await kubectlOk(["apply", "-f", "-"], workloadManifest(appNs, "Deployment", "consumer"));
    const reload = { targets: [{ kind: "Deployment" as const, name: "consumer" }] };
    await kubectlOk(
      ["apply", "-f", "-"],
      integrationManifest(appNs, "reloading", {
        displayName: `Reloading-${scope}-${suffix}`,
        token: { enabled: false },
        reload,
      }),
    );
    await kubectlOk([
      "wait",
      "datatrailsintegration/reloading",
      "-n",
      appNs,
      "--for=condition=ReloadReady",
      "--timeout=60s",
    ]);
    await kubectlOk(
      ["apply", "-f", "-"],
      bearerTokenManifest(appNs, "reloading-token", {
        dataTrails: dataTrailsIssuer("reloading-credentials"),
        reload,
      }),
    );
    await kubectlOk([
      "wait",
      "bearertoken/reloading-token",
      "-n",
      appNs,
      "--for=condition=ReloadReady",
      "--timeout=60s",
    ]);
    await kubectlOk(["annotate", "-n", appNs, "datatrailsintegration/reloading", "datatrails.ai/rotate=1"]);
    const annotations = async () =>
      JSON.parse(
        (await kubectlOk([
          "get",
          "deployment",
          "consumer",
          "-n",
          appNs,
          "-o",
          "jsonpath={.spec.template.metadata.annotations}",
        ])) || "{}",
      ) as Record<string, string>;
    await expect
      .poll(async () => Object.keys(await annotations()).sort(), { timeout: 60_000 })
      .toEqual([
        "bearertoken.reload.datatrails.ai/reloading-token",
        "datatrails.ai/restartedAt",
        "integration.reload.datatrails.ai/reloading",
      ]);
  });

  it("reports ReloadForbidden, and stays Ready, when the chart grants no access to workloads", async () => {
    const upgrade = (enabled: boolean) =>
      helmOk(
        [
          "upgrade",
          release.name,
          chartDir,
          "--namespace",
          release.namespace,
          "--reuse-values",
          ...valueArgs({ "workloadReload.enabled": enabled }),
        ],
        { withCluster: true },
      );
    await upgrade(false);
    try {
      await kubectlOk(["apply", "-f", "-"], workloadManifest(appNs, "Deployment", "locked"));
      await kubectlOk(
        ["apply", "-f", "-"],
        integrationManifest(appNs, "locked-out", {
          displayName: `LockedOut-${scope}-${suffix}`,
          token: { enabled: false },
          reload: { targets: [{ kind: "Deployment", name: "locked" }] },
        }),
      );
      await kubectlOk([
        "wait",
        "datatrailsintegration/locked-out",
        "-n",
        appNs,
        '--for=jsonpath={.status.conditions[?(@.type=="ReloadReady")].reason}=ReloadForbidden',
        "--timeout=60s",
      ]);
      const message = await kubectlOk([
        "get",
        "datatrailsintegration/locked-out",
        "-n",
        appNs,
        "-o",
        'jsonpath={.status.conditions[?(@.type=="ReloadReady")].message}',
      ]);
      expect(message).toMatch(/^Deployment locked: Forbidden: get Deployment .*locked/);
      await kubectlOk(["wait", "datatrailsintegration/locked-out", "-n", appNs, "--for=condition=Ready"]);
    } finally {
      await upgrade(true);
    }
    // Granted again: the next look (within a minute, or now, on a change) finds the target.
    await kubectlOk(["annotate", "-n", appNs, "datatrailsintegration/locked-out", "example.com/poke=1"]);
    await kubectlOk([
      "wait",
      "datatrailsintegration/locked-out",
      "-n",
      appNs,
      "--for=condition=ReloadReady",
      "--timeout=60s",
    ]);
  });

  it("never met Forbidden, kept the Lease, and leaked no secret", async () => {
    // Work of its own, so the log and the Secrets searched hold something whichever cases ran before.
    await readyIntegration("hygiene", `Hygiene-${scope}-${suffix}`);
    expect(lostLeadership).toBe(false);
    expect(logs.length).toBeGreaterThan(0);
    // Apart from the ReloadForbidden the case above provokes on purpose, by turning workloadReload off.
    const reloadRefused = (l: string) => (JSON.parse(l) as { msg?: string }).msg === "reload target problem";
    expect(logs.filter((l) => /forbidden/i.test(l) && !reloadRefused(l))).toEqual([]);
    const leaks = await findLeaks(kubeConfigAdmin(), [appNs], logs, await metrics.registry.metrics(), [
      emulator.admin.clientSecret,
    ]);
    expect(leaks).toEqual([]);
  });
});

function kubeConfigAdmin(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(inject("kubeconfigPath"));
  return kc;
}
