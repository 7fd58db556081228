/**
 * A real node: containerd + runc + CNI from Debian, kubelet, kube-scheduler and
 * kube-controller-manager from the pinned Kubernetes module (test/node/node.ts), joined to a
 * control plane of this file's own (the shared one must not start running other files' Deployments).
 * A Deployment of the locally built sandbox image is scheduled, its pod gets an address on the
 * node's bridge, and it runs.
 *
 * Where a part is missing the tests are skipped and say so: "SKIPPED: <what> because <why>".
 */
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControlPlane, type ControlPlane } from "../../src/envtest/control-plane.ts";
import { warnSkipped } from "../image/podman.ts";
import { kubectlOk } from "../support/kubectl.ts";
import { nodeUnavailable, startNode, type RunningNode } from "./node.ts";

const run = promisify(execFile);
const missing = nodeUnavailable();
if (missing !== undefined) warnSkipped("the node tests (test/node/node.test.ts)", missing);

let plane: ControlPlane | undefined;
let node: RunningNode | undefined;
const kubectl = (args: string[], input?: object) =>
  kubectlOk(args, input, (plane as ControlPlane).kubeconfigPath);

beforeAll(async () => {
  if (missing !== undefined) return;
  plane = await startControlPlane();
  node = await startNode({
    kubeconfigPath: plane.kubeconfigPath,
    // startControlPlane keeps its certificates beside the kubeconfig.
    certDir: join(dirname(plane.kubeconfigPath), "certs"),
    kubeProxy: true,
  });
}, 1_800_000);

afterAll(async () => {
  await node?.stop();
  await plane?.stop();
});

async function failureContext(): Promise<string> {
  const n = node as RunningNode;
  return `kubelet:\n${await n.tail("kubelet")}\ncontainerd:\n${await n.tail("containerd")}`;
}

describe.skipIf(missing !== undefined)("a node on this machine", () => {
  it("registers and becomes Ready", async () => {
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
    const ip = await kubectl([
      "get",
      "node",
      n.name,
      "-o",
      'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}',
    ]);
    expect(ip).toBe(n.nodeIp);
  }, 180_000);

  it("runs a Deployment's pod on the bridge", async () => {
    const n = node as RunningNode;
    await kubectl(["create", "namespace", "node-test"]);
    await kubectl(["apply", "-f", "-"], {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "sleeper", namespace: "node-test" },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "sleeper" } },
        template: {
          metadata: { labels: { app: "sleeper" } },
          spec: {
            automountServiceAccountToken: false,
            containers: [{ name: "sleeper", image: n.pauseImage, imagePullPolicy: "Never" }],
          },
        },
      },
    });
    try {
      await kubectl(["rollout", "status", "deployment/sleeper", "-n", "node-test", "--timeout=120s"]);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${await failureContext()}`, { cause: err });
    }
    const pod = JSON.parse(
      await kubectl(["get", "pods", "-n", "node-test", "-l", "app=sleeper", "-o", "json"]),
    ) as {
      items: {
        spec: { nodeName: string };
        status: {
          phase: string;
          podIP: string;
          containerStatuses: { containerID: string; ready: boolean; state: { running?: object } }[];
        };
      }[];
    };
    const container = pod.items[0]?.status.containerStatuses[0];
    expect(container?.ready).toBe(true);
    expect(container?.state.running).toBeDefined();
    expect(container?.containerID).toMatch(/^containerd:\/\//);
    expect(pod.items).toHaveLength(1);
    expect(pod.items[0]?.spec.nodeName).toBe(n.name);
    expect(pod.items[0]?.status.phase).toBe("Running");
    const prefix = n.nodeIp.replace(/\.1$/, ".");
    expect(pod.items[0]?.status.podIP.startsWith(prefix), pod.items[0]?.status.podIP).toBe(true);
  }, 180_000);

  it("runs kube-proxy, which writes the Services into iptables", async () => {
    const n = node as RunningNode;
    // The control plane has no endpoint reconciler, so kube-proxy marks `kubernetes` as having none.
    const rules = async () =>
      (await run("iptables", ["-t", "filter", "-S", "KUBE-SERVICES"]).catch(() => ({ stdout: "" }))).stdout;
    const deadline = Date.now() + 60_000;
    while (!(await rules()).includes("default/kubernetes:https") && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 1_000));
    expect(await rules(), `kube-proxy wrote no rule:\n${await n.tail("kube-proxy", 30)}`).toContain(
      "default/kubernetes:https has no endpoints",
    );
  }, 90_000);
});
