/**
 * `helm install` of the chart into the real control plane, in both RBAC scopes: the release's objects
 * exist, the CRDs are installed and Established, and the ServiceAccount may do exactly what the
 * operator needs, checked with `kubectl auth can-i --as=system:serviceaccount:<ns>:<sa>`. No pod
 * runs (the control plane has no kubelet or controllers), so nothing waits for pods.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kinds, crdFileName } from "../../src/api/v1alpha1/crd.ts";
import { kubectl, kubectlOk } from "../support/kubectl.ts";
import { chartDir, helm, helmOk, objectsOf, valueArgs } from "./helm.ts";

const suffix = randomBytes(3).toString("hex");
const clusterRelease = { name: "dt", namespace: `chart-install-${suffix}` };
const nsRelease = { name: "dt-ns", namespace: `chart-install-ns-${suffix}` };
const watched = [`chart-team-a-${suffix}`, `chart-team-b-${suffix}`];
const vault = `chart-vault-${suffix}`;
const elsewhere = `chart-elsewhere-${suffix}`;
const sa = (release: { name: string; namespace: string }) =>
  `system:serviceaccount:${release.namespace}:${release.name}-datatrails-operator`;
const crdNames = kinds.map((k) => crdFileName(k).replace(/^datatrails\.ai_(.*)\.yaml$/, "$1.datatrails.ai"));

async function install(release: { name: string; namespace: string }, values: Record<string, unknown>) {
  return helmOk(
    [
      "install",
      release.name,
      chartDir,
      "--namespace",
      release.namespace,
      "--create-namespace",
      ...valueArgs(values),
    ],
    { withCluster: true },
  );
}

/** `kubectl auth can-i` as the release's ServiceAccount: true for yes, false for no. */
async function can(release: { name: string; namespace: string }, args: string[]): Promise<boolean> {
  const result = await kubectl(["auth", "can-i", ...args, `--as=${sa(release)}`]);
  if (result.status !== 0 && result.stdout.trim() !== "no")
    throw new Error(`kubectl auth can-i ${args.join(" ")}: ${result.stderr}`);
  return result.status === 0;
}

beforeAll(async () => {
  for (const ns of [...watched, vault, elsewhere]) await kubectlOk(["create", "namespace", ns]);
  await install(clusterRelease, {});
  await install(nsRelease, {
    "rbac.scope": "namespaces",
    watchNamespaces: watched,
    "rbac.secretReadNamespaces": [vault],
  });
}, 180_000);

afterAll(async () => {
  for (const release of [clusterRelease, nsRelease]) {
    await helm(["uninstall", release.name, "--namespace", release.namespace], { withCluster: true });
  }
  for (const ns of [...watched, vault, elsewhere, clusterRelease.namespace, nsRelease.namespace]) {
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
  }
});

describe("helm install", () => {
  it.each([clusterRelease, nsRelease])("deploys $name with every object of its manifest", async (release) => {
    const status = JSON.parse(
      await helmOk(["status", release.name, "--namespace", release.namespace, "-o", "json"], {
        withCluster: true,
      }),
    ) as { info: { status: string } };
    expect(status.info.status).toBe("deployed");
    const manifest = objectsOf(
      await helmOk(["get", "manifest", release.name, "--namespace", release.namespace], {
        withCluster: true,
      }),
    );
    expect(manifest.length).toBeGreaterThanOrEqual(8);
    for (const o of manifest) {
      // kind.group (core kinds have no group), so kubectl never picks a same-named kind of another group.
      const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
      expect(version).toMatch(/^v\d/);
      const resource = group ? `${o.kind}.${group}` : o.kind;
      const ns = o.metadata.namespace ? ["-n", o.metadata.namespace] : [];
      const got = await kubectl(["get", resource, o.metadata.name, ...ns, "-o", "name"]);
      expect(got.status, `${o.kind} ${o.metadata.name}: ${got.stderr}`).toBe(0);
    }
  });

  it("installs the four CRDs, Established", async () => {
    const out = await kubectlOk([
      "wait",
      "--for=condition=Established",
      "--timeout=60s",
      ...crdNames.map((n) => `crd/${n}`),
    ]);
    expect(out.trim().split("\n")).toHaveLength(4);
  });

  it("puts Role and RoleBinding in each watched namespace in namespaces scope, none elsewhere", async () => {
    for (const ns of watched) {
      await kubectlOk(["get", "role,rolebinding", "dt-ns-datatrails-operator", "-n", ns]);
    }
    const other = await kubectl(["get", "role", "dt-ns-datatrails-operator", "-n", elsewhere]);
    expect(other.status).not.toBe(0);
  });

  it("upgrades in place", async () => {
    await helmOk(
      [
        "upgrade",
        clusterRelease.name,
        chartDir,
        "--namespace",
        clusterRelease.namespace,
        "--reuse-values",
        "--set",
        "logLevel=debug",
      ],
      { withCluster: true },
    );
    const env = await kubectlOk([
      "get",
      "deployment",
      "dt-datatrails-operator",
      "-n",
      clusterRelease.namespace,
      "-o",
      'jsonpath={.spec.template.spec.containers[0].env[?(@.name=="DATATRAILS_OPERATOR_LOG_LEVEL")].value}',
    ]);
    expect(env).toBe("debug");
  });
});

// [what, kubectl auth can-i arguments]. `ns` is replaced by a namespace the scope covers.
const needed: [string, string[]][] = [
  ["list integrations", ["list", "datatrailsintegrations.datatrails.ai", "-n", "ns"]],
  ["watch integrations", ["watch", "datatrailsintegrations.datatrails.ai", "-n", "ns"]],
  ["get an integration", ["get", "datatrailsintegrations.datatrails.ai/x", "-n", "ns"]],
  ["patch an integration's finalizers", ["patch", "datatrailsintegrations.datatrails.ai/x", "-n", "ns"]],
  [
    "patch integration status",
    ["patch", "datatrailsintegrations.datatrails.ai/x", "--subresource=status", "-n", "ns"],
  ],
  [
    "update integration finalizers",
    ["update", "datatrailsintegrations.datatrails.ai/x", "--subresource=finalizers", "-n", "ns"],
  ],
  ["list tokens", ["list", "bearertokens.datatrails.ai", "-n", "ns"]],
  ["watch tokens", ["watch", "bearertokens.datatrails.ai", "-n", "ns"]],
  ["create a token", ["create", "bearertokens.datatrails.ai", "-n", "ns"]],
  ["apply a token", ["patch", "bearertokens.datatrails.ai/x", "-n", "ns"]],
  ["delete a token", ["delete", "bearertokens.datatrails.ai/x", "-n", "ns"]],
  ["patch token status", ["patch", "bearertokens.datatrails.ai/x", "--subresource=status", "-n", "ns"]],
  ["list connections", ["list", "datatrailsconnections.datatrails.ai", "-n", "ns"]],
  ["watch connections", ["watch", "datatrailsconnections.datatrails.ai", "-n", "ns"]],
  [
    "patch connection status",
    ["patch", "datatrailsconnections.datatrails.ai/x", "--subresource=status", "-n", "ns"],
  ],
  ["get a Secret", ["get", "secrets/x", "-n", "ns"]],
  ["list Secrets", ["list", "secrets", "-n", "ns"]],
  ["watch Secrets", ["watch", "secrets", "-n", "ns"]],
  ["create a Secret", ["create", "secrets", "-n", "ns"]],
  ["apply a Secret", ["patch", "secrets/x", "-n", "ns"]],
  ["mint ServiceAccount tokens", ["create", "serviceaccounts/x", "--subresource=token", "-n", "ns"]],
  ["read a ServiceAccount", ["get", "serviceaccounts/x", "-n", "ns"]],
  ["create an Event", ["create", "events.events.k8s.io", "-n", "ns"]],
  ["patch an Event", ["patch", "events.events.k8s.io/x", "-n", "ns"]],
  ["list cluster connections", ["list", "clusterdatatrailsconnections.datatrails.ai"]],
  ["watch cluster connections", ["watch", "clusterdatatrailsconnections.datatrails.ai"]],
  [
    "patch cluster connection status",
    ["patch", "clusterdatatrailsconnections.datatrails.ai/x", "--subresource=status"],
  ],
  ["get a namespace", ["get", "namespaces/x"]],
];
const forbidden: [string, string[]][] = [
  ["update a Secret", ["update", "secrets/x", "-n", "ns"]],
  ["delete a Secret", ["delete", "secrets/x", "-n", "ns"]],
  ["deletecollection Secrets", ["deletecollection", "secrets", "-n", "ns"]],
  ["create a pod", ["create", "pods", "-n", "ns"]],
  ["patch a pod", ["patch", "pods/x", "-n", "ns"]],
  ["update a pod", ["update", "pods/x", "-n", "ns"]],
  ["exec into a pod", ["create", "pods/x", "--subresource=exec", "-n", "ns"]],
  ["read a ConfigMap", ["get", "configmaps/x", "-n", "ns"]],
  ["create a ServiceAccount", ["create", "serviceaccounts", "-n", "ns"]],
  ["list ServiceAccounts", ["list", "serviceaccounts", "-n", "ns"]],
  ["patch a ServiceAccount", ["patch", "serviceaccounts/x", "-n", "ns"]],
  ["create a ClusterRole", ["create", "clusterroles.rbac.authorization.k8s.io"]],
  ["create a RoleBinding", ["create", "rolebindings.rbac.authorization.k8s.io", "-n", "ns"]],
  ["escalate a ClusterRole", ["escalate", "clusterroles.rbac.authorization.k8s.io"]],
  ["bind a ClusterRole", ["bind", "clusterroles.rbac.authorization.k8s.io"]],
  ["impersonate users", ["impersonate", "users"]],
  ["create an integration", ["create", "datatrailsintegrations.datatrails.ai", "-n", "ns"]],
  ["update an integration", ["update", "datatrailsintegrations.datatrails.ai/x", "-n", "ns"]],
  ["delete an integration", ["delete", "datatrailsintegrations.datatrails.ai/x", "-n", "ns"]],
  ["patch a connection", ["patch", "datatrailsconnections.datatrails.ai/x", "-n", "ns"]],
  ["patch a cluster connection", ["patch", "clusterdatatrailsconnections.datatrails.ai/x"]],
  [
    "update connection status",
    ["update", "datatrailsconnections.datatrails.ai/x", "--subresource=status", "-n", "ns"],
  ],
  [
    "update cluster connection status",
    ["update", "clusterdatatrailsconnections.datatrails.ai/x", "--subresource=status"],
  ],
  ["list namespaces", ["list", "namespaces"]],
  ["create a CRD", ["create", "customresourcedefinitions.apiextensions.k8s.io"]],
];
const withNs = (args: string[], ns: string) => args.map((a) => (a === "ns" ? ns : a));

describe.concurrent("the ServiceAccount in cluster scope", () => {
  it.each(needed)("may %s in any namespace", async (_what, args) => {
    expect(await can(clusterRelease, withNs(args, elsewhere))).toBe(true);
  });

  it.each(forbidden)("may not %s", async (_what, args) => {
    expect(await can(clusterRelease, withNs(args, elsewhere))).toBe(false);
  });

  it("may list and watch across all namespaces, as cluster-wide informers do", async () => {
    for (const resource of [
      "datatrailsintegrations.datatrails.ai",
      "bearertokens.datatrails.ai",
      "secrets",
    ]) {
      expect(await can(clusterRelease, ["list", resource, "--all-namespaces"])).toBe(true);
      expect(await can(clusterRelease, ["watch", resource, "--all-namespaces"])).toBe(true);
    }
  });

  it("may get, update and create its own Lease in the release namespace only", async () => {
    const ns = clusterRelease.namespace;
    expect(
      await can(clusterRelease, ["get", "leases.coordination.k8s.io/dt-datatrails-operator", "-n", ns]),
    ).toBe(true);
    expect(
      await can(clusterRelease, ["update", "leases.coordination.k8s.io/dt-datatrails-operator", "-n", ns]),
    ).toBe(true);
    expect(await can(clusterRelease, ["create", "leases.coordination.k8s.io", "-n", ns])).toBe(true);
    expect(await can(clusterRelease, ["update", "leases.coordination.k8s.io/kube-scheduler", "-n", ns])).toBe(
      false,
    );
    expect(
      await can(clusterRelease, [
        "get",
        "leases.coordination.k8s.io/dt-datatrails-operator",
        "-n",
        elsewhere,
      ]),
    ).toBe(false);
    expect(await can(clusterRelease, ["create", "leases.coordination.k8s.io", "-n", "kube-system"])).toBe(
      false,
    );
  });
});

describe.concurrent("the ServiceAccount in namespaces scope", () => {
  it.each(needed)("may %s in each watched namespace", async (_what, args) => {
    for (const ns of watched) expect(await can(nsRelease, withNs(args, ns))).toBe(true);
  });

  it.each(needed.filter(([, args]) => args.includes("ns")))(
    "may not %s in another namespace",
    async (_what, args) => {
      expect(await can(nsRelease, withNs(args, elsewhere))).toBe(false);
    },
  );

  it.each(forbidden)("may not %s", async (_what, args) => {
    expect(await can(nsRelease, withNs(args, watched[0] ?? ""))).toBe(false);
  });

  it("may not list or watch across all namespaces (the operator must watch per namespace)", async () => {
    for (const resource of [
      "datatrailsintegrations.datatrails.ai",
      "bearertokens.datatrails.ai",
      "secrets",
    ]) {
      expect(await can(nsRelease, ["list", resource, "--all-namespaces"])).toBe(false);
      expect(await can(nsRelease, ["watch", resource, "--all-namespaces"])).toBe(false);
    }
  });

  it("may only get Secrets in rbac.secretReadNamespaces", async () => {
    expect(await can(nsRelease, ["get", "secrets/admin", "-n", vault])).toBe(true);
    for (const verb of ["list", "watch", "create", "patch"]) {
      expect(await can(nsRelease, [verb, "secrets", "-n", vault])).toBe(false);
    }
  });
});
