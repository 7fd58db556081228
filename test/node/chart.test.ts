/**
 * The chart on a real node, as users install it: the image `make image` builds, imported into the
 * node's containerd (no registry), `helm install --wait` with pullPolicy Never into a namespace that
 * enforces Pod Security "restricted". Both replicas run and are Ready (the kubelet probes /readyz
 * over the pod network), they reach the API server through the `kubernetes` Service (kube-proxy)
 * with the token the kubelet mounts, and one of them holds the Lease.
 *
 * Where a part is missing the test is skipped and says so: "SKIPPED: <what> because <why>".
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chartDir, helmBinary, valueArgs } from "../chart/helm.ts";
import { buildImage, imageName, podmanUnavailable, warnSkipped } from "../image/podman.ts";
import { kubectlOk } from "../support/kubectl.ts";
import { startClusterControlPlane, type ClusterControlPlane } from "./cluster.ts";
import { makeNodeNetwork, nodeUnavailable, startNode, type NodeNetwork, type RunningNode } from "./node.ts";

const run = promisify(execFile);
const missing = nodeUnavailable() ?? (await podmanUnavailable());
if (missing !== undefined) warnSkipped("the chart on a node (test/node/chart.test.ts)", missing);

const namespace = "datatrails-system";
let network: NodeNetwork | undefined;
let plane: ClusterControlPlane | undefined;
let node: RunningNode | undefined;
let scratch: string | undefined;
const kubectl = (args: string[]) => kubectlOk(args, undefined, (plane as ClusterControlPlane).kubeconfigPath);

beforeAll(async () => {
  if (missing !== undefined) return;
  scratch = await mkdtemp(join(tmpdir(), "chart-node-"));
  const image = await buildImage();
  const archive = join(scratch, "operator.tar");
  await run("podman", ["save", "--quiet", "--format", "docker-archive", "-o", archive, image], {
    timeout: 300_000,
  });
  network = await makeNodeNetwork();
  plane = await startClusterControlPlane(network.nodeIp);
  node = await startNode({
    kubeconfigPath: plane.kubeconfigPath,
    certDir: plane.certDir,
    network,
    images: [archive],
    kubeProxy: true,
  });
}, 1_800_000);

afterAll(async () => {
  await node?.stop();
  await plane?.stop();
  await network?.remove();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function context(): Promise<string> {
  const n = node as RunningNode;
  const pods = await kubectl(["get", "pods", "-A", "-o", "wide"]).catch((e: Error) => e.message);
  const events = await kubectl(["get", "events", "-n", namespace]).catch((e: Error) => e.message);
  return `pods:\n${pods}\nevents:\n${events}\ncontainers:\n${(await n.podLogs(5)).slice(-6000)}\nkubelet:\n${await n.tail("kubelet", 15)}`;
}

describe.skipIf(missing !== undefined)("the chart on a node", () => {
  it("runs two Ready replicas of the image, one of them the leader", async () => {
    const p = plane as ClusterControlPlane;
    const n = node as RunningNode;
    await expect
      .poll(
        async () =>
          await kubectl([
            "get",
            "node",
            n.name,
            "-o",
            'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
          ]).catch(() => ""),
        { timeout: 120_000, interval: 1_000 },
      )
      .toBe("True");
    await kubectl(["create", "namespace", namespace]);
    await kubectl(["label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted"]);
    const [repository, tag] = imageName.split(/:(?=[^:/]+$)/);
    try {
      await run(
        await helmBinary(),
        [
          "install",
          "dt",
          chartDir,
          "--namespace",
          namespace,
          "--kubeconfig",
          p.kubeconfigPath,
          "--wait",
          "--timeout=4m",
          ...valueArgs({ "image.repository": repository, "image.tag": tag, "image.pullPolicy": "Never" }),
        ],
        { timeout: 300_000, env: { ...process.env, HOME: scratch ?? tmpdir() } },
      );
    } catch (err) {
      throw new Error(`helm install failed: ${(err as Error).message}\n${await context()}`, { cause: err });
    }
    const ready = await kubectl([
      "get",
      "deployment",
      "dt-datatrails-operator",
      "-n",
      namespace,
      "-o",
      "jsonpath={.status.readyReplicas}",
    ]);
    expect(ready).toBe("2");
    const pods = (
      await kubectl([
        "get",
        "pods",
        "-n",
        namespace,
        "-l",
        "app.kubernetes.io/instance=dt",
        "-o",
        "jsonpath={.items[*].metadata.name}",
      ])
    ).split(" ");
    expect(pods).toHaveLength(2);
    await expect
      .poll(
        async () =>
          await kubectl([
            "get",
            "lease",
            "dt-datatrails-operator",
            "-n",
            namespace,
            "-o",
            "jsonpath={.spec.holderIdentity}",
          ]).catch(() => ""),
        { timeout: 60_000, interval: 1_000 },
      )
      .toMatch(new RegExp(`^(${pods.join("|")})`));
  }, 600_000);
});
