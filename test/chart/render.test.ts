/**
 * The Helm chart with the real helm binary: `helm lint --strict`, the values schema refusing bad
 * values by name, what the Deployment and RBAC render to (checked against the operator's own config
 * parser and docs/rbac.md), and a server-side dry-run apply of both RBAC modes into the real control
 * plane, including Pod Security "restricted" admission.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { configOptions, envName, parseConfig, type ConfigKey } from "../../src/config.ts";
import { kubectl, kubectlOk } from "../support/kubectl.ts";
import {
  chartDir,
  helm,
  helmOk,
  only,
  operatorContainer,
  podEnv,
  render,
  renderYaml,
  valueArgs,
  type Rendered,
} from "./helm.ts";

const repoRoot = join(import.meta.dirname, "..", "..");
const suffix = randomBytes(3).toString("hex");
// A release name of its own: the chart's cluster-scoped objects are named after the release, and
// other test files install theirs into the same control plane at the same time.
const release = "dtr";
const releaseNs = `chart-render-${suffix}`;
const watchedA = `chart-render-a-${suffix}`;
const watchedB = `chart-render-b-${suffix}`;
const restrictedNs = `chart-render-psa-${suffix}`;
const namespacesMode = { "rbac.scope": "namespaces", watchNamespaces: [watchedA, watchedB] };
const everythingOn = {
  "networkPolicy.enabled": true,
  "metrics.serviceMonitor.enabled": true,
  "workloadReload.enabled": true,
  "image.digest": `sha256:${"a".repeat(64)}`,
  extraArgs: ["--max-backoff-ms=30000"],
  nodeOptions: "--max-old-space-size=192",
  extraEnv: [{ name: "TZ", value: "UTC" }],
  podAnnotations: { "example.com/a": "b" },
  priorityClassName: "system-cluster-critical",
};

interface PodSpec {
  serviceAccountName: string;
  securityContext: Record<string, unknown>;
  terminationGracePeriodSeconds: number;
  affinity?: { podAntiAffinity?: Record<string, unknown> };
  topologySpreadConstraints?: { whenUnsatisfiable: string; topologyKey: string }[];
  priorityClassName?: string;
}
interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

const podSpec = (objects: Rendered[]) =>
  (only(objects, "Deployment").spec as { template: { spec: PodSpec } }).template.spec;
const container = operatorContainer;
const rulesOf = (o: Rendered) => (o as unknown as { rules: Rule[] }).rules;

/** Every (group, resource, verb) the rules grant, as "group/resource:verb". */
function grants(rules: Rule[]): string[] {
  return rules
    .flatMap((r) =>
      r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g}/${res}:${v}`))),
    )
    .sort();
}

const podName = "op-7d4b9c-xk2lp";

describe("helm lint --strict", () => {
  it.each([
    ["the defaults", {}],
    ["rbac.scope=namespaces", namespacesMode],
    ["every optional object on", everythingOn],
  ])("passes with %s", async (_name, values) => {
    const out = await helmOk(["lint", "--strict", chartDir, ...valueArgs(values)]);
    expect(out).toContain("1 chart(s) linted, 0 chart(s) failed");
  });
});

describe("Chart.yaml", () => {
  it("has appVersion = package.json's version, and the image tag defaults to it", async () => {
    const chart = parse(readFileSync(join(chartDir, "Chart.yaml"), "utf8")) as { appVersion: string };
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string };
    expect(chart.appVersion).toBe(pkg.version);
    expect(container(await render("r", releaseNs)).image).toBe(`datatrails-operator:${pkg.version}`);
  });
});

describe("values.schema.json and the chart's own checks", () => {
  it.each([
    ["replicaCount", { replicaCount: "two" }, "/replicaCount"],
    ["an unknown key", { replicas: 3 }, "'replicas' not allowed"],
    ["an unknown nested key", { "image.name": "x" }, "'name' not allowed"],
    ["rbac.scope", { "rbac.scope": "everywhere" }, "/rbac/scope"],
    ["logLevel", { logLevel: "verbose" }, "/logLevel"],
    ["image.digest", { "image.digest": "latest" }, "/image/digest"],
    ["metrics.port", { "metrics.port": 70000 }, "/metrics/port"],
    ["watchNamespaces items", { watchNamespaces: ["Team_A"] }, "/watchNamespaces/0"],
    ["watchNamespaces in namespaces scope", { "rbac.scope": "namespaces" }, "/watchNamespaces"],
    ["extraArgs", { extraArgs: ["max-backoff-ms=1"] }, "/extraArgs/0"],
    [
      "a NetworkPolicy CIDR",
      { "networkPolicy.egress.dataTrails.cidrs": ["anywhere"] },
      "/networkPolicy/egress/dataTrails/cidrs/0",
    ],
  ])("refuses a bad %s, naming it (lint and template)", async (_name, values, field) => {
    for (const command of [
      ["lint", "--strict", chartDir],
      ["template", "r", chartDir],
    ]) {
      const result = await helm([...command, ...valueArgs(values)]);
      expect(result.status, result.stdout).not.toBe(0);
      expect(result.stderr + result.stdout).toContain(field);
    }
  });

  it.each([
    [
      "renewDeadlineMs >= leaseDurationMs",
      { "leaderElection.renewDeadlineMs": 15000 },
      "leaderElection.renewDeadlineMs must be less than leaderElection.leaseDurationMs",
    ],
    [
      "two replicas without leader election",
      { "leaderElection.enabled": false },
      "replicaCount > 1 needs leaderElection.enabled",
    ],
    ["more shards than replicas", { "sharding.shards": 3 }, "sharding.shards must not exceed replicaCount"],
    [
      "shards without leader election",
      { "sharding.shards": 2, "leaderElection.enabled": false, replicaCount: 2 },
      "needs leaderElection.enabled",
    ],
    [
      "secretReadNamespaces in cluster scope",
      { "rbac.secretReadNamespaces": ["vault"] },
      "rbac.secretReadNamespaces applies only with rbac.scope=namespaces",
    ],
  ])("refuses %s with a message naming the values", async (_name, values, message) => {
    const result = await helm(["template", "r", chartDir, ...valueArgs(values)]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(message);
  });
});

describe("the Deployment", () => {
  let objects: Rendered[];
  beforeAll(async () => {
    objects = await render(release, releaseNs);
  });

  it("runs two replicas of `run` with leader election, as the restricted Pod Security profile demands", () => {
    const deployment = only(objects, "Deployment") as { spec?: { replicas?: number } };
    expect(deployment.spec?.replicas).toBe(2);
    const pod = podSpec(objects);
    const c = container(objects);
    expect(c.args).toEqual(["run"]);
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 65532,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(pod.terminationGracePeriodSeconds).toBe(30);
    expect(pod.serviceAccountName).toBe(`${release}-datatrails-operator`);
  });

  it("probes /healthz and /readyz on the health port and exposes metrics on 8080", () => {
    const c = container(objects);
    expect(c.ports).toEqual([
      { name: "metrics", containerPort: 8080, protocol: "TCP" },
      { name: "health", containerPort: 8081, protocol: "TCP" },
    ]);
    expect(c.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "health" });
    expect(c.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "health" });
    expect(c.resources.requests).toMatchObject({ cpu: "50m", memory: "128Mi" });
    expect(c.resources.limits).toMatchObject({ memory: "256Mi" });
  });

  it("spreads replicas softly (anti-affinity preferred, zone spread ScheduleAnyway)", () => {
    const pod = podSpec(objects);
    expect(Object.keys(pod.affinity?.podAntiAffinity ?? {})).toEqual([
      "preferredDuringSchedulingIgnoredDuringExecution",
    ]);
    expect(pod.topologySpreadConstraints).toMatchObject([
      { topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway" },
    ]);
  });

  it("sets only environment variables the operator (or Node, NODE_OPTIONS) reads, and the operator's parser accepts them", () => {
    const env = podEnv(container(objects), podName, releaseNs);
    const known = new Set([
      ...Object.keys(configOptions).map((k) => envName(k as ConfigKey)),
      "POD_NAME",
      "POD_NAMESPACE",
      "NODE_OPTIONS",
    ]);
    expect(Object.keys(env).filter((name) => !known.has(name))).toEqual([]);
    // Every setting except those that make no sense in a pod comes from the chart.
    const notFromChart = new Set(["kubeconfig", "identity", "faultCrashAt"]);
    const missing = Object.keys(configOptions).filter(
      (k) => !notFromChart.has(k) && !(envName(k as ConfigKey) in env),
    );
    expect(missing).toEqual([]);
    const config = parseConfig({ argv: [], env });
    expect(config).toMatchObject({
      metricsPort: 8080,
      healthPort: 8081,
      leaderElection: true,
      leaseNamespace: releaseNs,
      leaseName: `${release}-datatrails-operator`,
      watchNamespaces: [],
      logLevel: "info",
    });
    expect(config.identity).toMatch(new RegExp(`^${podName}_[0-9a-f]{8}$`));
  });

  it("caps V8's heap by default to fit the memory limit, and leaves V8's defaults when nodeOptions is empty", async () => {
    const operator = container(await render(release, releaseNs));
    const cap = /--max-old-space-size=(\d+)/.exec(
      podEnv(operator, podName, releaseNs)["NODE_OPTIONS"] ?? "",
    )?.[1];
    const limit = (operator as unknown as { resources: { limits: { memory: string } } }).resources.limits
      .memory;
    expect(limit).toMatch(/^\d+Mi$/);
    // The old space plus V8's and Node's own overhead (about 90 MB measured) fits under the limit.
    expect(Number(cap) + 90).toBeLessThanOrEqual(Number.parseInt(limit, 10));
    const plain = podEnv(
      container(await render(release, releaseNs, { nodeOptions: "" })),
      podName,
      releaseNs,
    );
    expect(plain["NODE_OPTIONS"]).toBeUndefined();
  });

  it("passes watchNamespaces, extraArgs, nodeOptions and extraEnv through to the operator", async () => {
    const rendered = await render(release, releaseNs, { ...namespacesMode, ...everythingOn });
    const c = container(rendered);
    expect(c.image).toBe(`datatrails-operator@sha256:${"a".repeat(64)}`);
    expect(c.args).toEqual(["run", "--max-backoff-ms=30000"]);
    const env = podEnv(c, podName, releaseNs);
    expect(env["NODE_OPTIONS"]).toBe("--max-old-space-size=192");
    expect(env["TZ"]).toBe("UTC");
    delete env["NODE_OPTIONS"];
    delete env["TZ"];
    const config = parseConfig({ argv: c.args.slice(1), env });
    expect(config.watchNamespaces).toEqual([watchedA, watchedB]);
    expect(config.maxBackoffMs).toBe(30000);
    expect(podSpec(rendered).priorityClassName).toBe("system-cluster-critical");
  });
});

describe("RBAC", () => {
  /** docs/rbac.md's table as "group/resource:verb" per `where` column. */
  function documented(): Record<string, string[]> {
    const rows = readFileSync(join(repoRoot, "docs", "rbac.md"), "utf8")
      .split("\n")
      .filter((l) => /^\| (`[^`]+`|\(core\))\s+\|/.test(l))
      .map((l) => l.split("|").map((c) => c.trim().replace(/`/g, "")));
    const byWhere: Record<string, string[]> = {};
    for (const [, group = "", resource = "", verb = "", where = ""] of rows) {
      (byWhere[where] ??= []).push(`${group === "(core)" ? "" : group}/${resource}:${verb}`);
    }
    for (const list of Object.values(byWhere)) list.sort();
    return byWhere;
  }

  it("grants in cluster scope exactly what docs/rbac.md lists", async () => {
    const objects = await render(release, releaseNs);
    const docs = documented();
    const clusterRole = only(objects, "ClusterRole");
    expect(grants(rulesOf(clusterRole))).toEqual([...(docs["ns"] ?? []), ...(docs["cluster"] ?? [])].sort());
    const leaseRole = only(objects, "Role", `${release}-datatrails-operator-leader-election`);
    expect(grants(rulesOf(leaseRole))).toEqual(docs["lease"]);
    expect(objects.filter((o) => o.kind === "Role")).toHaveLength(1);
  });

  it("grants the shard Lease rules only with sharding.shards > 1", async () => {
    const objects = await render(release, releaseNs, { "sharding.shards": 3, replicaCount: 3 });
    const docs = documented();
    const leaseRole = only(objects, "Role", `${release}-datatrails-operator-leader-election`);
    expect(grants(rulesOf(leaseRole))).toEqual([...(docs["lease"] ?? []), ...(docs["shards"] ?? [])].sort());
    const env = container(objects).env.find((e) => e.name === "DATATRAILS_OPERATOR_SHARDS");
    expect(env?.value).toBe("3");
  });

  it("grants in namespaces scope the namespaced part per watched namespace and only cluster reads cluster-wide", async () => {
    const objects = await render(release, releaseNs, {
      ...namespacesMode,
      "rbac.secretReadNamespaces": ["vault", watchedA],
    });
    const docs = documented();
    expect(grants(rulesOf(only(objects, "ClusterRole")))).toEqual(docs["cluster"]);
    for (const ns of [watchedA, watchedB]) {
      const role = objects.find(
        (o) =>
          o.kind === "Role" &&
          o.metadata.namespace === ns &&
          o.metadata.name === `${release}-datatrails-operator`,
      );
      expect(grants(rulesOf(role as Rendered))).toEqual(docs["ns"]);
      expect(objects.some((o) => o.kind === "RoleBinding" && o.metadata.namespace === ns)).toBe(true);
    }
    // A secret-reader Role only where it is not already watched.
    const readers = objects.filter((o) => o.metadata.name === `${release}-datatrails-operator-secret-reader`);
    expect(readers.map((o) => `${o.kind}/${o.metadata.namespace ?? ""}`).sort()).toEqual([
      "Role/vault",
      "RoleBinding/vault",
    ]);
    expect(grants(rulesOf(only(readers, "Role")))).toEqual(["/secrets:get"]);
  });

  it("grants the apps rules of spec.reload only with workloadReload.enabled, and only in the watched namespaces", async () => {
    const docs = documented();
    const reload = docs["reload"] ?? [];
    expect(reload).toEqual(
      ["daemonsets", "deployments", "statefulsets"].flatMap((r) =>
        ["get", "list", "patch"].map((v) => `apps/${r}:${v}`),
      ),
    );
    const reloadRoles = (objects: Rendered[]) =>
      objects.filter((o) => o.metadata.name === `${release}-datatrails-operator-workload-reload`);
    const appsGrants = (objects: Rendered[]) =>
      objects
        .filter((o) => o.kind === "Role" || o.kind === "ClusterRole")
        .flatMap(rulesOf)
        .filter((r) => r.apiGroups.includes("apps"));

    // Off (the default), in both scopes: no access to workloads at all.
    for (const values of [{}, namespacesMode, { watchNamespaces: [watchedA] }])
      expect(appsGrants(await render(release, releaseNs, values))).toEqual([]);

    // Every namespace watched: the ClusterRole carries them.
    const everywhere = await render(release, releaseNs, { "workloadReload.enabled": true });
    expect(grants(rulesOf(only(everywhere, "ClusterRole")))).toEqual(
      [...(docs["ns"] ?? []), ...(docs["cluster"] ?? []), ...reload].sort(),
    );
    expect(reloadRoles(everywhere)).toEqual([]);

    // Some namespaces watched, in either scope: a Role in each of them, nothing cluster-wide.
    for (const values of [namespacesMode, { watchNamespaces: [watchedA, watchedB] }]) {
      const objects = await render(release, releaseNs, { ...values, "workloadReload.enabled": true });
      expect(grants(rulesOf(only(objects, "ClusterRole"))).filter((g) => g.startsWith("apps/"))).toEqual([]);
      const roles = reloadRoles(objects);
      expect(roles.map((o) => `${o.kind}/${o.metadata.namespace ?? ""}`).sort()).toEqual([
        `Role/${watchedA}`,
        `Role/${watchedB}`,
        `RoleBinding/${watchedA}`,
        `RoleBinding/${watchedB}`,
      ]);
      for (const role of roles.filter((o) => o.kind === "Role"))
        expect(grants(rulesOf(role))).toEqual(reload);
    }
  });

  it("limits the Lease rules to the release namespace and, where RBAC can, to the Lease's name", async () => {
    const objects = await render(release, releaseNs, { "leaderElection.leaseName": "my-lease" });
    const role = only(objects, "Role", `${release}-datatrails-operator-leader-election`);
    expect(role.metadata.namespace).toBe(releaseNs);
    expect(rulesOf(role)).toEqual([
      {
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        resourceNames: ["my-lease"],
        verbs: ["get", "update"],
      },
      { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
    ]);
    const env = podEnv(container(objects), podName, releaseNs);
    expect(env[envName("leaseName")]).toBe("my-lease");
  });

  it("never grants wildcards, Secret update/delete, Pods or RBAC writes", async () => {
    for (const values of [
      {},
      { "workloadReload.enabled": true },
      { ...namespacesMode, "rbac.secretReadNamespaces": ["vault"], "workloadReload.enabled": true },
    ]) {
      const rules = (await render(release, releaseNs, values))
        .filter((o) => o.kind === "Role" || o.kind === "ClusterRole")
        .flatMap(rulesOf);
      const all = grants(rules);
      expect(all.filter((g) => g.includes("*"))).toEqual([]);
      expect(all.filter((g) => /^\/secrets:(update|delete|deletecollection)$/.test(g))).toEqual([]);
      expect(all.filter((g) => /^\/pods/.test(g) || g.startsWith("rbac.authorization.k8s.io/"))).toEqual([]);
    }
  });
});

describe("optional objects", () => {
  it("renders no ServiceMonitor or NetworkPolicy by default, and a PodDisruptionBudget and metrics Service", async () => {
    const kinds = (await render(release, releaseNs)).map((o) => o.kind).sort();
    expect(kinds).toEqual([
      "ClusterRole",
      "ClusterRoleBinding",
      "Deployment",
      "PodDisruptionBudget",
      "Role",
      "RoleBinding",
      "Service",
      "ServiceAccount",
    ]);
  });

  it("renders a ServiceMonitor that selects the metrics Service's port", async () => {
    const objects = await render(release, releaseNs, everythingOn);
    const monitor = only(objects, "ServiceMonitor") as unknown as {
      spec: {
        selector: { matchLabels: Record<string, string> };
        endpoints: { port: string; path: string }[];
      };
    };
    const service = only(objects, "Service") as unknown as {
      metadata: { labels: Record<string, string> };
      spec: { ports: { name: string; port: number }[] };
    };
    expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: "metrics", path: "/metrics" })]);
    expect(service.spec.ports).toEqual([
      { name: "metrics", port: 8080, targetPort: "metrics", protocol: "TCP" },
    ]);
  });

  it("renders a NetworkPolicy: in to metrics and health, out to DNS, the API server and 443", async () => {
    const policy = only(await render(release, releaseNs, everythingOn), "NetworkPolicy") as unknown as {
      spec: {
        policyTypes: string[];
        ingress: { ports: { port: string }[] }[];
        egress: { ports: { port: number; protocol: string }[] }[];
      };
    };
    expect(policy.spec.policyTypes).toEqual(["Ingress", "Egress"]);
    expect(policy.spec.ingress.flatMap((r) => r.ports.map((p) => p.port))).toEqual(["metrics", "health"]);
    expect(policy.spec.egress.map((r) => r.ports.map((p) => `${p.protocol}/${p.port}`))).toEqual([
      ["UDP/53", "TCP/53"],
      ["TCP/443", "TCP/6443"],
      ["TCP/443"],
    ]);
  });
});

describe("server-side dry run into the real control plane", () => {
  beforeAll(async () => {
    for (const ns of [releaseNs, watchedA, watchedB]) await kubectlOk(["create", "namespace", ns]);
    await kubectlOk(["create", "namespace", restrictedNs]);
    await kubectlOk(["label", "namespace", restrictedNs, "pod-security.kubernetes.io/enforce=restricted"]);
  });

  const dryRun = (yamlText: string) =>
    kubectl(
      ["apply", "--server-side", "--field-manager=chart-test", "--dry-run=server", "-f", "-"],
      yamlText,
    );

  it.each([
    ["rbac.scope=cluster", {}],
    ["rbac.scope=namespaces", namespacesMode],
    // No ServiceMonitor: the control plane has no Prometheus Operator CRDs.
    ["NetworkPolicy and the rest on", { ...everythingOn, "metrics.serviceMonitor.enabled": false }],
  ])("accepts every object with %s", async (_name, values) => {
    const yamlText = await renderYaml(release, releaseNs, values);
    const result = await dryRun(yamlText);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toBe("");
    const applied = result.stdout.trim().split("\n");
    expect(applied.length).toBe((await render(release, releaseNs, values)).length);
    expect(applied.every((l) => l.endsWith("serverside-applied (server dry run)"))).toBe(true);
  });

  it("passes Pod Security admission at level restricted without a warning", async () => {
    const deployment = only(await render(release, restrictedNs), "Deployment");
    const result = await dryRun(JSON.stringify(deployment));
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/PodSecurity|would violate/);
    expect(result.stdout).toContain(
      `deployment.apps/${release}-datatrails-operator serverside-applied (server dry run)`,
    );
  });

  it("would warn (so the check above can fail) when the pod breaks the restricted profile", async () => {
    const deployment = only(
      await render(release, restrictedNs, { "securityContext.allowPrivilegeEscalation": true }),
      "Deployment",
    );
    const result = await dryRun(JSON.stringify(deployment));
    expect(result.stderr).toMatch(/would violate PodSecurity "restricted:latest": allowPrivilegeEscalation/);
  });
});
